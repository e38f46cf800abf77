package outbound

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// recFS is the real file system, recording what a power cut would keep:
// a file's content as of its last fsync, and its directory entry only if
// the directory was fsynced after the file was created (fsys.go).
type recFS struct {
	mu      sync.Mutex
	written map[string][]byte // everything written
	synced  map[string][]byte // content as of the last fsync
	entry   map[string]bool   // created, directory entry not yet synced: false; synced: true
}

func newRecFS() *recFS {
	return &recFS{written: map[string][]byte{}, synced: map[string][]byte{}, entry: map[string]bool{}}
}

type recFile struct {
	fs   *recFS
	path string
	f    durableFile
}

func (r *recFS) create(path string) (durableFile, error) {
	f, err := osFS{}.create(path)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.entry[path] = false
	r.written[path] = nil
	r.mu.Unlock()
	return &recFile{fs: r, path: path, f: f}, nil
}

func (r *recFS) syncDir(dir string) error {
	if err := (osFS{}).syncDir(dir); err != nil {
		return err
	}
	r.mu.Lock()
	for p := range r.entry {
		if filepath.Dir(p) == dir {
			r.entry[p] = true
		}
	}
	r.mu.Unlock()
	return nil
}

func (r *recFS) remove(path string) error {
	r.mu.Lock()
	delete(r.entry, path)
	r.mu.Unlock()
	return os.Remove(path)
}

func (f *recFile) Write(b []byte) (int, error) {
	n, err := f.f.Write(b)
	f.fs.mu.Lock()
	f.fs.written[f.path] = append(f.fs.written[f.path], b[:n]...)
	f.fs.mu.Unlock()
	return n, err
}

func (f *recFile) Sync() error {
	if err := f.f.Sync(); err != nil {
		return err
	}
	f.fs.mu.Lock()
	f.fs.synced[f.path] = append([]byte(nil), f.fs.written[f.path]...)
	f.fs.mu.Unlock()
	return nil
}

func (f *recFile) Close() error { return f.f.Close() }

// powerCut makes the disk what a power cut now would leave of the files
// r saw created: gone without a synced directory entry, else cut back to
// their synced content.
func (r *recFS) powerCut(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for p, synced := range r.entry {
		var err error
		if !synced {
			err = os.Remove(p)
		} else {
			err = os.WriteFile(p, r.synced[p], 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestAcknowledgedSurvivesPowerCut: once Enqueue has returned (the SMTP
// 250), a power cut leaves the message's queue file complete, and a queue
// opened afterwards has it with its recipients (doc.go: written, fsynced,
// directory fsynced before the 250). Dropping either fsync turns it red.
func TestAcknowledgedSurvivesPowerCut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q, err := Open(Options{Dir: dir, Local: &bounces{}})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecFS()
	q.fs = rec
	var ids []string
	for range 3 {
		id, err := q.Enqueue(context.Background(), Message{Sender: "alice@local.test", Recipients: []string{"bob@remote.test"}}, testMessage("power"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	q.Shutdown(context.Background())
	rec.powerCut(t)

	ents, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range ents {
		if len(e.Rcpts) == 1 && e.Rcpts[0].Addr == "bob@remote.test" {
			got[e.ID] = true
		}
	}
	for _, id := range ids {
		if !got[id] {
			t.Errorf("acknowledged message %s is gone after a power cut (queue: %+v)", id, ents)
		}
	}
	q2, err := Open(Options{Dir: dir, Local: &bounces{}})
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Shutdown(context.Background())
	if n, _ := q2.Stats(); n != len(ids) {
		t.Errorf("a queue opened after the power cut holds %d messages, want %d", n, len(ids))
	}
}
