package maildir

import (
	"context"
	"slices"
	"sync"
	"testing"
)

// StoreFlagsIf (condstore.go, RFC 7162 3.1.3): a message whose modseq is
// above the value is left alone and reported; the others are changed.
func TestStoreFlagsIf(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, Options{DataDir: t.TempDir(), NoSync: true})
	a := newAccount(t, s, "alice@example.org")
	f := mustOpen(t, s, a, "INBOX")
	for range 3 {
		deliver(t, s, "x\r\n", a, "INBOX")
	}
	ms := messages(t, f)
	mark := max(ms[0].ModSeq, ms[1].ModSeq, ms[2].ModSeq)
	if _, err := f.StoreFlags(ctx, []uint32{2}, FlagsAdd, []string{`\Flagged`}); err != nil {
		t.Fatal(err)
	}
	out, modified, err := f.StoreFlagsIf(ctx, []uint32{1, 2, 3}, FlagsAdd, []string{`\Seen`}, mark)
	if err != nil || !slices.Equal(modified, []uint32{2}) || len(out) != 2 || out[0].UID != 1 || out[1].UID != 3 {
		t.Fatalf("StoreFlagsIf = %+v, %v, %v: want 1 and 3 changed, 2 modified", out, modified, err)
	}
	for _, m := range out {
		if m.ModSeq <= mark || !slices.Contains(m.Flags, `\Seen`) {
			t.Fatalf("changed message %+v", m)
		}
	}
	if got := f.Lookup([]uint32{2}); slices.Contains(got[0].Flags, `\Seen`) {
		t.Fatalf("message 2 changed although modified: %+v", got[0])
	}
	// 0: nothing passes.
	if out, modified, _ := f.StoreFlagsIf(ctx, []uint32{1, 2, 3}, FlagsAdd, []string{`\Answered`}, 0); len(out) != 0 || len(modified) != 3 {
		t.Fatalf("UNCHANGEDSINCE 0: %+v %v", out, modified)
	}
}

// The UNCHANGEDSINCE test and the change are one step under the folder's
// lock: writers that each read a message's flags and modseq and then
// toggle \Flagged only if it is unchanged since never both succeed from
// the same reading (a test made before the lock would let two through,
// and one toggle would undo the other unseen).
func TestStoreUnchangedSinceIsAtomic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, Options{DataDir: t.TempDir(), NoSync: true})
	a := newAccount(t, s, "alice@example.org")
	f := mustOpen(t, s, a, "INBOX")
	deliver(t, s, "x\r\n", a, "INBOX")
	uid := messages(t, f)[0].UID

	var mu sync.Mutex
	from := map[uint64]int{} // modseq read -> successes based on it
	successes := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 150 {
				m := f.Lookup([]uint32{uid})[0]
				op := FlagsAdd
				if slices.Contains(m.Flags, `\Flagged`) {
					op = FlagsRemove
				}
				out, modified, err := f.StoreFlagsIf(ctx, []uint32{uid}, op, []string{`\Flagged`}, m.ModSeq)
				if err != nil {
					t.Error(err)
					return
				}
				if len(modified) == 0 && len(out) == 1 {
					mu.Lock()
					from[m.ModSeq]++
					successes++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	for ms, n := range from {
		if n > 1 {
			t.Fatalf("%d conditional stores succeeded from the same modseq %d", n, ms)
		}
	}
	// Every success was a real change: the flag toggled once per success.
	final := f.Lookup([]uint32{uid})[0]
	if slices.Contains(final.Flags, `\Flagged`) != (successes%2 == 1) {
		t.Fatalf("%d successful toggles, final flags %v", successes, final.Flags)
	}
	if successes < 2 {
		t.Fatalf("only %d successes", successes)
	}
}

// An expunge moves the folder's HIGHESTMODSEQ, and a clean restart keeps
// it even when the expunge is the only change since the last save
// (modseq.go): the value a client saw never goes back.
func TestHighestModSeqAfterExpungeSurvivesRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, Options{DataDir: dir, NoSync: true})
	a := newAccount(t, s, "alice@example.org")
	deliver(t, s, "x\r\n", a, "INBOX")
	deliver(t, s, "y\r\n", a, "INBOX")
	f := mustOpen(t, s, a, "INBOX")
	if _, err := f.StoreFlags(ctx, []uint32{1}, FlagsAdd, []string{`\Deleted`}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openStore(t, Options{DataDir: dir, NoSync: true})
	f = mustOpen(t, s, a, "INBOX")
	if gone, err := f.Expunge(ctx, nil); err != nil || len(gone) != 1 {
		t.Fatalf("Expunge = %v, %v", gone, err)
	}
	st, _ := f.Status(ctx)
	s.Close()
	s = openStore(t, Options{DataDir: dir, NoSync: true})
	f = mustOpen(t, s, a, "INBOX")
	if st2, _ := f.Status(ctx); st2.HighestModSeq < st.HighestModSeq {
		t.Fatalf("HIGHESTMODSEQ %d after restart, was %d", st2.HighestModSeq, st.HighestModSeq)
	}
}
