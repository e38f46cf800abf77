package maildir

import (
	"context"
	"io"
	"testing"
)

// TestDeliveryFolderDeletedBeforeCommit: a subinbox deleted between
// AddRecipient and Commit gets its copy filed into INBOX (draft 2.2.2,
// profile 9) instead of failing the delivery.
func TestDeliveryFolderDeletedBeforeCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, Options{})
	a := newAccount(t, s, "alice@example.org")
	if err := s.CreateFolder(ctx, a, "INBOX/gone"); err != nil {
		t.Fatal(err)
	}
	d, err := s.BeginDelivery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.AddRecipient(a, "INBOX/gone"); err != nil {
		t.Fatal(err)
	}
	io.WriteString(d, "Subject: late\r\n\r\nbody\r\n")
	if err := s.DeleteFolder(ctx, a, "INBOX/gone"); err != nil {
		t.Fatal(err)
	}
	out, err := d.Commit(ctx)
	if err != nil {
		t.Fatalf("Commit after the folder was deleted: %v", err)
	}
	if len(out) != 1 || out[0].Folder != "INBOX" {
		t.Fatalf("Commit = %+v, want the copy in INBOX", out)
	}
	inbox := mustOpen(t, s, a, "INBOX")
	if msgs := messages(t, inbox); len(msgs) != 1 || msgs[0].UID != out[0].UID {
		t.Fatalf("INBOX holds %+v, want UID %d", msgs, out[0].UID)
	}
}

// TestDeliveryFolderRenamedBeforeCommit: a subinbox renamed between
// AddRecipient and Commit gets its copy under the new name.
func TestDeliveryFolderRenamedBeforeCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, Options{})
	a := newAccount(t, s, "bob@example.org")
	if err := s.CreateFolder(ctx, a, "INBOX/old"); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, s, a, "INBOX/old") // the folder's state is live in the process
	d, err := s.BeginDelivery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.AddRecipient(a, "INBOX/old"); err != nil {
		t.Fatal(err)
	}
	io.WriteString(d, "Subject: moved\r\n\r\nbody\r\n")
	if err := s.RenameFolder(ctx, a, "INBOX/old", "INBOX/new"); err != nil {
		t.Fatal(err)
	}
	out, err := d.Commit(ctx)
	if err != nil {
		t.Fatalf("Commit after the folder was renamed: %v", err)
	}
	if len(out) != 1 || out[0].Folder != "INBOX/new" {
		t.Fatalf("Commit = %+v, want the copy in INBOX/new", out)
	}
	if msgs := messages(t, mustOpen(t, s, a, "INBOX/new")); len(msgs) != 1 {
		t.Fatalf("INBOX/new holds %d messages, want 1", len(msgs))
	}
}
