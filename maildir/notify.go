package maildir

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Store-wide arrival notification: how a session that waits for mail to
// any folder of any account (the HTTP API's wait and event stream) hears
// of new messages without polling.
//
// A Watcher (watch.go) follows one folder; an Arrivals subscription
// follows every folder of the store, but only for new messages, and holds
// no folder state of its own: an Arrival names the message (account,
// folder, UIDVALIDITY, UID) and carries the Message record as the
// folder's state had it when it was published, so the subscriber reads
// anything more (flags now, the body) from the folder itself.
//
// Arrivals are queued from publishFromLocked, in the same critical section
// that queues EventNew to the folder's watchers, so an arrival is queued
// exactly when IMAP sessions hear of it and never before the message can
// be read; a batch committed to a folder whose state nobody has loaded
// (no events are made there) is announced from completeBatch, once it is
// listed, so the first reader loads it. The queue lock (Store.subMu) is a leaf: taken under the
// folder's lock, and alone by the subscriber. Queueing never blocks; a
// subscriber that lets more than MaxQueuedArrivals pile up loses the
// excess and is told so (Take's lost count), so a stalled reader costs
// bounded memory.

// MaxQueuedArrivals bounds one subscription's queue.
const MaxQueuedArrivals = 10000

// Arrival is one new message in some folder of the store; for a
// subscription made with SubscribeChanges, also one message expunged
// (Kind EventExpunge, Message.UID) or whose flags changed (EventFlags,
// Message.UID and Flags).
//
// A SubscribeChanges subscription also hears of the folder tree: Kind
// EventFolderCreated, EventFolderRenamed (NewName set) or
// EventFolderDeleted, Folder naming the folder, for every change by any
// protocol, so a live view of the tree needs no polling.
type Arrival struct {
	Kind        EventKind // EventNew (the zero value), EventExpunge, EventFlags or a folder event
	Account     Account
	Folder      string // absolute name when it arrived
	NewName     string // EventFolderRenamed: the folder's name now
	UIDValidity uint32
	Message     Message
}

// Arrivals is one subscription to every new message of the store.
type Arrivals struct {
	s       *Store
	changes bool      // expunges and flag changes too (SubscribeChanges)
	queue   []Arrival // guarded by s.subMu
	lost    int       // guarded by s.subMu
	ready   chan struct{}
}

// arrivalSubs is the Store's table of Arrivals (Store.subs).
type arrivalSubs struct {
	mu   sync.Mutex // leaf
	subs map[*Arrivals]struct{}
	max  int // queue bound; 0: MaxQueuedArrivals (tests lower it)
	// n counts the subscriptions, read without the lock by committers:
	// while someone waits for arrivals, the fsync of a folder's list
	// does not linger (commit.go), since the wait is for exactly that.
	n atomic.Int32
}

// waiting says whether any subscription is open.
func (subs *arrivalSubs) waiting() bool { return subs.n.Load() > 0 }

// SubscribeArrivals registers a subscription: every message published
// after it returns is queued to it. Close it when done.
func (s *Store) SubscribeArrivals() *Arrivals { return s.subscribe(false) }

// SubscribeChanges is SubscribeArrivals that also gets every expunge and
// flag change of the store, in the order each folder made them (a live
// view of all mail, such as the web UI's list).
func (s *Store) SubscribeChanges() *Arrivals { return s.subscribe(true) }

func (s *Store) subscribe(changes bool) *Arrivals {
	a := &Arrivals{s: s, changes: changes, ready: make(chan struct{}, 1)}
	s.subs.mu.Lock()
	if s.subs.subs == nil {
		s.subs.subs = make(map[*Arrivals]struct{})
	}
	s.subs.subs[a] = struct{}{}
	s.subs.n.Store(int32(len(s.subs.subs)))
	s.subs.mu.Unlock()
	return a
}

// Ready has a value when arrivals were queued since the last Take; it
// may also fire with nothing queued.
func (a *Arrivals) Ready() <-chan struct{} { return a.ready }

// Take returns what is queued, oldest first, and how many arrivals were
// dropped since the last Take because the queue was full.
func (a *Arrivals) Take() (arrivals []Arrival, lost int) {
	a.s.subs.mu.Lock()
	defer a.s.subs.mu.Unlock()
	arrivals, lost = a.queue, a.lost
	a.queue, a.lost = nil, 0
	return arrivals, lost
}

// Close unregisters the subscription.
func (a *Arrivals) Close() {
	a.s.subs.mu.Lock()
	delete(a.s.subs.subs, a)
	a.s.subs.n.Store(int32(len(a.s.subs.subs)))
	a.s.subs.mu.Unlock()
}

// notifyArrivalsLocked (mb.mu held) queues every EventNew of evs to every
// subscription, and every EventExpunge and EventFlags to those that asked
// for changes.
func (mb *mailbox) notifyArrivalsLocked(evs []Event) {
	if !mb.s.subs.waiting() {
		return
	}
	var ars []Arrival
	for _, ev := range evs {
		switch ev.Kind {
		case EventNew, EventExpunge, EventFlags:
			ars = append(ars, Arrival{Kind: ev.Kind, Account: mb.acct, Folder: mb.name, UIDValidity: mb.uidValidity,
				Message: Message{UID: ev.UID, Flags: ev.Flags, Size: ev.Size, InternalDate: ev.InternalDate, ModSeq: ev.ModSeq}})
		}
	}
	mb.s.subs.queue(ars)
}

// notifyUnloadedLocked (mb.mu held) announces a batch completed in a
// folder whose state nobody has loaded yet: it publishes no events (there
// is no watcher and no state to apply them to), but the messages are
// listed and durable, so the first reader loads them.
func (mb *mailbox) notifyUnloadedLocked(ps []*pending) {
	var ars []Arrival
	for _, p := range ps {
		if p.err == nil && !p.unlisted {
			ars = append(ars, Arrival{Account: mb.acct, Folder: mb.name, UIDValidity: mb.uidValidity,
				Message: Message{UID: p.rec.uid, Flags: mb.flagsOf(p.rec), Size: p.rec.vsize, InternalDate: p.rec.mtime}})
		}
	}
	mb.s.subs.queue(ars)
}

// notifyFolder queues a change of acct's folder tree (kind
// EventFolderCreated, EventFolderRenamed or EventFolderDeleted) to the
// subscriptions that asked for changes. Called with the account's tree
// lock held, after the change is on disk, so the event is never ahead of
// what Folders lists and two changes are queued in the order they were made.
func (s *Store) notifyFolder(acct Account, kind EventKind, folder, newName string) {
	if !s.subs.waiting() {
		return
	}
	s.subs.queue([]Arrival{{Kind: kind, Account: acct, Folder: folder, NewName: newName}})
}

// queue hands ars to every subscription.
func (subs *arrivalSubs) queue(ars []Arrival) {
	if len(ars) == 0 {
		return
	}
	subs.mu.Lock()
	defer subs.mu.Unlock()
	if len(subs.subs) == 0 {
		return
	}
	limit := subs.max
	if limit <= 0 {
		limit = MaxQueuedArrivals
	}
	var arrived []Arrival // the new messages alone, for SubscribeArrivals
	for a := range subs.subs {
		mine := ars
		if !a.changes {
			if arrived == nil {
				arrived = slices.DeleteFunc(slices.Clone(ars), func(ar Arrival) bool { return ar.Kind != EventNew })
			}
			mine = arrived
		}
		if len(mine) == 0 {
			continue
		}
		n := min(len(mine), max(limit-len(a.queue), 0))
		a.queue = append(a.queue, mine[:n]...)
		a.lost += len(mine) - n
		select {
		case a.ready <- struct{}{}:
		default:
		}
	}
}
