package maildir

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func subscriptions(t *testing.T, s *Store, a Account) []string {
	t.Helper()
	subs, err := s.Subscriptions(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return subs
}

// TestSubscriptionsFile: Dovecot's version 2 format, one folder per line,
// components TAB-separated in their on-disk spelling.
func TestSubscriptionsFile(t *testing.T) {
	t.Parallel()
	s, a := treeStore(t)
	ctx := context.Background()
	if err := s.SetSubscribed(ctx, a, "Sent", false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSubscribed(ctx, a, "Ünïcode & co/a.b", true); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(s.AccountDir(a), "subscriptions"))
	want := "V\t2\n\nArchive\nDrafts\nINBOX\nINBOX\thome\nINBOX\twork\nINBOX\twork\toffice\nJunk\nTrash\n&ANw-n&AO8-code &- co\ta\\2eb\n"
	if string(data) != want {
		t.Fatalf("subscriptions file %q, want %q", data, want)
	}
	if subs := subscriptions(t, s, a); !slices.Contains(subs, "Ünïcode & co/a.b") || slices.Contains(subs, "Sent") {
		t.Fatalf("read back %q", subs)
	}
}

// TestSubscriptionsFollowFolders: INBOX, subinboxes and special-use
// folders are subscribed when made, by any path, and unsubscribed when
// deleted; renames move subscriptions; other folders keep theirs.
func TestSubscriptionsFollowFolders(t *testing.T) {
	t.Parallel()
	s, a := treeStore(t)
	ctx := context.Background()
	has := func(name string) bool { return slices.Contains(subscriptions(t, s, a), name) }
	for _, n := range []string{"INBOX", "INBOX/work", "INBOX/work/office", "INBOX/home", "Sent", "Drafts", "Trash", "Junk", "Archive"} {
		if !has(n) {
			t.Errorf("%s not subscribed after creation: %q", n, subscriptions(t, s, a))
		}
	}
	// IMAP CREATE outside INBOX: not subscribed (the client subscribes if
	// it wants to), nor the parent made for it.
	if err := s.CreateFolder(ctx, a, "Lists/go"); err != nil {
		t.Fatal(err)
	}
	if has("Lists/go") || has("Lists") {
		t.Errorf("ordinary folder subscribed: %q", subscriptions(t, s, a))
	}
	// A special-use folder made again is subscribed again.
	if err := s.DeleteFolder(ctx, a, "Junk"); err != nil {
		t.Fatal(err)
	}
	if has("Junk") {
		t.Error("deleted special-use folder still subscribed")
	}
	if err := s.CreateFolder(ctx, a, "Junk"); err != nil {
		t.Fatal(err)
	}
	if !has("Junk") {
		t.Error("special-use folder made again is not subscribed")
	}
	// Rename moves the folder's and its children's subscriptions.
	if err := s.RenameFolder(ctx, a, "inbox/WORK", "INBOX/job"); err != nil {
		t.Fatal(err)
	}
	if !has("INBOX/job") || !has("INBOX/job/office") || has("INBOX/work") || has("INBOX/work/office") {
		t.Errorf("subscriptions did not follow the rename: %q", subscriptions(t, s, a))
	}
	// A rename into INBOX makes subinboxes: subscribed; out of INBOX, the
	// subscription still follows.
	if err := s.RenameFolder(ctx, a, "Lists", "INBOX/lists"); err != nil {
		t.Fatal(err)
	}
	if !has("INBOX/lists") || !has("INBOX/lists/go") {
		t.Errorf("folders renamed into INBOX not subscribed: %q", subscriptions(t, s, a))
	}
	if err := s.RenameFolder(ctx, a, "INBOX/lists", "Lists"); err != nil {
		t.Fatal(err)
	}
	if !has("Lists") || has("INBOX/lists") {
		t.Errorf("rename out of INBOX: %q", subscriptions(t, s, a))
	}
	// RENAME INBOX makes a subinbox.
	if err := s.RenameFolder(ctx, a, "INBOX", "INBOX/old"); err != nil {
		t.Fatal(err)
	}
	if !has("INBOX/old") || !has("INBOX") {
		t.Errorf("RENAME INBOX: %q", subscriptions(t, s, a))
	}
	// Deleting a subinbox removes its subscription, in any spelling (one
	// written by another program, as Dovecot could).
	f, err := os.OpenFile(filepath.Join(s.AccountDir(a), "subscriptions"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("INBOX\tHOME\n")
	f.Close()
	if err := s.DeleteFolder(ctx, a, "INBOX/home"); err != nil {
		t.Fatal(err)
	}
	if has("INBOX/home") || has("INBOX/HOME") {
		t.Errorf("deleted subinbox still subscribed: %q", subscriptions(t, s, a))
	}
	// An ordinary folder keeps its subscription (RFC 9051 6.3.9).
	if err := s.DeleteFolder(ctx, a, "Lists/go"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFolder(ctx, a, "Lists"); err != nil {
		t.Fatal(err)
	}
	if !has("Lists") {
		t.Errorf("ordinary folder's subscription removed: %q", subscriptions(t, s, a))
	}
	// REPLACE: the subscription to old becomes one to new.
	if err := s.CreateFolder(ctx, a, "INBOX/news"); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceSubinbox(ctx, a, "news", "job"); err != nil {
		t.Fatal(err)
	}
	if has("INBOX/news") || !has("INBOX/job") {
		t.Errorf("REPLACE: %q", subscriptions(t, s, a))
	}
	// Folders reports subscriptions.
	fs, _ := s.Folders(ctx, a)
	for _, f := range fs {
		if f.Name == "INBOX/job" && !f.Subscribed {
			t.Error("Folders does not show the subscription")
		}
	}
}

// TestAutoCreatedAccountSubscribed: an account made by a delivery (the
// test bed's auto_create) has INBOX and the special-use folders subscribed.
func TestAutoCreatedAccountSubscribed(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true, AutoCreate: true})
	a, created, err := s.EnsureAccount(context.Background(), "carol@example.org")
	if err != nil || !created {
		t.Fatalf("EnsureAccount: %v, created %v", err, created)
	}
	subs := subscriptions(t, s, a)
	for _, n := range []string{"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"} {
		if !slices.Contains(subs, n) {
			t.Errorf("%s not subscribed: %q", n, subs)
		}
	}
}

// TestCreateSubscribesFirst: the subscription is written before the
// folder appears, so a folder made is never missing it; when it cannot be
// written, nothing is made.
func TestCreateSubscribesFirst(t *testing.T) {
	t.Parallel()
	s, a := treeStore(t)
	ctx := context.Background()
	block := filepath.Join(s.AccountDir(a), "subscriptions.lock") // the file's temporary name
	if err := os.Mkdir(block, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFolder(ctx, a, "INBOX/new"); err == nil {
		t.Fatal("CREATE succeeded without its subscription")
	}
	if slices.Contains(folderNames(t, s, a), "INBOX/new") {
		t.Fatal("folder made without its subscription")
	}
	// A folder that is not subscribed when made does not need the file.
	if err := s.CreateFolder(ctx, a, "Projects"); err != nil {
		t.Fatal(err)
	}
	os.Remove(block)
	if err := s.CreateFolder(ctx, a, "INBOX/new"); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(subscriptions(t, s, a), "INBOX/new") {
		t.Error("not subscribed")
	}
}
