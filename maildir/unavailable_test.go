package maildir

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestTemporaryAndFull(t *testing.T) {
	t.Parallel()
	wrap := func(e error) error {
		return fmt.Errorf("maildir: spool: %w", &os.PathError{Op: "write", Path: "f", Err: e})
	}
	for _, tt := range []struct {
		err        error
		temp, full bool
	}{
		{wrap(syscall.ENOSPC), true, true},
		{wrap(syscall.EDQUOT), true, true},
		{wrap(syscall.EROFS), true, false},
		{wrap(syscall.EIO), false, false},
		{ErrNonexistent, false, false},
		{nil, false, false},
	} {
		if Temporary(tt.err) != tt.temp || Full(tt.err) != tt.full {
			t.Errorf("%v: Temporary %v Full %v, want %v %v", tt.err, Temporary(tt.err), Full(tt.err), tt.temp, tt.full)
		}
	}
}

// Another process holds the database's write lock past busy_timeout: a
// write fails with an error Temporary recognises, and opening the store
// (a current schema needs no write) still works, so read-only commands
// such as "immp user list" keep working.
func TestDatabaseLockedIsTemporary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, Options{BusyTimeout: 50 * time.Millisecond})
	newAccount(t, s, "alice@example.org")
	db, err := sql.Open("sqlite", filepath.Join(s.DataDir(), "immp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	_, err = s.AddAccount(ctx, "bob@example.org", "secret")
	if err == nil || !Temporary(err) || Full(err) {
		t.Fatalf("AddAccount under another process's lock: %v; Temporary %v", err, Temporary(err))
	}
	s2 := openStore(t, Options{DataDir: s.DataDir(), BusyTimeout: 50 * time.Millisecond})
	accts, err := s2.Accounts(ctx)
	if err != nil || len(accts) != 1 {
		t.Fatalf("Accounts while locked: %v %v", accts, err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddAccount(ctx, "bob@example.org", "secret"); err != nil {
		t.Fatalf("AddAccount after the lock: %v", err)
	}
}
