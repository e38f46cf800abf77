package maildir

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// netEffect is what a session makes of a queue (imap/select.go update):
// the messages it hears of, in order, the last flags of each message it
// may know, the known messages expunged, and the last keyword list.
type netEffect struct {
	fresh    []uint32
	flags    map[uint32]string
	order    []uint32 // messages with changed flags, in order of first change
	expunged []uint32
	keywords string
}

func reduce(told uint32, q []Event) netEffect {
	n := netEffect{flags: map[uint32]string{}}
	for _, ev := range q {
		switch ev.Kind {
		case EventNew:
			last := told
			if k := len(n.fresh); k > 0 {
				last = n.fresh[k-1]
			}
			if ev.UID > last {
				n.fresh = append(n.fresh, ev.UID)
			}
		case EventFlags:
			if _, ok := n.flags[ev.UID]; !ok {
				n.order = append(n.order, ev.UID)
			}
			n.flags[ev.UID] = strings.Join(ev.Flags, " ")
		case EventExpunge:
			delete(n.flags, ev.UID)
			if i := slices.Index(n.order, ev.UID); i >= 0 {
				n.order = slices.Delete(n.order, i, i+1)
			}
			if i := slices.Index(n.fresh, ev.UID); i >= 0 {
				n.fresh = slices.Delete(n.fresh, i, i+1)
				continue
			}
			if ev.UID <= told {
				n.expunged = append(n.expunged, ev.UID)
			}
		case EventKeywords:
			n.keywords = strings.Join(ev.Keywords, " ")
		}
	}
	return n
}

// TestCompactionKeepsTheNetEffect: random queues, compacted, give a
// session what the whole queue would have.
func TestCompactionKeepsTheNetEffect(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 500 {
		const told = 20
		var q []Event
		next := uint32(told + 1)
		live := []uint32{}
		for u := uint32(1); u <= told; u++ {
			live = append(live, u)
		}
		kws := []string{}
		for range 40 + r.IntN(200) {
			switch r.IntN(6) {
			case 0:
				q = append(q, Event{Kind: EventNew, UID: next})
				live = append(live, next)
				next++
			case 1, 2:
				if len(live) > 0 {
					u := live[r.IntN(len(live))]
					q = append(q, Event{Kind: EventFlags, UID: u, Flags: []string{fmt.Sprint(r.IntN(4))}})
				}
			case 3:
				if len(live) > 0 {
					i := r.IntN(len(live))
					q = append(q, Event{Kind: EventExpunge, UID: live[i]})
					live = slices.Delete(live, i, i+1)
				}
			case 5: // a message already in the snapshot announced again (imap/select.go skips it)
				if len(live) > 0 && live[0] <= told {
					q = append(q, Event{Kind: EventNew, UID: live[r.IntN(len(live))%told]})
				}
			case 4:
				kws = append(kws, fmt.Sprintf("k%d", len(kws)))
				q = append(q, Event{Kind: EventKeywords, Keywords: slices.Clone(kws)})
			}
		}
		w := &Watcher{told: told, queue: slices.Clone(q)}
		w.compactLocked()
		want, got := reduce(told, q), reduce(told, w.queue)
		if fmt.Sprint(want) != fmt.Sprint(got) {
			t.Fatalf("round %d: compaction changed the net effect\nwhole:     %v\ncompacted: %v\n(%d events)", round, want, got, len(q))
		}
		if len(w.queue) > len(q) {
			t.Fatalf("round %d: compaction grew the queue", round)
		}
	}
}

// TestCompactionRules: the rules of watchcap.go, one by one.
func TestCompactionRules(t *testing.T) {
	t.Parallel()
	ev := func(k EventKind, uid uint32, s ...string) Event {
		if k == EventKeywords {
			return Event{Kind: k, Keywords: s}
		}
		return Event{Kind: k, UID: uid, Flags: s}
	}
	q := []Event{
		ev(EventFlags, 3, "a"),         // known message: last flags kept here
		ev(EventKeywords, 0, "x"),      // first keyword list: the last one goes here
		ev(EventNew, 11),               // unknown, then expunged: gone
		ev(EventFlags, 11, "b"),        //   with its flag change
		ev(EventNew, 12),               // unknown, stays
		ev(EventExpunge, 4),            // known: kept
		ev(EventFlags, 3, "c"),         // dropped (merged above)
		ev(EventExpunge, 11),           // gone with its message
		ev(EventKeywords, 0, "x", "y"), // dropped (merged above)
	}
	w := &Watcher{told: 10, queue: q}
	w.compactLocked()
	var got []string
	for _, e := range w.queue {
		got = append(got, fmt.Sprintf("%d:%d:%s:%s", e.Kind, e.UID, strings.Join(e.Flags, ","), strings.Join(e.Keywords, ",")))
	}
	want := []string{
		fmt.Sprintf("%d:3:c:", EventFlags),
		fmt.Sprintf("%d:0::x,y", EventKeywords),
		fmt.Sprintf("%d:12::", EventNew),
		fmt.Sprintf("%d:4::", EventExpunge),
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("compacted to\n%v\nwant\n%v", got, want)
	}
}

// TestIdleWatcherQueueIsBounded: a session that selects a folder and
// says nothing while mail arrives and goes, and one message's flags
// change over and over, holds a queue bounded by the folder, not by the
// number of changes; what it then reads is what it should be told.
func TestIdleWatcherQueueIsBounded(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true})
	a := newAccount(t, s, "idle@example.org")
	ctx := context.Background()
	f := mustOpen(t, s, a, "INBOX")
	kept, err := f.Append(ctx, strings.NewReader("Subject: kept\r\n\r\nx\r\n"), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	w, _, err := f.Watch(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const small = 64 // compactAt, lowered from minCompactAt to keep the test short
	w.mu.Lock()
	w.compactAt = small
	w.mu.Unlock()
	const rounds = 12 * small
	for i := range rounds {
		uid, err := f.Append(ctx, strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)), []string{`\Deleted`}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		op := FlagsAdd
		if i%2 == 1 {
			op = FlagsRemove
		}
		if _, err := f.StoreFlags(ctx, []uint32{kept}, op, []string{`\Seen`}); err != nil {
			t.Fatal(err)
		}
		if gone, err := f.Expunge(ctx, []uint32{uid}); err != nil || len(gone) != 1 {
			t.Fatalf("Expunge(%d): %v %v", uid, gone, err)
		}
	}
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	n := len(w.queue)
	kinds := map[EventKind]int{}
	for _, e := range w.queue {
		kinds[e.Kind]++
	}
	w.mu.Unlock()
	if n > 4*small {
		t.Errorf("after %d deliveries, flag changes and expunges the idle queue holds %d events (by kind %v)", rounds, n, kinds)
	}
	told := w.told
	q := w.Changes()
	got := reduce(told, q)

	if len(got.fresh) != 0 || len(got.expunged) != 0 || got.flags[kept] != "" || len(got.order) != 1 {
		t.Errorf("the session is told %+v; want only the last flags of UID %d (none)", got, kept)
	}
}
