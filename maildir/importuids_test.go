package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func importMsgs(uids ...uint32) []ImportMessage {
	var out []ImportMessage
	for i, u := range uids {
		body := fmt.Sprintf("Subject: imported %d\n\nbody %d\n", u, i)
		fl := []string{`\Seen`}
		if i%2 == 0 {
			fl = append(fl, "Important")
		}
		out = append(out, ImportMessage{UID: u, Flags: fl, Date: time.Unix(1600000000+int64(u), 0),
			Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }})
	}
	return out
}

// A folder that never numbered a message takes the UIDs, UIDVALIDITY and
// next UID given, with flags and dates; a delivery afterwards is numbered
// after them; a second AppendWithUIDs is refused and changes nothing.
func TestAppendWithUIDs(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	a := newAccount(t, s, "alice@example.org")
	f := mustOpen(t, s, a, "Archive")
	uids, errs, err := f.AppendWithUIDs(ctx, 1234, 20, importMsgs(3, 7, 9))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(uids, []uint32{3, 7, 9}) || errors.Join(errs...) != nil {
		t.Fatalf("uids %v errs %v", uids, errs)
	}
	// Seen through a fresh store too (the disk holds it all).
	s2 := openStore(t, Options{DataDir: s.DataDir()})
	for _, st := range []*Store{s, s2} {
		g := mustOpen(t, st, a, "Archive")
		ms := messages(t, g)
		if len(ms) != 3 || ms[0].UID != 3 || ms[1].UID != 7 || ms[2].UID != 9 {
			t.Fatalf("messages %+v", ms)
		}
		if !slices.Equal(ms[0].Flags, []string{"Important", `\Seen`}) || !ms[1].InternalDate.Equal(time.Unix(1600000007, 0)) {
			t.Fatalf("flags or date lost: %+v", ms)
		}
		stt, err := g.Status(ctx)
		if err != nil || stt.UIDValidity != 1234 || stt.UIDNext != 20 {
			t.Fatalf("status %+v %v", stt, err)
		}
		if got := readMsg(t, g, 7); got != "Subject: imported 7\r\n\r\nbody 1\r\n" {
			t.Fatalf("body %q", got)
		}
	}
	d := deliver(t, s, "Subject: after\r\n\r\nx\r\n", a, "Archive")
	if d[0].UID != 20 {
		t.Fatalf("delivery after the import got UID %d, want 20", d[0].UID)
	}
	if _, _, err := f.AppendWithUIDs(ctx, 99, 0, importMsgs(1)); !errors.Is(err, ErrUIDsInUse) {
		t.Fatalf("second AppendWithUIDs: %v, want ErrUIDsInUse", err)
	}
	if n := len(messages(t, f)); n != 4 {
		t.Fatalf("%d messages after the refused call", n)
	}
	if spool, _ := os.ReadDir(filepath.Join(s.DataDir(), spoolDir)); len(spool) != 0 {
		t.Fatalf("spool left with %d entries", len(spool))
	}
}

// A folder that numbered a message once (even one expunged since), or
// holds a file not yet numbered, or is shown by a session, keeps its
// UIDVALIDITY: the call is refused and nothing changes.
func TestAppendWithUIDsRefused(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	a := newAccount(t, s, "alice@example.org")

	deliver(t, s, "Subject: x\r\n\r\nx\r\n", a, "INBOX")
	in := mustOpen(t, s, a, "INBOX")
	if _, err := in.Expunge(ctx, []uint32{1}); err != nil {
		t.Fatal(err)
	}

	mustCreate := func(n string) *Folder {
		if err := s.CreateFolder(ctx, a, n); err != nil {
			t.Fatal(err)
		}
		return mustOpen(t, s, a, n)
	}
	dropped := mustCreate("Dropped")
	dir := filepath.Join(s.AccountDir(a), ".Dropped")
	if err := os.WriteFile(filepath.Join(dir, "new", "1.M1P1.other"), []byte("Subject: y\n\ny\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	watched := mustCreate("Watched")
	mustWatch(t, watched) // a watched folder: its UIDs are in use

	for name, f := range map[string]*Folder{"INBOX (expunged)": in, "Dropped (unnumbered file)": dropped, "Watched": watched} {
		before, _ := f.Status(ctx)
		_, _, err := f.AppendWithUIDs(ctx, 4321, 0, importMsgs(1, 2))
		if !errors.Is(err, ErrUIDsInUse) {
			t.Errorf("%s: %v, want ErrUIDsInUse", name, err)
		}
		if after, _ := f.Status(ctx); after.UIDValidity != before.UIDValidity {
			t.Errorf("%s: UIDVALIDITY changed %d -> %d", name, before.UIDValidity, after.UIDValidity)
		}
	}
}

// Deliveries racing the import: if the import wins, every delivery is
// numbered after the imported UIDs (at or above the next UID given); if a
// delivery wins, the import is refused whole. No UID is shared.
func TestAppendWithUIDsRacingDeliveries(t *testing.T) {
	ctx := context.Background()
	outcomes := map[bool]int{}
	for round := 0; round < 8; round++ {
		s := openStore(t, Options{NoSync: true})
		a := newAccount(t, s, "alice@example.org")
		f := mustOpen(t, s, a, "INBOX")
		var delivered []uint32
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(round) * 200 * time.Microsecond)
			for i := 0; i < 10; i++ {
				d := deliver(t, s, fmt.Sprintf("Subject: d%d\r\n\r\nx\r\n", i), a, "INBOX")
				delivered = append(delivered, d[0].UID)
			}
		}()
		_, _, err := f.AppendWithUIDs(ctx, 777, 30, importMsgs(2, 4, 6, 8, 10, 12, 14, 16, 18, 20))
		wg.Wait()
		if err != nil && !errors.Is(err, ErrUIDsInUse) {
			t.Fatal(err)
		}
		outcomes[err == nil]++
		ms := messages(t, f)
		st, _ := f.Status(ctx)
		seen := map[uint32]bool{}
		for _, m := range ms {
			if seen[m.UID] {
				t.Fatalf("UID %d twice", m.UID)
			}
			seen[m.UID] = true
		}
		if err == nil {
			if st.UIDValidity != 777 || len(ms) != 20 {
				t.Fatalf("import succeeded but status %+v, %d messages", st, len(ms))
			}
			for _, u := range delivered {
				if u < 30 {
					t.Fatalf("a delivery got UID %d below the imported next UID 30", u)
				}
			}
		} else if st.UIDValidity == 777 || len(ms) != 10 {
			t.Fatalf("import refused but status %+v, %d messages", st, len(ms))
		}
	}
	t.Logf("import won %d rounds, a delivery %d", outcomes[true], outcomes[false])
}

// The usual case: the server's store shows the (empty) folder to a
// session while the CLI's store imports into it. The session cannot be
// told a new UIDVALIDITY: it hears that its folder went away, and a new
// selection shows the imported UIDs.
func TestAppendWithUIDsOtherProcess(t *testing.T) {
	ctx := context.Background()
	server := openStore(t, Options{})
	a := newAccount(t, server, "alice@example.org")
	w, snap := mustWatch(t, mustOpen(t, server, a, "INBOX"))
	cli := openStore(t, Options{DataDir: server.DataDir()})
	if _, _, err := mustOpen(t, cli, a, "INBOX").AppendWithUIDs(ctx, snap.UIDValidity+7, 0, importMsgs(5, 6)); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	evs := w.Changes()
	if len(evs) != 1 || evs[0].Kind != EventFolderDeleted {
		t.Fatalf("the session was told %+v, want only EventFolderDeleted", evs)
	}
	_, snap2 := mustWatch(t, mustOpen(t, server, a, "INBOX"))
	if snap2.UIDValidity != snap.UIDValidity+7 || len(snap2.Messages) != 2 || snap2.Messages[0].UID != 5 {
		t.Fatalf("new selection: %+v", snap2)
	}
}
