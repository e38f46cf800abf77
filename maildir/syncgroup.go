package maildir

import "sync"

// syncGroup shares the fsyncs of one file or directory among the batches
// that need them: Sync returns once a sync that started after the call
// began has finished, so each sync covers every write made before it
// started. Pipelined batches of one folder (commit.go) used to fsync new/
// and dovecot-uidlist once each; at a few hundred messages a second on a
// device that is busy with those very writes, batches that overlap now
// share them, which saves both the writes and the cache flushes.
//
// A round's error goes to exactly the callers that waited for that round:
// after a failed fsync Linux may have dropped the dirty pages, so a later
// round's success says nothing about earlier writes.
type syncGroup struct {
	mu      sync.Mutex
	running *syncRound // the round in flight, if any
	next    *syncRound // the round that starts when running ends
}

type syncRound struct {
	do   func() error // the fsync of the caller that opened the round
	done chan struct{}
	err  error
}

// Sync runs do, or waits for a round of another caller that starts after
// this call; do must sync the same file or directory as every other
// caller's (any descriptor or path of it, while the caller waits).
func (g *syncGroup) Sync(do func() error) error {
	g.mu.Lock()
	if g.running == nil {
		r := &syncRound{do: do, done: make(chan struct{})}
		g.running = r
		g.mu.Unlock()
		g.run(r)
		return r.err
	}
	// The round in flight may have started before our writes: the next
	// one starts after them.
	if g.next == nil {
		g.next = &syncRound{do: do, done: make(chan struct{})}
	}
	r := g.next
	g.mu.Unlock()
	<-r.done
	return r.err
}

// run performs round r, then starts the round queued behind it (whose
// callers, including the one whose do it runs, are waiting for it).
func (g *syncGroup) run(r *syncRound) {
	r.err = r.do()
	g.mu.Lock()
	next := g.next
	g.next = nil
	g.running = next
	g.mu.Unlock()
	close(r.done)
	if next != nil {
		go g.run(next)
	}
}
