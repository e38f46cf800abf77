package maildir

import (
	"context"
	"testing"
)

// One state per directory (mailbox.go, box): a name whose directory is
// missing gets no state in the table, and a state made for a name before a
// rename brought a folder there is retired by the rename, so that no two
// states (two commit locks) ever write one directory. Two states did once:
// a rename moved a directory while the second state held its
// dovecot-uidlist lock, and every later delivery there waited 30 s.
func TestOneStatePerDirectory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, Options{NoSync: true})
	a := newAccount(t, s, "alice@example.org")
	if mb := s.box(a, "INBOX/nothere"); !mb.isDeleted() {
		t.Fatal("a state for a folder that does not exist")
	}
	s.mu.Lock()
	_, kept := s.boxes[boxKey{a.ID, "INBOX/nothere"}]
	s.mu.Unlock()
	if kept {
		t.Fatal("the state of a missing folder was kept in the table")
	}

	if err := s.CreateFolder(ctx, a, "INBOX/a"); err != nil {
		t.Fatal(err)
	}
	moving := s.box(a, "INBOX/a")
	// A lookup of INBOX/b that raced ahead of the rename: its state was
	// made while the name was free.
	stale := &mailbox{s: s, acct: a, name: "INBOX/b", dir: folderDir(s.AccountDir(a), "INBOX/b")}
	s.mu.Lock()
	s.boxes[boxKey{a.ID, "INBOX/b"}] = stale
	s.mu.Unlock()
	if err := s.RenameFolder(ctx, a, "INBOX/a", "INBOX/b"); err != nil {
		t.Fatal(err)
	}
	if got := s.box(a, "INBOX/b"); got != moving {
		t.Fatal("INBOX/b has another state than the folder renamed there")
	}
	if !stale.isDeleted() {
		t.Fatal("the stale state of INBOX/b still works on the renamed directory")
	}
	deliver(t, s, "x\r\n", a, "INBOX/b")
	f := mustOpen(t, s, a, "INBOX/b")
	if ms := messages(t, f); len(ms) != 1 {
		t.Fatalf("INBOX/b holds %d messages", len(ms))
	}
}

// UIDNEXT as told to clients stays below the UID of a message numbered
// but not yet published (a batch still syncing), so no message appears
// later under a UID below an announced UIDNEXT.
func TestVisibleNextUID(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true})
	a := newAccount(t, s, "alice@example.org")
	deliver(t, s, "x\r\n", a, "INBOX")
	mb := mustOpen(t, s, a, "INBOX").mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if got := mb.visibleNextUIDLocked(); got != mb.nextUID || got != 2 {
		t.Fatalf("nothing in flight: UIDNEXT %d, want 2", got)
	}
	// Two messages numbered 2 and 3 by a batch still syncing.
	mb.nextUID = 4
	mb.ulRecs["b2"], mb.ulRecs["b3"] = ulRec{uid: 2, base: "b2"}, ulRec{uid: 3, base: "b3"}
	mb.inflight = map[string]bool{"b3": true, "b2": true}
	if got := mb.visibleNextUIDLocked(); got != 2 {
		t.Fatalf("UIDs 2 and 3 in flight: UIDNEXT %d, want 2", got)
	}
	mb.inflight = nil
	mb.nextUID = 2
	delete(mb.ulRecs, "b2")
	delete(mb.ulRecs, "b3")
}
