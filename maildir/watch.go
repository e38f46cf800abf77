package maildir

import (
	"context"
	"slices"
	"sync"
)

// Watchers: how a folder's changes reach the sessions that show it.
//
// The folder's state (mailbox) is the only copy of its UIDs, flags,
// keywords and \Recent mark in the process. A protocol session that shows
// a folder (an IMAP selection, an IMMP or HTTP wait) registers a Watcher
// and reads that state directly; the Watcher only queues what changed
// since, so the session can tell its client in the protocol's own terms
// (EXISTS, EXPUNGE, FETCH FLAGS, FLAGS).
//
// Changes are queued synchronously, under the folder's lock, in the same
// critical section that applies them to the state: a change is in every
// watcher's queue before the call that made it returns, and in the order
// the changes were made. There is no event goroutine and nothing to
// resynchronise. Queueing never blocks (the queue is a slice; Ready is a
// one-slot channel), so a slow session cannot stall the folder; a queue
// that grows long is compacted to the same net effect (watchcap.go).

// Watcher is one session's view onto a folder's changes.
type Watcher struct {
	mb    *mailbox
	claim bool // read-write: takes \Recent for new messages (RFC 3501 2.3.2)

	// mu is a leaf lock: taken under mailbox.mu by the publisher, and
	// alone by the session.
	mu      sync.Mutex
	queue   []Event
	deleted bool
	ready   chan struct{}
	// told is the highest UID the session may have been told of: the
	// snapshot's last, then the highest EventNew taken by Changes. A
	// queued message above it is unknown to the session (watchcap.go).
	told uint32
	// compactAt is the queue length that triggers compaction
	// (watchcap.go).
	compactAt int
}

// Snapshot is a folder's state at the moment a Watcher was registered;
// every later change comes through the Watcher.
type Snapshot struct {
	UIDValidity uint32
	UIDNext     uint32
	Messages    []Message // sorted by UID
	Recent      []uint32  // UIDs that are \Recent in this session, ascending
	Keywords    []string  // every keyword the folder defines (dovecot-keywords)
	// HighestModSeq: the folder's at that moment (RFC 7162 3.1.2.1).
	HighestModSeq uint64
}

// Watch brings the folder up to date (every delivery acknowledged before
// the call is in it) and registers a Watcher, returning the state it
// starts from. claimRecent (SELECT, not EXAMINE) makes the messages
// nobody has seen yet \Recent in this watcher alone, and every message
// that arrives while it is the oldest claiming watcher (RFC 3501 2.3.2).
func (f *Folder) Watch(ctx context.Context, claimRecent bool) (*Watcher, Snapshot, error) {
	mb := f.mb
	if err := mb.refresh(ctx); err != nil {
		return nil, Snapshot{}, err
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.deleted {
		return nil, Snapshot{}, mb.errDeleted()
	}
	mb.initRecentLocked()
	w := &Watcher{mb: mb, claim: claimRecent, ready: make(chan struct{}, 1), compactAt: minCompactAt}
	snap := Snapshot{UIDValidity: mb.uidValidity, UIDNext: mb.visibleNextUIDLocked(), Keywords: mb.keywordNamesLocked(), HighestModSeq: mb.highestModseq}
	snap.Messages = make([]Message, len(mb.msgs))
	for i, m := range mb.msgs {
		snap.Messages[i] = mb.messageOf(m)
		if m.uid > mb.recentMax {
			snap.Recent = append(snap.Recent, m.uid)
		}
	}
	if len(mb.msgs) > 0 {
		w.told = mb.msgs[len(mb.msgs)-1].uid
	}
	if claimRecent && len(mb.msgs) > 0 {
		mb.recentMax = max(mb.recentMax, mb.msgs[len(mb.msgs)-1].uid)
	}
	mb.watchers = append(mb.watchers, w)
	return w, snap, nil
}

// Sync brings the folder's state up to date with the disk and with every
// delivery acknowledged before the call, so that what changed is in the
// queue when it returns (read-your-writes).
func (w *Watcher) Sync(ctx context.Context) error {
	err := w.mb.refresh(ctx)
	if err != nil && w.Deleted() {
		return nil // the deletion is in the queue
	}
	return err
}

// Changes takes what is queued, oldest first.
func (w *Watcher) Changes() []Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	w.queue = nil
	for _, ev := range q {
		if ev.Kind == EventNew {
			w.told = max(w.told, ev.UID)
		}
	}
	return q
}

// Ready has a value when changes were queued since the last Changes (for
// IDLE); it may also fire with nothing queued.
func (w *Watcher) Ready() <-chan struct{} { return w.ready }

// Deleted says the folder was deleted (an EventFolderDeleted is queued).
func (w *Watcher) Deleted() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.deleted
}

// Close unregisters the watcher.
func (w *Watcher) Close() {
	mb := w.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if i := slices.Index(mb.watchers, w); i >= 0 {
		mb.watchers = slices.Delete(mb.watchers, i, i+1)
	}
}

// Folder returns a handle onto the watched folder (it follows renames).
func (w *Watcher) Folder() *Folder { return &Folder{s: w.mb.s, mb: w.mb} }

// StoreFlags is Folder.StoreFlags made by this watcher's session: the
// session answers for the messages itself (RFC 9051 6.4.6), so their flag
// changes are not queued back to it; other watchers get them as usual.
func (w *Watcher) StoreFlags(ctx context.Context, uids []uint32, op FlagOp, flags []string) ([]Message, error) {
	return w.mb.storeFlags(ctx, uids, op, flags, w, nil)
}

func (w *Watcher) push(evs []Event) {
	w.mu.Lock()
	w.queue = append(w.queue, evs...)
	if len(w.queue) >= w.compactAt {
		w.compactLocked() // watchcap.go
	}
	for _, ev := range evs {
		if ev.Kind == EventFolderDeleted {
			w.deleted = true
		}
	}
	w.mu.Unlock()
	select {
	case w.ready <- struct{}{}:
	default:
	}
}

// publishLocked (mu held) applies the fan-out: every watcher gets evs,
// except flag changes made by source (nil: none). A new message becomes
// \Recent in the oldest claiming watcher; with none it stays unclaimed
// for the next SELECT. A change of the folder's keywords is announced
// first, so a session can send FLAGS before the FETCH that uses one.
func (mb *mailbox) publishFromLocked(evs []Event, source *Watcher) {
	for i := range evs {
		evs[i].Account = mb.acct.ID
		evs[i].Folder = mb.name
	}
	mb.stampLocked(evs)
	mb.notifyArrivalsLocked(evs) // store-wide subscriptions (notify.go)
	if mb.kwGen != mb.kwPublished && mb.kw != nil {
		mb.kwPublished = mb.kwGen
		kws := mb.keywordNamesLocked()
		evs = append([]Event{{Kind: EventKeywords, Account: mb.acct.ID, Folder: mb.name, Keywords: kws}}, evs...)
	}
	if len(evs) == 0 || len(mb.watchers) == 0 {
		return
	}
	var claimer *Watcher
	for _, w := range mb.watchers {
		if w.claim {
			claimer = w
			break
		}
	}
	mb.initRecentLocked()
	var mine []Event // claimer's copy, with Recent marks
	for i, ev := range evs {
		if ev.Kind == EventNew && claimer != nil && ev.UID > mb.recentMax {
			if mine == nil {
				mine = slices.Clone(evs)
			}
			mine[i].Recent = true
			mb.recentMax = ev.UID
		}
	}
	for _, w := range mb.watchers {
		out := evs
		if w == claimer && mine != nil {
			out = mine
		}
		if source == w {
			out = slices.DeleteFunc(slices.Clone(out), func(ev Event) bool { return ev.Kind == EventFlags })
		}
		if len(out) > 0 {
			w.push(out)
		}
	}
}

func (mb *mailbox) publishLocked(evs []Event) { mb.publishFromLocked(evs, nil) }

// initRecentLocked sets the \Recent floor the first time the folder's
// state is used: messages already there when the store was opened are
// not recent (nobody in this process could have seen them); ones that
// arrived since are, until a SELECT claims them.
func (mb *mailbox) initRecentLocked() {
	if mb.recentInit || !mb.loaded {
		return
	}
	mb.recentInit = true
	for _, m := range mb.msgs {
		if m.mtime.Before(mb.s.opened) {
			mb.recentMax = max(mb.recentMax, m.uid)
		}
	}
}

// recentLocked counts the messages no session has claimed as \Recent.
func (mb *mailbox) recentLocked() uint32 {
	mb.initRecentLocked()
	i, _ := slices.BinarySearchFunc(mb.msgs, mb.recentMax+1, func(m *msgRec, u uint32) int { return int(int64(m.uid) - int64(u)) })
	return uint32(len(mb.msgs) - i)
}

// visibleNextUIDLocked is UIDNEXT as a client may be told it: below the
// UID of any message numbered but not yet published (a batch still
// syncing), so that no message appears later under a UID below a
// UIDNEXT already announced (RFC 9051 2.3.1.1).
func (mb *mailbox) visibleNextUIDLocked() uint32 {
	next := mb.nextUID
	for base := range mb.inflight {
		if r, ok := mb.ulRecs[base]; ok && r.uid < next {
			next = r.uid
		}
	}
	return next
}

// keywordNamesLocked lists the folder's keywords in letter order.
func (mb *mailbox) keywordNamesLocked() []string {
	var out []string
	if mb.kw == nil {
		return out
	}
	for _, n := range mb.kw.names {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// dropWatchersLocked (mu held) tells every watcher the folder is gone.
func (mb *mailbox) dropWatchersLocked() {
	mb.publishLocked([]Event{{Kind: EventFolderDeleted}})
	mb.watchers = nil
}
