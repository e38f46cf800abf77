package maildir

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSyncGroupSharesRounds: callers that overlap share rounds, and each
// gets its round's result.
func TestSyncGroupSharesRounds(t *testing.T) {
	var g syncGroup
	var rounds atomic.Int64
	const callers = 64
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := g.Sync(func() error {
				rounds.Add(1)
				time.Sleep(2 * time.Millisecond)
				return nil
			})
			if err != nil {
				t.Errorf("Sync: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := rounds.Load(); n >= callers || n < 1 {
		t.Errorf("%d rounds for %d overlapping callers, want fewer (and at least one)", n, callers)
	}
}

// TestSyncGroupRoundStartsAfterCall checks the ordering precisely: a
// caller that arrives while a round runs is not covered by that round.
func TestSyncGroupRoundStartsAfterCall(t *testing.T) {
	var g syncGroup
	release := make(chan struct{})
	inFirst := make(chan struct{})
	var ran []string
	var mu sync.Mutex
	record := func(s string) {
		mu.Lock()
		ran = append(ran, s)
		mu.Unlock()
	}
	firstDone := make(chan error)
	go func() {
		firstDone <- g.Sync(func() error {
			record("first")
			close(inFirst)
			<-release
			return nil
		})
	}()
	<-inFirst
	secondDone := make(chan error)
	go func() {
		secondDone <- g.Sync(func() error { record("second"); return nil })
	}()
	select {
	case <-secondDone:
		t.Fatal("a caller that came during a round returned with that round")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	if err := <-secondDone; err != nil {
		t.Fatal(err)
	}
	if len(ran) != 2 || ran[1] != "second" {
		t.Fatalf("rounds ran %v, want [first second]", ran)
	}
}

// TestSyncGroupErrorsStayWithTheirRound: a failed round fails its own
// callers only; a later round's success is not theirs.
func TestSyncGroupErrorsStayWithTheirRound(t *testing.T) {
	var g syncGroup
	boom := errors.New("EIO")
	inFirst := make(chan struct{})
	release := make(chan struct{})
	firstDone := make(chan error)
	go func() {
		firstDone <- g.Sync(func() error { close(inFirst); <-release; return boom })
	}()
	<-inFirst
	// Two callers queue behind it and share the next round, which fails
	// too; a third comes after and succeeds.
	var wg sync.WaitGroup
	queued := make([]error, 2)
	fail2 := errors.New("ENOSPC")
	for i := range queued {
		wg.Add(1)
		go func() {
			defer wg.Done()
			queued[i] = g.Sync(func() error { return fail2 })
		}()
	}
	time.Sleep(20 * time.Millisecond) // let both queue
	close(release)
	if err := <-firstDone; !errors.Is(err, boom) {
		t.Fatalf("first round: %v, want %v", err, boom)
	}
	wg.Wait()
	for i, err := range queued {
		if !errors.Is(err, fail2) {
			t.Errorf("queued caller %d: %v, want %v", i, err, fail2)
		}
	}
	if err := g.Sync(func() error { return nil }); err != nil {
		t.Fatalf("a later round: %v", err)
	}
}

// TestSyncGroupLazyRoundsLinger: lazy callers that arrive within the
// linger share one round, which starts no earlier than the linger.
func TestSyncGroupLazyRoundsLinger(t *testing.T) {
	var g syncGroup
	var rounds atomic.Int64
	const callers = 16
	const linger = 50 * time.Millisecond
	start := time.Now()
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.SyncLazy(func() error { rounds.Add(1); return nil }, linger); err != nil {
				t.Errorf("SyncLazy: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := rounds.Load(); n != 1 {
		t.Errorf("%d rounds for %d callers within the linger, want 1", n, callers)
	}
	if el := time.Since(start); el < linger {
		t.Errorf("lazy round returned after %v, before its linger of %v", el, linger)
	}
}

// TestSyncGroupKick: a kick, or an eager caller, starts a lingering round
// at once; a kick with no round waiting makes the next one eager.
func TestSyncGroupKick(t *testing.T) {
	const linger = time.Hour
	nop := func() error { return nil }
	returned := func(name string, f func()) {
		t.Helper()
		done := make(chan struct{})
		go func() { f(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the round never started", name)
		}
	}

	var g syncGroup
	returned("kicked", func() {
		waiting := make(chan error)
		go func() { waiting <- g.SyncLazy(nop, linger) }()
		waitOpened(t, &g)
		g.Kick()
		<-waiting
	})

	var g2 syncGroup
	returned("joined by an eager caller", func() {
		var lazyRan atomic.Bool
		waiting := make(chan error)
		go func() { waiting <- g2.SyncLazy(func() error { lazyRan.Store(true); return nil }, linger) }()
		waitOpened(t, &g2)
		g2.Sync(nop)
		<-waiting
		if !lazyRan.Load() {
			t.Error("the eager caller did not run the round the lazy one opened")
		}
	})

	var g3 syncGroup
	g3.Kick() // nothing waiting: remembered
	returned("kicked before it opened", func() { g3.SyncLazy(nop, linger) })
}

// TestSyncGroupLingersAfterRunningRound: a lazy round queued behind a
// running one still waits out its linger rather than starting the moment
// the running round ends.
func TestSyncGroupLingersAfterRunningRound(t *testing.T) {
	var g syncGroup
	inFirst, release := make(chan struct{}), make(chan struct{})
	firstDone := make(chan error)
	go func() {
		firstDone <- g.Sync(func() error { close(inFirst); <-release; return nil })
	}()
	<-inFirst
	const linger = 100 * time.Millisecond
	queued := time.Now()
	lazyDone := make(chan time.Time)
	go func() {
		g.SyncLazy(func() error { return nil }, linger)
		lazyDone <- time.Now()
	}()
	time.Sleep(10 * time.Millisecond)
	close(release)
	<-firstDone
	if at := <-lazyDone; at.Sub(queued) < linger {
		t.Errorf("lazy round ran %v after it was opened, before its linger of %v", at.Sub(queued), linger)
	}
}

// waitOpened returns once a lazy caller has opened g's next round.
func waitOpened(t *testing.T, g *syncGroup) { waitCallers(t, g, 1) }

// waitCallers returns once n callers wait for g's next round.
func waitCallers(t *testing.T, g *syncGroup, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for g.waiting() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d callers wait for the next round after 20s, want %d", g.waiting(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestDirFsyncWaitsForArrivingDeliveries: a batch whose folder expects
// more deliveries (their files still syncing) lets its fsync of new/
// linger so that they share it; with none expected it does not wait.
func TestDirFsyncWaitsForArrivingDeliveries(t *testing.T) {
	s := openStore(t, Options{})
	s.dirLinger = time.Hour // only a kick or an eager batch starts a lingering round
	a := newAccount(t, s, "alice@example.org")
	box := s.box(a, "INBOX")
	within := func(what string, done <-chan struct{}) {
		t.Helper()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: still waiting", what)
		}
	}

	lone := make(chan struct{})
	go func() { deliver(t, s, "lone\r\n", a, "INBOX"); close(lone) }()
	within("a lone delivery", lone)

	before := box.syncNew.started()
	box.arriving.Add(1) // a delivery still syncing its file
	first, second := make(chan struct{}), make(chan struct{})
	go func() { deliver(t, s, "first\r\n", a, "INBOX"); close(first) }()
	waitOpened(t, &box.syncNew) // the first batch lingers for the announced one
	go func() { deliver(t, s, "second\r\n", a, "INBOX"); close(second) }()
	waitCallers(t, &box.syncNew, 2)
	box.arriving.Add(-1)
	box.syncNew.Kick()
	within("first", first)
	within("second", second)
	if n := box.syncNew.started() - before; n != 1 {
		t.Errorf("%d fsync rounds of new/ for two overlapping deliveries, want 1", n)
	}
	if n := box.arriving.Load(); n != 0 {
		t.Errorf("arriving = %d after every delivery returned, want 0", n)
	}
}
