package maildir

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("MAILDIR_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func openStore(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	opts.cheapHash = true
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newAccount(t testing.TB, s *Store, addr string) Account {
	t.Helper()
	a, err := s.AddAccount(context.Background(), addr, "secret")
	if err != nil {
		t.Fatalf("AddAccount(%s): %v", addr, err)
	}
	return a
}

func deliver(t testing.TB, s *Store, body string, to ...any) []Delivered {
	t.Helper()
	ctx := context.Background()
	d, err := s.BeginDelivery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(to); i += 2 {
		if err := d.AddRecipient(to[i].(Account), to[i+1].(string)); err != nil {
			d.Abort()
			t.Fatalf("AddRecipient: %v", err)
		}
	}
	if _, err := io.WriteString(d, body); err != nil {
		t.Fatal(err)
	}
	out, err := d.Commit(ctx)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return out
}

func mustOpen(t testing.TB, s *Store, a Account, name string) *Folder {
	t.Helper()
	f, err := s.OpenFolder(context.Background(), a, name)
	if err != nil {
		t.Fatalf("OpenFolder(%s): %v", name, err)
	}
	return f
}

// mustWatch watches f (claiming \Recent) until the test ends.
func mustWatch(t testing.TB, f *Folder) (*Watcher, Snapshot) {
	t.Helper()
	w, snap, err := f.Watch(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, snap
}

func messages(t testing.TB, f *Folder) []Message {
	t.Helper()
	ms, err := f.Messages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func readMsg(t testing.TB, f *Folder, uid uint32) string {
	t.Helper()
	r, err := f.OpenMessage(context.Background(), uid)
	if err != nil {
		t.Fatalf("OpenMessage(%d): %v", uid, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func folderNames(t testing.TB, s *Store, a Account) []string {
	t.Helper()
	fs, err := s.Folders(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var _ = strings.TrimSpace

var zeroTime time.Time

// Subscribe calls fn, from one goroutine, for every change queued to a
// watcher of the folder from now on, in order, until cancel. Tests use it
// to observe what sessions are told.
func (s *Store) Subscribe(acct Account, folder string, fn func(Event)) (cancel func()) {
	f, err := s.OpenFolder(context.Background(), acct, folder)
	if err != nil {
		panic(err)
	}
	w, _, err := f.Watch(context.Background(), false)
	if err != nil {
		panic(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-w.Ready():
			}
			for _, ev := range w.Changes() {
				select {
				case <-stop:
					return
				default:
				}
				fn(ev)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
			w.Close()
		})
	}
}
