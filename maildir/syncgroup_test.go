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
