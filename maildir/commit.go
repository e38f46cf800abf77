package maildir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit. Every way a message enters a folder (delivery, APPEND,
// COPY, MOVE, a file another program dropped into new/) ends here, and
// the folder's state is only changed from here. Requests queue per
// folder; while there are any, one goroutine per folder, its committer,
// runs batches one after the other, each from start to end (run):
//
//  1. take everything queued, waiting up to dirLinger for deliveries to
//     the folder that are still syncing their files, so that they join;
//  2. place the files (place.go), give them UIDs and append them to
//     dovecot-uidlist under Dovecot's dot lock, unsynced;
//  3. fsync new/ and cur/ once each for the whole batch, and the list
//     alongside when it is due: the batch is durable, and a delivery
//     answers 250;
//  4. once the list is fsynced, publish (EventNew, readers) every batch
//     it covers, in order, and wake the callers waiting for their UIDs.
//
// An fsync thus covers every link made before it started, and batches
// that overlap share it: whatever queues while one batch syncs is the
// next batch. Folders do not wait for each other; nothing global is held
// across an fsync.
//
// Two moments matter to callers. A message is durable once its file and
// its name in new/ or cur/ are; a delivery needs no more before it
// answers 250 (durableOnly). Its UID is listed once the fsync of
// dovecot-uidlist returned; only then is it published, so no client ever
// sees a UID that a crash could give to another message, and APPEND, COPY
// and MOVE, which return UIDs, wait for that. A crash in between loses
// nothing: the file is in place and gets a UID at the next look, like a
// file another program dropped in. Since deliveries do not wait for the
// list, its fsync lingers (listLinger) to cover many batches; a reader
// (settle) cuts the linger short, so what was acknowledged is what the
// next reader sees.

type pending struct {
	rec         *msgRec // base, info, inNew, sizes, mtime in; uid out
	existing    bool    // the file is already in place; it only needs a UID
	src         string  // file to place
	follow      bool    // src is a /proc/self/fd name (spool.go)
	rename      bool    // move src: its old name goes once the new one is listed
	copyOK      bool    // copy when a hard link is impossible
	durableOnly bool    // the caller waits for durable, not for listed (a delivery)
	announced   bool    // counted in the folder's arriving until its batch starts
	placed      string  // where it was placed (for undo)
	renamed     bool    // placed by rename(2), as links are impossible here
	err         error   // final when the channel the caller waits for is closed
	unlisted    bool    // durable, but the list's fsync failed: not published
	durable     chan struct{}
	done        chan struct{} // listed and published (or failed)
}

// dirLinger bounds how long a batch waits for deliveries to the same
// folder that are still syncing their files (arriving), so that one
// fsync of new/ covers them too. With nothing arriving (one sender, an
// idle server) it does not wait at all; the last to arrive ends the wait.
const dirLinger = 2 * time.Millisecond

// listLinger is how long the fsync of dovecot-uidlist waits for company
// when only deliveries wait for it. It delays nothing a client sees: a
// reader kicks the sync, and IDLE hears of new mail this much later.
const listLinger = 10 * time.Millisecond

// groupCommit is a folder's commit queue and what its committer shares
// with other goroutines.
type groupCommit struct {
	mu      sync.Mutex
	queue   []*pending
	running bool          // a committer runs; it stops when it has nothing left
	wake    chan struct{} // (capacity 1) work queued, a kick, an arrival given up
	kicked  atomic.Bool   // a reader wants the list synced now
	// tail is closed once every batch started so far is published
	// (stored under ulMu, as a batch starts).
	tail     atomic.Pointer[chan struct{}]
	arriving atomic.Int32 // deliveries here syncing their files (a batch waits for them)
}

// commit places and numbers ps, waiting until they are listed, or only
// until they are durable for those marked durableOnly.
func (mb *mailbox) commit(ctx context.Context, ps []*pending) error {
	for _, p := range ps {
		p.durable = make(chan struct{})
		p.done = make(chan struct{})
	}
	gc := &mb.gc
	gc.mu.Lock()
	gc.queue = append(gc.queue, ps...)
	if gc.wake == nil {
		gc.wake = make(chan struct{}, 1)
	}
	start := !gc.running
	gc.running = true
	gc.pokeLocked()
	gc.mu.Unlock()
	if start {
		mb.s.bg.Add(1)
		go mb.commitLoop()
	}
	var errs []error
	for _, p := range ps {
		// not ctx: once queued, the outcome must be known
		if p.durableOnly {
			<-p.durable
		} else {
			<-p.done
		}
		if p.err != nil {
			errs = append(errs, p.err)
		}
	}
	return errors.Join(errs...)
}

// assign gives UIDs to files found in place (refresh).
func (mb *mailbox) assign(ctx context.Context, ps []*pending) error {
	return mb.commit(ctx, ps)
}

// settle waits until every batch started in this folder is listed and
// published, cutting short a lingering fsync of the list: a reader calls
// it so that a message acknowledged as durable is one it sees, and so do
// renames and deletions (with ulMu held, so no batch starts meanwhile),
// so that what was delivered is announced before the folder moves or
// goes. It takes no lock: refresh calls it on every read.
func (mb *mailbox) settle() {
	p := mb.gc.tail.Load()
	if p == nil {
		return
	}
	select {
	case <-*p:
		return
	default:
	}
	mb.gc.kicked.Store(true)
	mb.gc.poke()
	<-*p
}

// arrivalCancelled takes back a delivery's announcement (its file could
// not be synced), so that a batch waiting for it stops waiting.
func (mb *mailbox) arrivalCancelled() {
	mb.gc.arriving.Add(-1)
	mb.gc.poke()
}

func (gc *groupCommit) poke() {
	gc.mu.Lock()
	gc.pokeLocked()
	gc.mu.Unlock()
}

func (gc *groupCommit) pokeLocked() {
	select {
	case gc.wake <- struct{}{}:
	default: // a wake is pending already (or nothing runs: wake is nil)
	}
}

// take empties the queue; its deliveries are no longer arriving.
func (gc *groupCommit) take() []*pending {
	gc.mu.Lock()
	ps := gc.queue
	gc.queue = nil
	gc.mu.Unlock()
	for _, p := range ps {
		if p.announced {
			gc.arriving.Add(-1)
		}
	}
	return ps
}

// stop ends the committer unless work came meanwhile.
func (gc *groupCommit) stop() bool {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	if len(gc.queue) > 0 {
		return false
	}
	gc.running = false
	return true
}

// committer is the state of a folder's commit loop, which only its
// goroutine touches.
type committer struct {
	mb       *mailbox
	unlisted []*pending    // durable, in order; their records await the list's fsync
	list     *descriptor   // dovecot-uidlist as last appended to (syncs it for all)
	due      time.Time     // when unlisted must be listed at the latest
	pub      chan struct{} // closed once the batches started so far are published
	timer    *time.Timer
}

func (mb *mailbox) commitLoop() {
	defer mb.s.bg.Done()
	c := &committer{mb: mb, timer: time.NewTimer(time.Hour)}
	c.timer.Stop()
	c.run()
}

func (c *committer) run() {
	mb, gc, s := c.mb, &c.mb.gc, c.mb.s
	for {
		// 1. Take what is queued; if deliveries to this folder are still
		// syncing their files, wait up to dirLinger for them. With
		// nothing queued, wait until the list is due or a reader kicks;
		// with nothing unlisted either, stop.
		ps := gc.take()
		if len(ps) == 0 {
			if len(c.unlisted) == 0 {
				if gc.stop() {
					return
				}
				continue
			}
			if !gc.kicked.Load() && time.Now().Before(c.due) {
				c.wait(c.due)
				continue
			}
		} else if gc.arriving.Load() > 0 {
			until := time.Now().Add(s.dirLinger)
			for gc.arriving.Load() > 0 && time.Now().Before(until) {
				c.wait(until)
				ps = append(ps, gc.take()...)
			}
		}

		// 2. Place and number, under ulMu.
		var b batch
		if len(ps) > 0 {
			if !mb.ulMu.TryLock() {
				// A rename or deletion holds ulMu until what was
				// committed is published (lockBoxes): publish first.
				if len(c.unlisted) > 0 {
					c.publish(mb.syncList(c.list))
				}
				mb.ulMu.Lock()
			}
			if c.pub == nil {
				c.pub = make(chan struct{})
			}
			pub := c.pub
			gc.tail.Store(&pub)
			b = mb.start(ps)
			mb.ulMu.Unlock()
			if b.list != nil {
				if c.list != nil {
					c.list.Close()
				}
				c.list = b.list
			}
			if len(c.unlisted) == 0 {
				c.due = time.Now().Add(s.listLinger)
			}
		}

		// 3. Sync the directories, and the list alongside when someone
		// waits for a UID, a reader kicked, or its linger is over.
		listNow := (len(c.unlisted) > 0 || len(b.live) > 0) &&
			(gc.kicked.Swap(false) || b.eager || s.opts.NoSync || s.subs.waiting() || !time.Now().Before(c.due))
		var dirErr, listErr error
		switch {
		case len(b.live) > 0 && listNow && c.list != nil:
			ch := make(chan error, 1)
			go func(list *descriptor) { ch <- mb.syncList(list) }(c.list)
			dirErr = mb.syncDirs(&b)
			listErr = <-ch
		case len(b.live) > 0:
			dirErr = mb.syncDirs(&b)
			if listNow {
				listErr = mb.syncList(c.list)
			}
		case listNow:
			listErr = mb.syncList(c.list)
		}
		if len(b.live) > 0 {
			if dirErr != nil {
				// The records written name files now removed: harmless
				// dead records whose UIDs are never given again.
				mb.forgetList()
				mb.abandon(b.live, dirErr)
			} else {
				mb.durable(&b)
				c.unlisted = append(c.unlisted, b.live...)
			}
		}

		// 4. Publish what the list's fsync covered.
		if listNow || len(c.unlisted) == 0 {
			c.publish(listErr)
		}
	}
}

// wait blocks until the committer is poked (work, a kick) or until.
func (c *committer) wait(until time.Time) {
	c.timer.Reset(time.Until(until))
	select {
	case <-c.mb.gc.wake:
	case <-c.timer.C:
	}
	c.timer.Stop()
}

// publish publishes every unlisted batch, in order, once the list's
// fsync returned listErr, and wakes their callers and the readers
// settling the folder.
func (c *committer) publish(listErr error) {
	mb := c.mb
	if listErr != nil {
		// Read the list and the directories again before the next use:
		// what was durable gets its UID then, from the list if its
		// record made it, or a new one.
		mb.mu.Lock()
		mb.ulLoaded, mb.dirty = false, true
		mb.mu.Unlock()
		for _, p := range c.unlisted {
			if p.durableOnly {
				p.unlisted = true // acknowledged: the file stays
			} else {
				p.err = listErr
				mb.unplace(p)
			}
		}
	}
	mb.completeBatch(c.unlisted)
	c.unlisted = nil
	if c.list != nil {
		c.list.Close()
		c.list = nil
	}
	if c.pub != nil {
		close(c.pub)
		c.pub = nil
	}
}

// syncDirs makes a batch durable: one fsync of new/ and of cur/ for all
// the links made in them. A record in the list whose link did not
// survive a crash is harmless (a name with no file).
func (mb *mailbox) syncDirs(b *batch) error {
	if err := mb.s.inject("fsync-dir"); err != nil {
		return err
	}
	if b.usedNew {
		if err := mb.fsyncSub(b.dir, "new"); err != nil {
			return err
		}
	}
	if b.usedCur {
		if err := mb.fsyncSub(b.dir, "cur"); err != nil {
			return err
		}
	}
	return nil
}

// syncList fsyncs dovecot-uidlist through list (nil: nothing appended).
func (mb *mailbox) syncList(list *descriptor) error {
	if list != nil && !mb.s.opts.NoSync {
		if err := list.datasync(); err != nil {
			return fmt.Errorf("maildir: sync uidlist: %w", err)
		}
	}
	return mb.s.inject("uidlist")
}

// fsyncSub fsyncs dir/sub, where dir is the folder's directory when the
// batch was placed. A rename of the folder meanwhile carried the links
// along, so the directory to sync is then the one the folder has now.
func (mb *mailbox) fsyncSub(dir, sub string) error {
	err := mb.s.fsyncDir(filepath.Join(dir, sub))
	if errors.Is(err, os.ErrNotExist) {
		mb.mu.Lock()
		now, deleted := mb.dir, mb.deleted
		mb.mu.Unlock()
		if now != dir && !deleted {
			err = mb.s.fsyncDir(filepath.Join(now, sub))
		}
	}
	return err
}

// durable wakes the callers of a batch that is durable (deliveries
// answer now). Our own links changed the directories; if nothing else
// had changed them since they were read, what the state holds is still
// all.
func (mb *mailbox) durable(b *batch) {
	mb.mu.Lock()
	if mb.loaded {
		if b.usedNew && b.preNew == mb.newID {
			mb.newID = statID(filepath.Join(b.dir, "new"))
		}
		if b.usedCur && b.preCur == mb.curID {
			mb.curID = statID(filepath.Join(b.dir, "cur"))
		}
	}
	mb.mu.Unlock()
	for _, p := range b.live {
		close(p.durable)
	}
}

// forgetList makes the next batch read the list again.
func (mb *mailbox) forgetList() {
	mb.mu.Lock()
	mb.ulLoaded = false
	mb.mu.Unlock()
}

// abandon fails ps with err: whatever was placed is removed, and their
// callers are woken.
func (mb *mailbox) abandon(ps []*pending, err error) {
	mb.mu.Lock()
	for _, p := range ps {
		delete(mb.inflight, p.rec.base)
	}
	mb.mu.Unlock()
	for _, p := range ps {
		if p.err == nil {
			p.err = err
		}
		mb.unplace(p)
		close(p.durable)
		close(p.done)
	}
}

// completeBatch publishes listed messages (in commit order) and wakes
// their callers; a moved file loses its old name now.
func (mb *mailbox) completeBatch(ps []*pending) {
	mb.mu.Lock()
	// Only now may a scan see these files: until they are listed and
	// published (after every earlier batch), a scan finding one would
	// publish it early and out of UID order.
	for _, p := range ps {
		delete(mb.inflight, p.rec.base)
	}
	if mb.loaded {
		var evs []Event
		for _, p := range ps {
			if p.err != nil || p.unlisted || mb.byBase[p.rec.base] != nil {
				continue
			}
			mb.byBase[p.rec.base] = p.rec
			mb.byUID[p.rec.uid] = p.rec
			if n := len(mb.msgs); n > 0 && mb.msgs[n-1].uid > p.rec.uid {
				mb.msgs = append(mb.msgs, p.rec)
				sort.Slice(mb.msgs, func(i, j int) bool { return mb.msgs[i].uid < mb.msgs[j].uid })
			} else {
				mb.msgs = append(mb.msgs, p.rec)
			}
			evs = append(evs, Event{Kind: EventNew, UID: p.rec.uid, Flags: mb.flagsOf(p.rec), Size: p.rec.vsize, InternalDate: p.rec.mtime})
		}
		mb.publishLocked(evs)
		mb.countPublishedLocked(evs) // quota.go
		mb.uncached += len(evs)
		mb.maybeSaveIndexLocked()
	} else {
		mb.notifyUnloadedLocked(ps) // store-wide arrivals (notify.go)
	}
	mb.mu.Unlock()
	for _, p := range ps {
		if p.err == nil {
			mb.placed(p)
		}
		close(p.done)
	}
}
