package maildir

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// checkPrivate fails for every file under root that is not mode 0600 and
// every directory that is not 0700.
func checkPrivate(t *testing.T, root string) (files int) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == root {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if got := info.Mode().Perm(); got != want {
			rel, _ := filepath.Rel(root, path)
			t.Errorf("%s: mode %04o, want %04o", rel, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestDataFileModes: under umask 022 (which leaves 0644 and 0755 as they
// are), every file the mailbox layer makes is 0600 and every directory
// 0700: the database with its -wal and -shm files, the Maildir (messages
// delivered, appended, copied; dovecot-uidlist, dovecot-keywords,
// dovecot-uidvalidity and its marker, subscriptions, maildirfolder), the
// spool. Not parallel: the umask is the process's.
func TestDataFileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data") // made by Open
	s := openStore(t, Options{DataDir: dir})
	a := newAccount(t, s, "alice@example.org")
	if err := s.CreateFolder(ctx, a, "INBOX/work"); err != nil {
		t.Fatal(err)
	}
	deliver(t, s, "Subject: one\r\n\r\nbody\r\n", a, "INBOX", a, "INBOX/work")
	f := mustOpen(t, s, a, "INBOX")
	uid, err := f.Append(ctx, strings.NewReader("Subject: two\r\n\r\nbody\r\n"), []string{`\Seen`, "Project"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.StoreFlags(ctx, []uint32{uid}, FlagsAdd, []string{"Other"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Copy(ctx, []uint32{uid}, "Archive"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSubscribed(ctx, a, "INBOX/work", true); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFolder(ctx, a, "INBOX/work"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFolder(ctx, a, "INBOX/work"); err != nil { // a second UIDVALIDITY
		t.Fatal(err)
	}
	mustOpen(t, s, a, "INBOX/work")
	if _, err := os.Stat(filepath.Join(dir, "immp.db-wal")); err != nil {
		t.Fatalf("the database's -wal file is not there to check: %v", err)
	}
	if n := checkPrivate(t, dir); n < 20 {
		t.Errorf("only %d files checked", n)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("data directory: %v %v, want 0700", st.Mode(), err)
	}
}

// TestDatabaseModeNarrowed: a database file left readable by others is
// made 0600 when the store opens it.
func TestDatabaseModeNarrowed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openStore(t, Options{DataDir: dir})
	s.Close()
	db := filepath.Join(dir, "immp.db")
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	openStore(t, Options{DataDir: dir})
	if st, err := os.Stat(db); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("immp.db: %v %v, want 0600", st.Mode(), err)
	}
}
