package maildir

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Mod-sequences (modseq.go): every change gets a modseq above every one
// given before; a clean restart keeps each message's modseq; after a
// crash (nothing saved) a message changed meanwhile gets a modseq above
// everything seen before the crash, and unchanged ones keep theirs as of
// the last save.
func TestModSeqs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	s := openStore(t, Options{DataDir: dir, NoSync: true})
	a := newAccount(t, s, "alice@example.org")
	f := mustOpen(t, s, a, "INBOX")
	for range 3 {
		deliver(t, s, "x\r\n", a, "INBOX")
	}
	ms := messages(t, f)
	if ms[0].ModSeq == 0 || !(ms[0].ModSeq < ms[1].ModSeq && ms[1].ModSeq < ms[2].ModSeq) {
		t.Fatalf("new messages' modseqs %d %d %d: want rising", ms[0].ModSeq, ms[1].ModSeq, ms[2].ModSeq)
	}
	st, _ := f.Status(ctx)
	if st.HighestModSeq != ms[2].ModSeq {
		t.Fatalf("HIGHESTMODSEQ %d, want %d", st.HighestModSeq, ms[2].ModSeq)
	}
	out, err := f.StoreFlags(ctx, []uint32{1}, FlagsAdd, []string{`\Seen`, "$Work"})
	if err != nil || len(out) != 1 || out[0].ModSeq <= st.HighestModSeq {
		t.Fatalf("STORE = %+v, %v: want a modseq above %d", out, err, st.HighestModSeq)
	}
	stored := out[0].ModSeq
	if got := f.Lookup([]uint32{1, 2}); got[0].ModSeq != stored || got[1].ModSeq != ms[1].ModSeq {
		t.Fatalf("after STORE: %+v", got)
	}
	// An unchanged flag set (already \Seen) is no change.
	f.StoreFlags(ctx, []uint32{1}, FlagsAdd, []string{`\Seen`})
	if got := f.Lookup([]uint32{1}); got[0].ModSeq != stored {
		t.Fatalf("no-op STORE changed the modseq: %d -> %d", stored, got[0].ModSeq)
	}
	f.StoreFlags(ctx, []uint32{3}, FlagsAdd, []string{`\Deleted`})
	f.Expunge(ctx, nil)
	st, _ = f.Status(ctx)
	highest := st.HighestModSeq

	// A clean restart keeps them.
	s.Close()
	s = openStore(t, Options{DataDir: dir, NoSync: true})
	f = mustOpen(t, s, a, "INBOX")
	got := messages(t, f)
	if len(got) != 2 || got[0].ModSeq != stored || got[1].ModSeq != ms[1].ModSeq {
		t.Fatalf("after restart %+v, want modseqs %d %d", got, stored, ms[1].ModSeq)
	}
	if st, _ := f.Status(ctx); st.HighestModSeq != highest {
		t.Fatalf("HIGHESTMODSEQ after restart %d, want %d", st.HighestModSeq, highest)
	}

	// A change nothing recorded (another program, or a crash after the
	// change): message 2 gets \Flagged on disk behind the store's back.
	s.Close()
	root := s.AccountDir(a)
	renamed := 0
	for _, n := range append(globNames(root, "new"), globNames(root, "cur")...) {
		if b := filepath.Base(n); !strings.Contains(b, ":2,S") { // message 2: never flagged
			if i := strings.Index(b, ":2,"); i >= 0 {
				b = b[:i]
			}
			if err := os.Rename(n, filepath.Join(root, "cur", b+":2,F")); err != nil {
				t.Fatal(err)
			}
			renamed++
		}
	}
	if renamed != 1 {
		t.Fatalf("renamed %d files, want message 2 only", renamed)
	}
	s = openStore(t, Options{DataDir: dir, NoSync: true})
	f = mustOpen(t, s, a, "INBOX")
	after := messages(t, f)
	if len(after) != 2 || after[0].ModSeq != stored {
		t.Fatalf("unchanged message's modseq %+v, want %d", after, stored)
	}
	if after[1].ModSeq <= highest {
		t.Fatalf("message changed while unrecorded has modseq %d, want above %d", after[1].ModSeq, highest)
	}
}

func globNames(root, sub string) []string {
	names, _ := filepath.Glob(filepath.Join(root, sub, "*"))
	return names
}
