package maildir

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const raceBody = "Subject: race\r\n\r\nbody\r\n"

// Deliveries, flag changes, listings, copies and a subscriber on one
// folder at once. Run with -race: a record of the shared state changed
// in place while a delivery reads the UID it got (or a copy reads its
// source, or a caller reads a Flags slice) is a data race. It also checks
// that every delivery got a distinct UID that the folder lists, and that
// Flags slices handed out are never written after the fact.
func TestConcurrentFolderUse(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true})
	a := newAccount(t, s, "alice@example.org")
	ctx := context.Background()
	if err := s.CreateFolder(ctx, a, "Keep"); err != nil {
		t.Fatal(err)
	}
	f := mustOpen(t, s, a, "INBOX")
	deliver(t, s, "seed\r\n", a, "INBOX")
	// The seed is published once its UID is durable, which may be after
	// Commit returned: a reader waits for that, so the subscription
	// below hears only of the deliveries it counts.
	messages(t, f)

	var evFlags [][]string // every Flags slice an event carried
	var newUIDs []uint32   // EventNew UIDs, in the order published
	var badNew []Event     // EventNew without the right Size and InternalDate
	var evMu sync.Mutex
	cancel := s.Subscribe(a, "INBOX", func(ev Event) {
		evMu.Lock()
		evFlags = append(evFlags, ev.Flags)
		if ev.Kind == EventNew {
			newUIDs = append(newUIDs, ev.UID)
			if ev.Size != int64(len(raceBody)) || time.Since(ev.InternalDate) > time.Minute {
				badNew = append(badNew, ev)
			}
		}
		evMu.Unlock()
	})
	defer cancel()

	const deliverers, perDeliverer = 4, 25
	var stop atomic.Bool
	var wg, others sync.WaitGroup
	uids := make(chan uint32, deliverers*perDeliverer)
	errs := make(chan error, 16)
	for w := 0; w < deliverers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perDeliverer; i++ {
				d, err := s.BeginDelivery(ctx)
				if err != nil {
					errs <- err
					return
				}
				d.AddRecipient(a, "INBOX")
				d.Write([]byte(raceBody))
				out, err := d.Commit(ctx)
				if err != nil {
					errs <- err
					return
				}
				uids <- out[0].UID
			}
		}()
	}
	flagsOps := []struct {
		op    FlagOp
		flags []string
	}{
		{FlagsAdd, []string{`\Seen`}},
		{FlagsAdd, []string{"$Label1"}},
		{FlagsRemove, []string{`\Seen`}},
		{FlagsSet, []string{`\Flagged`, "$Label2"}},
	}
	for w := 0; w < 2; w++ {
		others.Add(1)
		go func() {
			defer others.Done()
			for i := 0; !stop.Load(); i++ {
				ms, err := f.Messages(ctx)
				if err != nil {
					errs <- err
					return
				}
				all := make([]uint32, len(ms))
				for j, m := range ms {
					all[j] = m.UID
				}
				op := flagsOps[(i+w)%len(flagsOps)]
				if _, err := f.StoreFlags(ctx, all, op.op, op.flags); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// A lister that keeps what it was handed and checks it later.
	type seen struct {
		flags []string
		copy  []string
	}
	var kept []seen
	others.Add(1)
	go func() {
		defer others.Done()
		for !stop.Load() {
			ms, err := f.Messages(ctx)
			if err != nil {
				errs <- err
				return
			}
			for _, m := range ms {
				if len(kept) < 2000 {
					kept = append(kept, seen{m.Flags, slices.Clone(m.Flags)})
				}
				_ = append(m.Flags, "$Mine") // must not write into the shared slice
			}
		}
	}()
	// Copies read source records without the source's lock.
	others.Add(1)
	go func() {
		defer others.Done()
		for !stop.Load() {
			if _, _, err := f.Copy(ctx, nil, "Keep"); err != nil {
				errs <- err
				return
			}
		}
	}()

	wg.Wait()
	stop.Store(true)
	others.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	close(uids)
	got := map[uint32]bool{}
	for u := range uids {
		if got[u] || u < 2 {
			t.Fatalf("UID %d given twice or reused", u)
		}
		got[u] = true
	}
	ms := messages(t, f)
	if len(ms) != deliverers*perDeliverer+1 {
		t.Fatalf("%d messages, want %d", len(ms), deliverers*perDeliverer+1)
	}
	for _, m := range ms {
		if m.UID != 1 && !got[m.UID] {
			t.Fatalf("listed UID %d no delivery got", m.UID)
		}
		if cap(m.Flags) != len(m.Flags) {
			t.Fatalf("Flags of UID %d has spare capacity (%d > %d)", m.UID, cap(m.Flags), len(m.Flags))
		}
	}
	for _, k := range kept {
		if !slices.Equal(k.flags, k.copy) {
			t.Fatalf("a Flags slice changed after it was returned: %q, was %q", k.flags, k.copy)
		}
	}
	// Every new message is announced once, in UID order (a listing must
	// not announce a message whose batch is not yet complete).
	waitFor(t, func() bool { evMu.Lock(); defer evMu.Unlock(); return len(newUIDs) >= len(got) })
	evMu.Lock()
	defer evMu.Unlock()
	if len(evFlags) == 0 || len(newUIDs) != len(got) {
		t.Fatalf("%d events, %d EventNew for %d deliveries", len(evFlags), len(newUIDs), len(got))
	}
	if len(badNew) > 0 {
		t.Fatalf("EventNew without size or date: %+v", badNew[0])
	}
	for i := 1; i < len(newUIDs); i++ {
		if newUIDs[i] <= newUIDs[i-1] {
			t.Fatalf("EventNew out of UID order: %v", newUIDs)
		}
	}
}
