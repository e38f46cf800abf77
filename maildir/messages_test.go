package maildir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestAppendAndRead(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	a := newAccount(t, s, "alice@example.org")
	ctx := context.Background()
	f := mustOpen(t, s, a, "Sent")
	date := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	uid, err := f.Append(ctx, strings.NewReader("Subject: x\n\nbare LF\n"), []string{`\Seen`, `\Draft`, "$Forwarded"}, date)
	if err != nil {
		t.Fatal(err)
	}
	ms := messages(t, f)
	want := Message{UID: uid, Flags: []string{"$Forwarded", `\Draft`, `\Seen`}, Size: 23, InternalDate: date}
	if len(ms) != 1 || !reflect.DeepEqual(ms[0].Flags, want.Flags) || ms[0].Size != want.Size || !ms[0].InternalDate.Equal(date) || ms[0].UID != 1 {
		t.Fatalf("Messages = %+v, want %+v", ms, want)
	}
	if got := readMsg(t, f, uid); got != "Subject: x\r\n\r\nbare LF\r\n" {
		t.Fatalf("body %q", got)
	}
	// On disk: cur/<base>,S=23,W=23:2,DSa and dovecot-keywords "0 $Forwarded".
	ents, _ := os.ReadDir(filepath.Join(s.AccountDir(a), ".Sent", "cur"))
	if len(ents) != 1 || !strings.HasSuffix(ents[0].Name(), ",S=23,W=23:2,DSa") {
		t.Fatalf("file name %v", ents)
	}
	kw, _ := os.ReadFile(filepath.Join(s.AccountDir(a), ".Sent", "dovecot-keywords"))
	if string(kw) != "0 $Forwarded\n" {
		t.Fatalf("dovecot-keywords %q", kw)
	}
	_, err = f.OpenMessage(ctx, 99)
	wantErr(t, err, ErrNoSuchMessage)
}

func TestStoreFlags(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true})
	a := newAccount(t, s, "alice@example.org")
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		deliver(t, s, fmt.Sprintf("Subject: %d\r\n\r\n", i), a, "INBOX")
	}
	f := mustOpen(t, s, a, "INBOX")
	steps := []struct {
		op    FlagOp
		flags []string
		want  []string
	}{
		{FlagsAdd, []string{`\Seen`}, []string{`\Seen`}},
		{FlagsAdd, []string{`\Flagged`, "work"}, []string{`\Flagged`, `\Seen`, "work"}},
		{FlagsRemove, []string{`\Seen`, "WORK"}, []string{`\Flagged`}},
		{FlagsSet, []string{`\Answered`, `\Deleted`, "home"}, []string{`\Answered`, `\Deleted`, "home"}},
		{FlagsSet, nil, []string{}},
		{FlagsAdd, []string{`\Recent`}, []string{}},
	}
	for i, st := range steps {
		got, err := f.StoreFlags(ctx, []uint32{2, 99}, st.op, st.flags)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if len(got) != 1 || got[0].UID != 2 || !reflect.DeepEqual(got[0].Flags, st.want) {
			t.Fatalf("step %d: %+v, want %v", i, got, st.want)
		}
		// A fresh store sees the same flags on disk.
		s2 := openStore(t, Options{DataDir: s.DataDir(), NoSync: true})
		ms := messages(t, mustOpen(t, s2, a, "INBOX"))
		if !reflect.DeepEqual(ms[1].Flags, st.want) {
			t.Fatalf("step %d: on disk %v, want %v", i, ms[1].Flags, st.want)
		}
	}
	_, err := f.StoreFlags(ctx, []uint32{1}, FlagsAdd, []string{"bad keyword"})
	if err == nil {
		t.Fatal("invalid keyword accepted")
	}
}

func TestKeywordLimit(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true})
	a := newAccount(t, s, "alice@example.org")
	deliver(t, s, "x\r\n", a, "INBOX")
	f := mustOpen(t, s, a, "INBOX")
	ctx := context.Background()
	for i := 0; i < 26; i++ {
		if _, err := f.StoreFlags(ctx, []uint32{1}, FlagsAdd, []string{fmt.Sprintf("kw%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := f.StoreFlags(ctx, []uint32{1}, FlagsAdd, []string{"one-too-many"})
	wantErr(t, err, ErrTooManyKeywords)
	if ms := messages(t, f); len(ms[0].Flags) != 26 {
		t.Fatalf("flags %v", ms[0].Flags)
	}
}

func TestExpunge(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true})
	a := newAccount(t, s, "alice@example.org")
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		deliver(t, s, "x\r\n", a, "INBOX")
	}
	f := mustOpen(t, s, a, "INBOX")
	f.StoreFlags(ctx, []uint32{1, 2, 4}, FlagsAdd, []string{`\Deleted`})
	got, err := f.Expunge(ctx, []uint32{2, 3, 4})
	if err != nil || !reflect.DeepEqual(got, []uint32{2, 4}) {
		t.Fatalf("UID EXPUNGE = %v, %v", got, err)
	}
	got, err = f.Expunge(ctx, nil)
	if err != nil || !reflect.DeepEqual(got, []uint32{1}) {
		t.Fatalf("EXPUNGE = %v, %v", got, err)
	}
	var uids []uint32
	for _, m := range messages(t, f) {
		uids = append(uids, m.UID)
	}
	if !reflect.DeepEqual(uids, []uint32{3, 5}) {
		t.Fatalf("left %v", uids)
	}
	// UIDs are never reused, also across a restart.
	s2 := openStore(t, Options{DataDir: s.DataDir(), NoSync: true})
	d := deliver(t, s2, "x\r\n", a, "INBOX")
	if d[0].UID != 6 {
		t.Fatalf("new UID %d, want 6", d[0].UID)
	}
}

func TestCopyMove(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true})
	a := newAccount(t, s, "alice@example.org")
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		deliver(t, s, fmt.Sprintf("Subject: %d\r\n\r\n", i), a, "INBOX")
	}
	in := mustOpen(t, s, a, "INBOX")
	in.StoreFlags(ctx, []uint32{2}, FlagsAdd, []string{`\Seen`, "important"})
	src, dst, err := in.Copy(ctx, []uint32{3, 2, 42}, "Archive")
	if err != nil || !reflect.DeepEqual(src, []uint32{2, 3}) || !reflect.DeepEqual(dst, []uint32{1, 2}) {
		t.Fatalf("Copy = %v %v %v", src, dst, err)
	}
	arch := mustOpen(t, s, a, "Archive")
	ms := messages(t, arch)
	if len(ms) != 2 || !reflect.DeepEqual(ms[0].Flags, []string{`\Seen`, "important"}) {
		t.Fatalf("archive %+v", ms)
	}
	if readMsg(t, arch, 1) != "Subject: 1\r\n\r\n" {
		t.Fatal("copied body differs")
	}
	if len(messages(t, in)) != 3 {
		t.Fatal("copy removed the source")
	}
	// Copy into the same folder makes a new message.
	if _, d, err := in.Copy(ctx, []uint32{1}, "INBOX"); err != nil || !reflect.DeepEqual(d, []uint32{4}) {
		t.Fatalf("self copy %v %v", d, err)
	}
	src, dst, err = in.Move(ctx, []uint32{1, 2}, "Trash")
	if err != nil || !reflect.DeepEqual(src, []uint32{1, 2}) || !reflect.DeepEqual(dst, []uint32{1, 2}) {
		t.Fatalf("Move = %v %v %v", src, dst, err)
	}
	var left []uint32
	for _, m := range messages(t, in) {
		left = append(left, m.UID)
	}
	if !reflect.DeepEqual(left, []uint32{3, 4}) {
		t.Fatalf("after move INBOX has %v", left)
	}
	trash := mustOpen(t, s, a, "Trash")
	if ms := messages(t, trash); len(ms) != 2 || !slices.Contains(ms[1].Flags, "important") {
		t.Fatalf("trash %+v", ms)
	}
	_, _, err = in.Move(ctx, []uint32{3}, "Nope")
	wantErr(t, err, ErrNonexistent)
}

// Events come in the order of the changes, including a delivery whose
// UID is published after it was acknowledged (with fsyncs on, the list's
// fsync lingers) and a deletion right after it.
func TestEvents(t *testing.T) {
	t.Parallel()
	for _, noSync := range []bool{true, false} {
		t.Run(fmt.Sprintf("nosync=%v", noSync), func(t *testing.T) {
			t.Parallel()
			testEvents(t, noSync)
		})
	}
}

func testEvents(t *testing.T, noSync bool) {
	s := openStore(t, Options{NoSync: noSync})
	a := newAccount(t, s, "alice@example.org")
	ctx := context.Background()
	if err := s.CreateFolder(ctx, a, "INBOX/work"); err != nil {
		t.Fatal(err)
	}
	f := mustOpen(t, s, a, "INBOX/work")
	var mu sync.Mutex
	var got []string
	var busy, overlap bool
	cancel := s.Subscribe(a, "inbox/work", func(ev Event) {
		mu.Lock()
		if busy {
			overlap = true
		}
		busy = true
		got = append(got, fmt.Sprintf("%d:%s:%d:%v:%s", ev.Kind, ev.Folder, ev.UID, ev.Flags, ev.NewName))
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		busy = false
		mu.Unlock()
	})
	deliver(t, s, "x\r\n", a, "INBOX/work")
	f.StoreFlags(ctx, []uint32{1}, FlagsAdd, []string{`\Deleted`})
	f.Expunge(ctx, nil)
	s.RenameFolder(ctx, a, "INBOX/work", "INBOX/job")
	deliver(t, s, "x\r\n", a, "INBOX/job")
	s.DeleteFolder(ctx, a, "INBOX/job")
	want := []string{
		"0:INBOX/work:1:[]:",
		`1:INBOX/work:1:[\Deleted]:`,
		"2:INBOX/work:1:[]:",
		"3:INBOX/work:0:[]:INBOX/job",
		"0:INBOX/job:2:[]:",
		"4:INBOX/job:0:[]:",
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= len(want) })
	mu.Lock()
	if !reflect.DeepEqual(got, want) || overlap {
		t.Fatalf("events %q (overlap %v), want %q", got, overlap, want)
	}
	mu.Unlock()
	cancel()
	deliver(t, s, "x\r\n", a, "INBOX")
}

// Files another program drops into new/ (or Dovecot moves to cur/ with
// flags) are found, numbered after the existing ones, and announced.
func TestExternalChanges(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true})
	a := newAccount(t, s, "alice@example.org")
	deliver(t, s, "x\r\n", a, "INBOX")
	f := mustOpen(t, s, a, "INBOX")
	evs := make(chan Event, 10)
	defer s.Subscribe(a, "INBOX", func(ev Event) { evs <- ev })()
	root := s.AccountDir(a)
	// An MDA's file: no size in the name, bare LF.
	body := "Subject: outside\n\nhello\n"
	os.WriteFile(filepath.Join(root, "tmp", "1700000000.outside.host"), []byte(body), 0o600)
	os.Rename(filepath.Join(root, "tmp", "1700000000.outside.host"), filepath.Join(root, "new", "1700000000.outside.host"))
	time.Sleep(2 * mtimeGrain)
	ms := messages(t, f)
	if len(ms) != 2 || ms[1].UID != 2 || ms[1].Size != int64(len(body)+3) {
		t.Fatalf("messages %+v", ms)
	}
	if got := readMsg(t, f, 2); got != strings.ReplaceAll(body, "\n", "\r\n") {
		t.Fatalf("body %q", got)
	}
	if ev := <-evs; ev.Kind != EventNew || ev.UID != 2 {
		t.Fatalf("event %+v", ev)
	}
	// Dovecot-style move to cur/ with flags.
	os.Rename(filepath.Join(root, "new", "1700000000.outside.host"), filepath.Join(root, "cur", "1700000000.outside.host:2,FS"))
	time.Sleep(2 * mtimeGrain)
	ms = messages(t, f)
	if !reflect.DeepEqual(ms[1].Flags, []string{`\Flagged`, `\Seen`}) {
		t.Fatalf("flags %v", ms[1].Flags)
	}
	if ev := <-evs; ev.Kind != EventFlags || ev.UID != 2 {
		t.Fatalf("event %+v", ev)
	}
	// Removed from outside.
	os.Remove(filepath.Join(root, "cur", "1700000000.outside.host:2,FS"))
	time.Sleep(2 * mtimeGrain)
	if ms = messages(t, f); len(ms) != 1 {
		t.Fatalf("messages %+v", ms)
	}
	if ev := <-evs; ev.Kind != EventExpunge || ev.UID != 2 {
		t.Fatalf("event %+v", ev)
	}
	// The uidlist records what was given.
	ul, _, err := readUIDList(root)
	if err != nil || len(ul.recs) != 2 || ul.recs[1].base != "1700000000.outside.host" {
		t.Fatalf("uidlist %+v %v", ul, err)
	}
}

// Both kinds of spool file: unnamed (O_TMPFILE, where it works) and
// named (elsewhere).
func TestDeliveryMultiRecipient(t *testing.T) {
	t.Parallel()
	for _, named := range []bool{false, true} {
		t.Run(fmt.Sprintf("named=%v", named), func(t *testing.T) {
			t.Parallel()
			testDeliveryMultiRecipient(t, named)
		})
	}
}

func testDeliveryMultiRecipient(t *testing.T, named bool) {
	s := openStore(t, Options{})
	if named {
		s.spoolOnce.Do(func() {}) // never probed: named spool files
	}
	a := newAccount(t, s, "alice@example.org")
	b := newAccount(t, s, "bob@example.org")
	ctx := context.Background()
	s.CreateFolder(ctx, a, "INBOX/work")
	out := deliver(t, s, "Subject: all\n\nhi\n", a, "INBOX", a, "inbox/WORK", b, "INBOX", a, "INBOX")
	if len(out) != 4 || out[1].Folder != "INBOX/work" || out[0].UID != 1 || out[3].UID != 1 || out[2].Account.Address != "bob@example.org" {
		t.Fatalf("delivered %+v", out)
	}
	// One copy per folder, hard links to one inode.
	var inodes []uint64
	for _, dir := range []string{s.AccountDir(a) + "/new", s.AccountDir(a) + "/.INBOX.work/new", s.AccountDir(b) + "/new"} {
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			t.Fatalf("%s has %d files", dir, len(ents))
		}
		st, _ := os.Stat(filepath.Join(dir, ents[0].Name()))
		inodes = append(inodes, st.Sys().(*syscall.Stat_t).Ino)
	}
	if inodes[0] != inodes[1] || inodes[0] != inodes[2] {
		t.Fatalf("not hard links: %v", inodes)
	}
	if spool, _ := os.ReadDir(filepath.Join(s.DataDir(), "spool")); len(spool) != 0 {
		t.Fatalf("spool not empty: %v", spool)
	}
	if got := readMsg(t, mustOpen(t, s, b, "INBOX"), 1); got != "Subject: all\r\n\r\nhi\r\n" {
		t.Fatalf("body %q", got)
	}
}

func TestDeliveryErrors(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true})
	a := newAccount(t, s, "alice@example.org")
	ctx := context.Background()
	d, _ := s.BeginDelivery(ctx)
	wantErr(t, d.AddRecipient(a, "INBOX/nope"), ErrNonexistent)
	wantErr(t, d.AddRecipient(a, "INBOX/../x"), ErrInvalidName)
	if _, err := d.Commit(ctx); err == nil {
		t.Fatal("commit without recipients succeeded")
	}
	// Abort leaves nothing.
	d, _ = s.BeginDelivery(ctx)
	d.AddRecipient(a, "INBOX")
	d.Write([]byte("x\r\n"))
	if err := d.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Commit(ctx); !errors.Is(err, ErrDeliveryDone) {
		t.Fatalf("commit after abort: %v", err)
	}
	assertEmpty(t, s, a)
}

func assertEmpty(t *testing.T, s *Store, a Account) {
	t.Helper()
	for _, dir := range []string{"new", "cur", "tmp"} {
		if ents, _ := os.ReadDir(filepath.Join(s.AccountDir(a), dir)); len(ents) != 0 {
			t.Fatalf("%s/ not empty: %v", dir, ents)
		}
	}
	if spool, _ := os.ReadDir(filepath.Join(s.DataDir(), "spool")); len(spool) != 0 {
		t.Fatalf("spool not empty: %v", spool)
	}
	if ms := messages(t, mustOpen(t, s, a, "INBOX")); len(ms) != 0 {
		t.Fatalf("messages: %v", ms)
	}
}

// A failure at any point of the commit path before the message is
// durable leaves nothing behind and comes back wrapped so errors.Is finds
// the errno.
func TestDeliveryFaults(t *testing.T) {
	t.Parallel()
	for _, point := range []string{"link", "fsync-dir"} {
		for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EIO, syscall.EROFS} {
			t.Run(point+"/"+errno.Error(), func(t *testing.T) {
				t.Parallel()
				s := openStore(t, Options{NoSync: true})
				a := newAccount(t, s, "alice@example.org")
				b := newAccount(t, s, "bob@example.org")
				ctx := context.Background()
				s.fault = func(p string) error {
					if p == point {
						return &os.PathError{Op: point, Path: "x", Err: errno}
					}
					return nil
				}
				d, _ := s.BeginDelivery(ctx)
				d.AddRecipient(a, "INBOX")
				d.AddRecipient(b, "INBOX")
				d.Write([]byte("Subject: x\r\n\r\n"))
				_, err := d.Commit(ctx)
				if !errors.Is(err, errno) {
					t.Fatalf("Commit error %v, want %v", err, errno)
				}
				s.fault = nil
				assertEmpty(t, s, a)
				assertEmpty(t, s, b)
				// And the next delivery works.
				deliver(t, s, "x\r\n", a, "INBOX")
			})
		}
	}
}

// A delivery is acknowledged once durable; when the fsync of the list
// then fails, the message is kept and numbered at the next look, and is
// not shown before that.
func TestDeliveryListSyncFault(t *testing.T) {
	t.Parallel()
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EIO} {
		t.Run(errno.Error(), func(t *testing.T) {
			t.Parallel()
			s := openStore(t, Options{NoSync: true})
			a := newAccount(t, s, "alice@example.org")
			f := mustOpen(t, s, a, "INBOX")
			var mu sync.Mutex
			var events []Event
			cancel := s.Subscribe(a, "INBOX", func(e Event) {
				mu.Lock()
				events = append(events, e)
				mu.Unlock()
			})
			defer cancel()
			s.fault = func(p string) error {
				if p == "uidlist" {
					return &os.PathError{Op: p, Path: "x", Err: errno}
				}
				return nil
			}
			got := deliver(t, s, "Subject: kept\r\n\r\nbody\r\n", a, "INBOX")
			if len(got) != 1 {
				t.Fatalf("delivered %v", got)
			}
			s.box(a, "INBOX").settle() // the failed sync has run
			s.fault = nil
			mu.Lock()
			if len(events) != 0 {
				t.Fatalf("published before the list was synced: %v", events)
			}
			mu.Unlock()
			ms := messages(t, f)
			if len(ms) != 1 || ms[0].UID == 0 || ms[0].Size == 0 {
				t.Fatalf("after the fault: %v", ms)
			}
			// The next delivery gets a later UID.
			next := deliver(t, s, "x\r\n", a, "INBOX")
			if ms := messages(t, f); len(ms) != 2 || ms[1].UID <= ms[0].UID || ms[1].UID != next[0].UID {
				t.Fatalf("second delivery: %v (delivered %v)", ms, next)
			}
		})
	}
}

// APPEND returns a UID, so it fails, leaving nothing, when the list
// cannot be synced.
func TestAppendListSyncFault(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true})
	a := newAccount(t, s, "alice@example.org")
	ctx := context.Background()
	f := mustOpen(t, s, a, "INBOX")
	s.fault = func(p string) error {
		if p == "uidlist" {
			return &os.PathError{Op: p, Path: "x", Err: syscall.EIO}
		}
		return nil
	}
	_, err := f.Append(ctx, strings.NewReader("Subject: x\r\n\r\n"), nil, time.Now())
	s.fault = nil
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("Append error %v, want EIO", err)
	}
	assertEmpty(t, s, a)
}

// One folder failing undoes the copies made in the others.
func TestDeliveryPartialFailure(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true})
	a := newAccount(t, s, "alice@example.org")
	b := newAccount(t, s, "bob@example.org")
	ctx := context.Background()
	mustOpen(t, s, a, "INBOX") // loaded state, so the undo is seen
	d, _ := s.BeginDelivery(ctx)
	d.AddRecipient(a, "INBOX")
	d.AddRecipient(b, "INBOX")
	d.Write([]byte("x\r\n"))
	// Make bob's INBOX unwritable for real: new/ replaced by a file.
	root := s.AccountDir(b)
	os.Rename(filepath.Join(root, "new"), filepath.Join(root, "new.away"))
	os.WriteFile(filepath.Join(root, "new"), nil, 0o600)
	_, err := d.Commit(ctx)
	if err == nil {
		t.Fatal("commit succeeded")
	}
	os.Remove(filepath.Join(root, "new"))
	os.Rename(filepath.Join(root, "new.away"), filepath.Join(root, "new"))
	assertEmpty(t, s, a)
	assertEmpty(t, s, b)
}

// A delivery answers once durable and its UID is listed later; a reader
// that comes after the answer still sees the message, and the UID the
// delivery reported.
func TestReaderSeesAcknowledgedDelivery(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	a := newAccount(t, s, "alice@example.org")
	f := mustOpen(t, s, a, "INBOX")
	for i := 1; i <= 20; i++ {
		got := deliver(t, s, fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i), a, "INBOX")
		ms := messages(t, f)
		if len(ms) != i {
			t.Fatalf("after delivery %d the reader sees %d messages", i, len(ms))
		}
		if last := ms[len(ms)-1]; last.UID != got[0].UID {
			t.Fatalf("delivery %d reported UID %d, the reader sees %d", i, got[0].UID, last.UID)
		}
	}
}
