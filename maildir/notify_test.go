package maildir

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestArrivals: every new message of every folder and account reaches a
// store-wide subscription, in order, readable the moment it is taken;
// flag changes and expunges do not; a full queue drops and counts.
func TestArrivals(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	alice := newAccount(t, s, "alice@example.org")
	bob := newAccount(t, s, "bob@example.org")
	sub := s.SubscribeArrivals()
	defer sub.Close()

	deliver(t, s, "Subject: one\r\n\r\nbody\r\n", alice, "INBOX", bob, "INBOX")
	sent := mustOpen(t, s, alice, "Sent")
	uid, err := sent.Append(ctx, strings.NewReader("Subject: two\r\n\r\nx\r\n"), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sent.StoreFlags(ctx, []uint32{uid}, FlagsAdd, []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}

	var got []Arrival
	deadline := time.After(5 * time.Second)
	for len(got) < 3 {
		select {
		case <-sub.Ready():
		case <-deadline:
			t.Fatalf("arrivals: got %d, want 3", len(got))
		}
		a, lost := sub.Take()
		if lost != 0 {
			t.Fatalf("lost %d", lost)
		}
		got = append(got, a...)
	}
	want := map[string]bool{"alice@example.org INBOX": true, "bob@example.org INBOX": true, "alice@example.org Sent": true}
	for _, a := range got {
		k := a.Account.Address + " " + a.Folder
		if !want[k] {
			t.Fatalf("unexpected arrival %s (%+v)", k, a)
		}
		delete(want, k)
		f := mustOpen(t, s, a.Account, a.Folder)
		if f.UIDValidity() != a.UIDValidity {
			t.Errorf("%s: UIDVALIDITY %d, folder has %d", k, a.UIDValidity, f.UIDValidity())
		}
		if m := f.Lookup([]uint32{a.Message.UID}); m[0].UID != a.Message.UID || m[0].Size != a.Message.Size {
			t.Errorf("%s: arrival %+v not readable at once: %+v", k, a.Message, m[0])
		}
	}
	// The flag change made no arrival.
	select {
	case <-sub.Ready():
		if a, _ := sub.Take(); len(a) != 0 {
			t.Fatalf("flag change queued arrivals: %+v", a)
		}
	case <-time.After(50 * time.Millisecond):
	}

	// A full queue drops and counts.
	s.subs.mu.Lock()
	s.subs.max = 2
	s.subs.mu.Unlock()
	for range 4 {
		deliver(t, s, "Subject: many\r\n\r\nx\r\n", alice, "INBOX")
	}
	mustOpen(t, s, alice, "INBOX") // settle: every batch published
	a, lost := sub.Take()
	if len(a) != 2 || lost != 2 {
		t.Fatalf("full queue: %d kept, %d lost; want 2, 2", len(a), lost)
	}

	// Closed: nothing more.
	sub.Close()
	deliver(t, s, "Subject: after\r\n\r\nx\r\n", alice, "INBOX")
	mustOpen(t, s, alice, "INBOX")
	if a, _ := sub.Take(); len(a) != 0 {
		t.Fatalf("closed subscription got %d arrivals", len(a))
	}
}

// TestArrivalsCutLinger: while a subscription is open, a delivery is
// announced as soon as it is durable, not after the list's linger.
func TestArrivalsCutLinger(t *testing.T) {
	s := openStore(t, Options{})
	s.listLinger = 3 * time.Second
	alice := newAccount(t, s, "alice@example.org")
	sub := s.SubscribeArrivals()
	defer sub.Close()
	start := time.Now()
	deliver(t, s, "Subject: quick\r\n\r\nx\r\n", alice, "INBOX")
	select {
	case <-sub.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("no arrival")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("arrival after %v: the linger was not cut", d)
	}
}

// TestChanges: a SubscribeChanges subscription gets a message's arrival,
// its flag changes and its expunge, in the order they were made; an
// arrivals-only subscription beside it gets the arrival alone.
func TestChanges(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	alice := newAccount(t, s, "alice@example.org")
	changes, arrivals := s.SubscribeChanges(), s.SubscribeArrivals()
	defer changes.Close()
	defer arrivals.Close()
	f := mustOpen(t, s, alice, "INBOX")
	uid, err := f.Append(ctx, strings.NewReader("Subject: c\r\n\r\nx\r\n"), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.StoreFlags(ctx, []uint32{uid}, FlagsAdd, []string{`\Seen`, `\Deleted`}); err != nil {
		t.Fatal(err)
	}
	if gone, err := f.Expunge(ctx, []uint32{uid}); err != nil || len(gone) != 1 {
		t.Fatalf("Expunge: %v %v", gone, err)
	}
	got, _ := changes.Take()
	var kinds []EventKind
	for _, a := range got {
		if a.Message.UID != uid || a.Account.ID != alice.ID || a.Folder != "INBOX" {
			t.Fatalf("change %+v is not of the message", a)
		}
		kinds = append(kinds, a.Kind)
	}
	if fmt.Sprint(kinds) != fmt.Sprint([]EventKind{EventNew, EventFlags, EventExpunge}) {
		t.Fatalf("changes %v, want new, flags, expunge", kinds)
	}
	if !slices.Contains(got[1].Message.Flags, `\Seen`) {
		t.Errorf("flag change carries %v", got[1].Message.Flags)
	}
	if a, _ := arrivals.Take(); len(a) != 1 || a[0].Kind != EventNew {
		t.Errorf("arrivals-only subscription got %+v", a)
	}
}

// TestFolderChanges: a change subscription hears of every folder made
// (missing parents too), renamed (once, children following) and deleted;
// an arrivals subscription of none.
func TestFolderChanges(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	alice := newAccount(t, s, "alice@example.org")
	changes, arrivals := s.SubscribeChanges(), s.SubscribeArrivals()
	defer changes.Close()
	defer arrivals.Close()
	for _, step := range []func() error{
		func() error { return s.CreateFolder(ctx, alice, "INBOX/work") },
		func() error { return s.CreateFolder(ctx, alice, "INBOX/work/2026") },
		func() error { return s.RenameFolder(ctx, alice, "INBOX/work", "INBOX/jobs") },
		func() error { return s.DeleteFolder(ctx, alice, "INBOX/jobs/2026") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := changes.Take()
	var seen []string
	for _, a := range got {
		if a.Account.ID != alice.ID {
			t.Fatalf("change %+v is not alice's", a)
		}
		seen = append(seen, fmt.Sprint(a.Kind, " ", a.Folder, " ", a.NewName))
	}
	want := []string{
		fmt.Sprint(EventFolderCreated, " INBOX/work "),
		fmt.Sprint(EventFolderCreated, " INBOX/work/2026 "),
		fmt.Sprint(EventFolderRenamed, " INBOX/work INBOX/jobs"),
		fmt.Sprint(EventFolderDeleted, " INBOX/jobs/2026 "),
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("folder changes\n%q\nwant\n%q", seen, want)
	}
	if a, _ := arrivals.Take(); len(a) != 0 {
		t.Errorf("arrivals-only subscription got %+v", a)
	}
}

// TestFolderChangeNeverAhead: when a folder event is taken, Folders
// already lists the change (notifyFolder is called after the change is
// on disk). Goes red when the event is queued before the directory is
// made or renamed.
func TestFolderChangeNeverAhead(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	alice := newAccount(t, s, "alice@example.org")
	sub := s.SubscribeChanges()
	defer sub.Close()
	const n = 100
	done := make(chan error, 1)
	go func() {
		for i := range n {
			name := fmt.Sprintf("INBOX/f%d", i)
			if err := s.CreateFolder(ctx, alice, name); err != nil {
				done <- err
				return
			}
			if err := s.RenameFolder(ctx, alice, name, name+"r"); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for taken := 0; taken < 2*n; {
		select {
		case <-sub.Ready():
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			done <- nil
			<-sub.Ready()
		}
		got, _ := sub.Take()
		for _, a := range got {
			taken++
			list, err := s.Folders(ctx, alice)
			if err != nil {
				t.Fatal(err)
			}
			// Made: listed under its name or, renamed since, the new one.
			want := []string{a.Folder, a.Folder + "r"}
			if a.Kind == EventFolderRenamed {
				want = []string{a.NewName}
			}
			if !slices.ContainsFunc(list, func(f FolderInfo) bool { return slices.Contains(want, f.Name) }) {
				t.Fatalf("event %v %s taken before Folders lists %v", a.Kind, a.Folder, want)
			}
		}
	}
}
