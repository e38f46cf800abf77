package backup

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/immp-mail/immp/maildir"
)

func openStore(t *testing.T, dir string) *maildir.Store {
	t.Helper()
	s, err := maildir.Open(context.Background(), maildir.Options{DataDir: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func deliver(ctx context.Context, s *maildir.Store, a maildir.Account, folder, body string) error {
	d, err := s.BeginDelivery(ctx)
	if err != nil {
		return err
	}
	if err := d.AddRecipient(a, folder); err != nil {
		d.Abort()
		return err
	}
	fmt.Fprint(d, body)
	_, err = d.Commit(ctx)
	return err
}

// checkTree checks the consistency rule of a backup (doc.go) on every
// folder of dir: each listed UID has its file, each file has a UID, and
// every file parses as a whole message.
func checkTree(t *testing.T, dir string) (folders, msgs int) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join(dir, "mail"), func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if _, err := os.Stat(filepath.Join(p, "cur")); err != nil {
			return nil
		}
		folders++
		ul, err := maildir.ReadUIDList(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		files := map[string]bool{}
		for _, sub := range []string{"cur", "new"} {
			ents, _ := os.ReadDir(filepath.Join(p, sub))
			for _, e := range ents {
				base, _ := maildir.SplitFileName(e.Name())
				files[base] = true
				b, err := os.ReadFile(filepath.Join(p, sub, e.Name()))
				if err != nil {
					t.Error(err)
					continue
				}
				m, err := mail.ReadMessage(strings.NewReader(string(b)))
				if err != nil || !strings.HasSuffix(string(b), "end\r\n") || m.Header.Get("Subject") == "" {
					t.Errorf("%s/%s does not parse as a whole message (%v): %q", sub, e.Name(), err, b)
				}
				if _, ok := ul.UIDs[base]; !ok {
					t.Errorf("%s: file %s has no UID in the backed-up list", p, e.Name())
				}
				msgs++
			}
		}
		for base, uid := range ul.UIDs {
			if !files[base] {
				t.Errorf("%s: UID %d (%s) has no file", p, uid, base)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return folders, msgs
}

// A backup taken while deliveries, flag changes and expunges go on holds
// each message whole with its UID or not at all; restored, the store
// serves the same folders, UIDs, UIDVALIDITY and flags as the backup.
func TestBackupWhileDelivering(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	s := openStore(t, src)
	a, err := s.AddAccount(ctx, "alice@example.org", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFolder(ctx, a, "Work"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		if err := deliver(ctx, s, a, []string{"INBOX", "Work"}[i%2], fmt.Sprintf("Subject: pre %d\r\n\r\nbody\r\nend\r\n", i)); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var during atomic.Int64
	for _, folder := range []string{"INBOX", "Work"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := deliver(ctx, s, a, folder, fmt.Sprintf("Subject: during %d\r\n\r\n%s\r\nend\r\n", i, strings.Repeat("x", i%5000))); err != nil {
					t.Error(err)
					return
				}
				during.Add(1)
			}
		}()
	}
	wg.Add(1)
	go func() { // flags and expunges
		defer wg.Done()
		f, _ := s.OpenFolder(ctx, a, "INBOX")
		for uid := uint32(1); ; uid += 3 {
			select {
			case <-stop:
				return
			default:
			}
			f.StoreFlags(ctx, []uint32{uid, uid + 1}, maildir.FlagsAdd, []string{`\Seen`, "Kw" + fmt.Sprint(uid%5)})
			if uid%7 == 0 {
				f.StoreFlags(ctx, []uint32{uid}, maildir.FlagsAdd, []string{`\Deleted`})
				f.Expunge(ctx, []uint32{uid})
			}
		}
	}()
	bk := filepath.Join(t.TempDir(), "bk")
	m, err := Backup(ctx, s, bk)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("backup: %+v; %d delivered during", m.Stats, during.Load())
	folders, msgs := checkTree(t, bk)
	if msgs != m.Stats.Messages || folders != m.Stats.Folders || msgs < 150 {
		t.Fatalf("tree holds %d folders, %d messages; manifest %+v", folders, msgs, m.Stats)
	}

	// Restored: the store shows exactly the backed-up lists and flags.
	dst := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(ctx, bk, dst); err != nil {
		t.Fatal(err)
	}
	r := openStore(t, dst)
	ra, err := r.Account(ctx, "alice@example.org")
	if err != nil || ra.ID != a.ID {
		t.Fatalf("restored account %+v %v", ra, err)
	}
	for _, name := range []string{"INBOX", "Work", "Sent"} {
		dir := r.AccountDir(ra)
		if name != "INBOX" {
			dir = filepath.Join(dir, "."+name)
		}
		ul, err := maildir.ReadUIDList(filepath.Join(bk, mustRel(dst, dir)))
		if err != nil {
			t.Fatal(err)
		}
		f, err := r.OpenFolder(ctx, ra, name)
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := f.Messages(ctx)
		var got, want []uint32
		for _, m := range ms {
			got = append(got, m.UID)
		}
		for _, u := range ul.UIDs {
			want = append(want, u)
		}
		slices.Sort(want)
		if !slices.Equal(got, want) || f.UIDValidity() != ul.UIDValidity {
			t.Fatalf("%s restored: UIDs %v (V %d), backup lists %v (V %d)", name, got, f.UIDValidity(), want, ul.UIDValidity)
		}
	}
}

func TestRestoreRefusesAndVerifies(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	s := openStore(t, src)
	a, _ := s.AddAccount(ctx, "alice@example.org", "pw")
	for i := 0; i < 5; i++ {
		deliver(ctx, s, a, "INBOX", fmt.Sprintf("Subject: %d\r\n\r\nend\r\n", i))
	}
	bk := filepath.Join(t.TempDir(), "bk")
	if _, err := Backup(ctx, s, bk); err != nil {
		t.Fatal(err)
	}
	if _, err := Backup(ctx, s, bk); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("backup into a backup: %v, want ErrNotEmpty", err)
	}
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "x"), nil, 0o600)
	if _, err := Restore(ctx, bk, full); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("restore into a non-empty dir: %v, want ErrNotEmpty", err)
	}
	// One message changed in the backup: named, and nothing left behind.
	ents, _ := os.ReadDir(filepath.Join(bk, "mail/example.org/alice/Maildir/new"))
	victim := filepath.Join(bk, "mail/example.org/alice/Maildir/new", ents[0].Name())
	os.Remove(victim) // a hard link into the live store: replace, not write
	os.WriteFile(victim, []byte("Subject: forged\r\n\r\nend\r\n"), 0o600)
	dst := filepath.Join(t.TempDir(), "data")
	_, err := Restore(ctx, bk, dst)
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), ents[0].Name()) {
		t.Fatalf("damaged backup: %v, want ErrDamaged naming %s", err, ents[0].Name())
	}
	if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed restore left %s behind", dst)
	}
	// The list itself changed: the manifest's checksum says so.
	fl := filepath.Join(bk, filesName)
	b, _ := os.ReadFile(fl)
	os.WriteFile(fl, append(b, "D extra\n"...), 0o600)
	if _, err := Restore(ctx, bk, dst); !errors.Is(err, ErrDamaged) {
		t.Fatalf("changed file list: %v, want ErrDamaged", err)
	}
}

// Across file systems (a tmpfs beside the data directory's disk) the
// message files are copied, with their mtimes (INTERNALDATE), and the
// backup restores the same.
func TestBackupAcrossFileSystems(t *testing.T) {
	shm := "/dev/shm"
	var a, b syscall.Stat_t
	src := t.TempDir()
	if syscall.Stat(shm, &a) != nil || syscall.Stat(src, &b) != nil || a.Dev == b.Dev {
		t.Skip("no second file system (tmpfs at /dev/shm) beside the temporary directory")
	}
	ctx := context.Background()
	s := openStore(t, src)
	acct, _ := s.AddAccount(ctx, "alice@example.org", "pw")
	in, _ := s.OpenFolder(ctx, acct, "INBOX")
	date := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := 0; i < 5; i++ {
		if _, err := in.Append(ctx, strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nend\r\n", i)), []string{`\Seen`}, date); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := os.MkdirTemp(shm, "immp-backup-test-")
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bk := filepath.Join(dir, "bk")
	m, err := Backup(ctx, s, bk)
	if err != nil {
		t.Fatal(err)
	}
	if m.Stats.Copied != 5 || m.Stats.Linked != 0 {
		t.Fatalf("stats %+v: want 5 copied", m.Stats)
	}
	checkTree(t, bk)
	dst := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(ctx, bk, dst); err != nil {
		t.Fatal(err)
	}
	r := openStore(t, dst)
	f, err := r.OpenFolder(ctx, acct, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := f.Messages(ctx)
	if len(ms) != 5 || !ms[0].InternalDate.Equal(date) || !slices.Contains(ms[4].Flags, `\Seen`) {
		t.Fatalf("restored %+v", ms)
	}
}
