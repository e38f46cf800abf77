package maildir

import (
	"sync"
	"time"
)

// syncGroup shares the fsyncs of one file or directory among the batches
// that need them: Sync returns once a sync that started after the call
// began has finished, so each sync covers every write made before it
// started. Pipelined batches of one folder (commit.go) used to fsync new/
// and dovecot-uidlist once each; at a few hundred messages a second on a
// device that is busy with those very writes, batches that overlap now
// share them, which saves both the writes and the cache flushes.
//
// A caller that can wait (SyncLazy) lets the round it opens linger before
// it starts, so that the callers of the next moments share it too; Sync,
// or Kick, starts a lingering round at once. A round that has not started
// covers the writes of everyone who joined it, so lingering never weakens
// what a return means.
//
// A round's error goes to exactly the callers that waited for that round:
// after a failed fsync Linux may have dropped the dirty pages, so a later
// round's success says nothing about earlier writes.
type syncGroup struct {
	mu      sync.Mutex
	running *syncRound // the round in flight, if any
	next    *syncRound // the round that starts when running ends (or its time comes)
	kicked  bool       // Kick found no round waiting: the next one opened starts at once
	rounds  int        // rounds started (tests read it)
}

type syncRound struct {
	do    func() error // the fsync of the caller that opened the round
	calls int          // callers waiting for it
	done  chan struct{}
	err   error
	due   time.Time   // a lingering round starts by then
	eager bool        // a caller cannot wait: start as soon as nothing runs
	timer *time.Timer // while it lingers with nothing running
}

// Sync runs do, or waits for a round of another caller that starts after
// this call; do must sync the same file or directory as every other
// caller's (any descriptor or path of it, while the caller waits).
func (g *syncGroup) Sync(do func() error) error { return g.sync(do, 0) }

// SyncLazy is Sync for a caller that can wait up to linger (plus the
// sync) for company.
func (g *syncGroup) SyncLazy(do func() error, linger time.Duration) error {
	return g.sync(do, linger)
}

func (g *syncGroup) sync(do func() error, linger time.Duration) error {
	g.mu.Lock()
	r := g.next
	if r == nil {
		r = &syncRound{do: do, done: make(chan struct{}), due: time.Now().Add(linger)}
		g.next = r
		if g.kicked {
			r.eager, g.kicked = true, false
		}
	}
	r.calls++
	if linger <= 0 {
		r.eager = true
	}
	if g.running == nil {
		if r.eager {
			g.startLocked(r)
			g.mu.Unlock()
			g.run(r)
			return r.err
		}
		g.armLocked(r)
	}
	// Otherwise r starts when the running round ends: that one may have
	// started before our writes.
	g.mu.Unlock()
	<-r.done
	return r.err
}

// Kick starts the lingering round now (a reader wants what it covers);
// with none waiting, the next round to open does not linger.
func (g *syncGroup) Kick() {
	g.mu.Lock()
	r := g.next
	if r == nil {
		g.kicked = true
		g.mu.Unlock()
		return
	}
	r.eager = true
	if g.running != nil {
		g.mu.Unlock()
		return // r starts when the running round ends
	}
	g.startLocked(r)
	g.mu.Unlock()
	go g.run(r)
}

// startLocked (mu held) makes the waiting round r the running one.
func (g *syncGroup) startLocked(r *syncRound) {
	g.running, g.next = r, nil
	g.rounds++
	if r.timer != nil {
		r.timer.Stop()
	}
}

// armLocked (mu held, nothing running) starts r when its time comes.
func (g *syncGroup) armLocked(r *syncRound) {
	if r.timer != nil {
		return
	}
	r.timer = time.AfterFunc(time.Until(r.due), func() {
		g.mu.Lock()
		if g.next != r || g.running != nil {
			g.mu.Unlock()
			return // started already
		}
		g.startLocked(r)
		g.mu.Unlock()
		g.run(r)
	})
}

// run performs round r, then starts the round queued behind it (whose
// callers, including the one whose do it runs, are waiting for it) or
// lets it linger for what is left of its time.
func (g *syncGroup) run(r *syncRound) {
	r.err = r.do()
	g.mu.Lock()
	g.running = nil
	next := g.next
	start := next != nil && (next.eager || !time.Now().Before(next.due))
	if start {
		g.startLocked(next)
	} else if next != nil {
		g.armLocked(next)
	}
	g.mu.Unlock()
	close(r.done)
	if start {
		go g.run(next)
	}
}

// started counts the rounds started so far.
func (g *syncGroup) started() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rounds
}

// waiting counts the callers of the round that has not started yet.
func (g *syncGroup) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.next == nil {
		return 0
	}
	return g.next.calls
}
