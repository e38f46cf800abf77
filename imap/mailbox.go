package imap

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"immp/maildir"
)

// barrierTimeout bounds how long a session waits for the mailbox layer's
// event about its own change before it resynchronises from the index.
const barrierTimeout = 2 * time.Second

type mboxKey struct {
	acct int64
	name string
}

// msgMeta is what a session needs of one message without reading it.
type msgMeta struct {
	uid   uint32
	flags []string
	size  int64
	date  time.Time
	known bool // size and date filled (EventNew carries them; fillMeta covers the rest)
}

// registry holds the shared state of every folder open in this process:
// one mailbox (and one MailboxTracker) per folder, as imapserver requires.
type registry struct {
	store   *maildir.Store
	log     *slog.Logger
	started time.Time
	linger  time.Duration // how long a folder's state outlives its last session

	mu     sync.Mutex
	open   map[mboxKey]*mailbox
	recent map[mboxKey]uint32 // highest UID handed out as \Recent, for closed folders
}

func newRegistry(store *maildir.Store, log *slog.Logger, started time.Time, linger time.Duration) *registry {
	return &registry{store: store, log: log, started: started, linger: linger,
		open: make(map[mboxKey]*mailbox), recent: make(map[mboxKey]uint32)}
}

// mailbox is the process-wide state of one open folder.
type mailbox struct {
	reg    *registry
	key    mboxKey
	acct   maildir.Account
	folder *maildir.Folder
	ready  chan struct{}
	err    error // load failure, set before ready closes

	mu          sync.Mutex
	cond        *sync.Cond
	msgs        []msgMeta // ascending UID: index i is server sequence number i+1
	maxUID      uint32    // highest UID ever seen here (expunged ones included)
	uidValidity uint32
	uidNext     uint32
	tracker     *imapserver.MailboxTracker
	views       []*view // selected sessions, oldest first
	refs        int
	cancel      func()
	loading     bool
	pending     []maildir.Event
	gone        bool // deleted or renamed
	recentMax   uint32
	silent      map[uint32]*imapserver.SessionTracker // STORE .SILENT in progress
	unknown     int                                   // msgs without size/date

	// Guarded by registry.mu: the state lingers after its last session,
	// still fed by events, so the next SELECT reads nothing.
	lingerTimer *time.Timer
	lingerGen   uint64
}

// acquire returns the shared state of folder name, loading it on first use.
// The caller must release it.
func (r *registry) acquire(ctx context.Context, acct maildir.Account, name string) (*mailbox, error) {
	f, err := r.store.OpenFolder(ctx, acct, name)
	if err != nil {
		return nil, err
	}
	key := mboxKey{acct.ID, f.Name()}
	r.mu.Lock()
	if mb, ok := r.open[key]; ok {
		mb.refs++
		if mb.lingerTimer != nil {
			mb.lingerTimer.Stop()
			mb.lingerTimer = nil
		}
		r.mu.Unlock()
		select {
		case <-mb.ready:
		case <-ctx.Done():
			r.release(mb)
			return nil, ctx.Err()
		}
		if mb.err != nil {
			r.release(mb)
			return nil, mb.err
		}
		return mb, nil
	}
	mb := &mailbox{reg: r, key: key, acct: acct, folder: f, ready: make(chan struct{}),
		refs: 1, loading: true, silent: make(map[uint32]*imapserver.SessionTracker)}
	mb.cond = sync.NewCond(&mb.mu)
	floor, seen := r.recent[key]
	r.open[key] = mb
	r.mu.Unlock()

	mb.err = mb.load(ctx, floor, seen)
	close(mb.ready)
	if mb.err != nil {
		r.release(mb)
		return nil, mb.err
	}
	return mb, nil
}

// load subscribes first and reads the index second, so that no change falls
// between the two; events that the snapshot already contains are ignored
// on replay because they are applied idempotently by UID.
func (mb *mailbox) load(ctx context.Context, floor uint32, floorKnown bool) error {
	mb.cancel = mb.reg.store.Subscribe(mb.acct, mb.key.name, mb.onEvent)
	st, err := mb.folder.Status(ctx)
	if err != nil {
		return err
	}
	list, err := mb.folder.Messages(ctx)
	if err != nil {
		return err
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	mb.uidValidity, mb.uidNext = st.UIDValidity, st.UIDNext
	sortMessages(list)
	mb.msgs = make([]msgMeta, len(list))
	for i, m := range list {
		mb.msgs[i] = msgMeta{uid: m.UID, flags: m.Flags, size: m.Size, date: m.InternalDate, known: true}
		mb.maxUID = max(mb.maxUID, m.UID)
	}
	if floorKnown {
		mb.recentMax = floor
	} else {
		// First open in this process: messages that arrived before the
		// server started are not recent (doc.go).
		for _, m := range mb.msgs {
			if m.date.Before(mb.reg.started) {
				mb.recentMax = max(mb.recentMax, m.uid)
			}
		}
	}
	mb.tracker = imapserver.NewMailboxTracker(uint32(len(mb.msgs)))
	mb.loading = false
	for _, ev := range mb.pending {
		mb.applyLocked(ev)
	}
	mb.pending = nil
	return nil
}

// release drops one reference. After the last one the state lingers for
// registry.linger, then unsubscribes.
func (r *registry) release(mb *mailbox) {
	r.mu.Lock()
	mb.refs--
	if mb.refs > 0 {
		r.mu.Unlock()
		return
	}
	if r.linger > 0 && mb.err == nil && r.open[mb.key] == mb && !mb.isGone() {
		mb.lingerGen++
		gen := mb.lingerGen
		mb.lingerTimer = time.AfterFunc(r.linger, func() { r.expire(mb, gen) })
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	r.drop(mb)
}

// expire ends a lingering state unless a session took it up again.
func (r *registry) expire(mb *mailbox, gen uint64) {
	r.mu.Lock()
	if mb.refs > 0 || mb.lingerGen != gen || mb.lingerTimer == nil {
		r.mu.Unlock()
		return
	}
	mb.lingerTimer = nil
	r.mu.Unlock()
	r.drop(mb)
}

// drop unregisters an unused state, keeps its \Recent mark and
// unsubscribes.
func (r *registry) drop(mb *mailbox) {
	r.mu.Lock()
	if r.open[mb.key] == mb && mb.refs == 0 {
		delete(r.open, mb.key)
	}
	if mb.err == nil && mb.folder != nil {
		mb.mu.Lock()
		if !mb.gone && mb.key.name == mb.folder.Name() {
			r.recent[mb.key] = mb.recentMax
		}
		mb.mu.Unlock()
	}
	r.mu.Unlock()
	if mb.cancel != nil {
		mb.cancel()
	}
}

// lookup returns an open folder's state without opening it (nil if closed).
func (r *registry) lookup(acct int64, name string) *mailbox {
	r.mu.Lock()
	defer r.mu.Unlock()
	mb := r.open[mboxKey{acct, name}]
	if mb != nil {
		select {
		case <-mb.ready:
			if mb.err != nil {
				return nil
			}
		default:
			return nil
		}
	}
	return mb
}

func (r *registry) closeAll() {
	r.mu.Lock()
	var cancels []func()
	for k, mb := range r.open {
		if mb.lingerTimer != nil {
			mb.lingerTimer.Stop()
			mb.lingerTimer = nil
		}
		if mb.cancel != nil {
			cancels = append(cancels, mb.cancel)
		}
		delete(r.open, k)
	}
	r.mu.Unlock()
	for _, c := range cancels {
		c()
	}
}

// forget drops the registry's knowledge of a folder that was renamed or
// deleted.
func (r *registry) forget(key mboxKey) {
	r.mu.Lock()
	delete(r.open, key)
	delete(r.recent, key)
	r.mu.Unlock()
}

// onEvent is the mailbox layer's callback. It never calls back into the
// store, so it cannot deadlock with a store call in progress.
func (mb *mailbox) onEvent(ev maildir.Event) {
	mb.mu.Lock()
	if mb.loading {
		mb.pending = append(mb.pending, ev)
		mb.mu.Unlock()
		return
	}
	forget := mb.applyLocked(ev)
	mb.mu.Unlock()
	if forget {
		mb.reg.forget(mb.key)
	}
}

// applyLocked applies one event; it is idempotent by UID. forget says the
// folder no longer lives under this state's name.
func (mb *mailbox) applyLocked(ev maildir.Event) (forget bool) {
	defer mb.cond.Broadcast()
	switch ev.Kind {
	case maildir.EventNew:
		if ev.UID <= mb.maxUID {
			return false // already in the snapshot, or already expunged
		}
		mb.maxUID = ev.UID
		mb.uidNext = max(mb.uidNext, ev.UID+1)
		if ev.InternalDate.IsZero() {
			// An event made up without size and date: fillMeta reads them.
			mb.msgs = append(mb.msgs, msgMeta{uid: ev.UID, flags: ev.Flags})
			mb.unknown++
		} else {
			mb.msgs = append(mb.msgs, msgMeta{uid: ev.UID, flags: ev.Flags, size: ev.Size, date: ev.InternalDate, known: true})
		}
		mb.tracker.QueueNumMessages(uint32(len(mb.msgs)))
		// RFC 3501 2.3.2: recent in exactly one session, the first that
		// learns of it; here the oldest read-write selection.
		if ev.UID > mb.recentMax {
			for _, v := range mb.views {
				if !v.readOnly {
					v.recent[ev.UID] = struct{}{}
					v.recentChanged = true
					mb.recentMax = ev.UID
					break
				}
			}
		}
	case maildir.EventFlags:
		i, ok := mb.find(ev.UID)
		if !ok {
			return false
		}
		if slices.Equal(mb.msgs[i].flags, ev.Flags) {
			return false
		}
		mb.msgs[i].flags = ev.Flags
		mb.tracker.QueueMessageFlags(uint32(i+1), imap.UID(ev.UID), toFlags(ev.Flags), mb.silent[ev.UID])
	case maildir.EventExpunge:
		i, ok := mb.find(ev.UID)
		if !ok {
			return false
		}
		if !mb.msgs[i].known {
			mb.unknown--
		}
		mb.msgs = slices.Delete(mb.msgs, i, i+1)
		mb.tracker.QueueExpunge(uint32(i + 1))
	case maildir.EventFolderRenamed:
		// The folder handle and the subscription follow the rename, so
		// sessions that have it selected go on as before; new SELECTs of
		// the new name get a state of their own, fed by the same events.
		return true
	case maildir.EventFolderDeleted:
		mb.gone = true
		return true
	}
	return false
}

// find returns the index of uid in msgs.
func (mb *mailbox) find(uid uint32) (int, bool) {
	return slices.BinarySearchFunc(mb.msgs, uid, func(m msgMeta, u uint32) int {
		return int(int64(m.uid) - int64(u))
	})
}

// waitFor blocks until cond holds (checked under mb.mu) or the barrier
// times out; on timeout it resynchronises from the index, which also
// repairs the state if the event stream ever dropped something.
func (mb *mailbox) waitFor(ctx context.Context, cond func() bool) {
	deadline := time.Now().Add(barrierTimeout)
	timer := time.AfterFunc(barrierTimeout, func() {
		mb.mu.Lock()
		mb.cond.Broadcast()
		mb.mu.Unlock()
	})
	defer timer.Stop()
	mb.mu.Lock()
	for !cond() && !mb.gone {
		if time.Now().After(deadline) || ctx.Err() != nil {
			mb.mu.Unlock()
			mb.reg.log.Warn("imap: change event late, resynchronising", "folder", mb.key.name)
			mb.resync(ctx)
			return
		}
		mb.cond.Wait()
	}
	mb.mu.Unlock()
}

// resync diffs the index against the in-memory state and queues the
// difference as ordinary updates.
func (mb *mailbox) resync(ctx context.Context) {
	list, err := mb.folder.Messages(ctx)
	if err != nil {
		mb.reg.log.Warn("imap: resync failed", "folder", mb.key.name, "err", err)
		return
	}
	have := make(map[uint32]maildir.Message, len(list))
	for _, m := range list {
		have[m.UID] = m
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	for i := len(mb.msgs) - 1; i >= 0; i-- {
		m, ok := have[mb.msgs[i].uid]
		if !ok {
			mb.applyLocked(maildir.Event{Kind: maildir.EventExpunge, UID: mb.msgs[i].uid})
		} else if !slices.Equal(m.Flags, mb.msgs[i].flags) {
			mb.applyLocked(maildir.Event{Kind: maildir.EventFlags, UID: m.UID, Flags: m.Flags})
		}
	}
	for _, m := range list {
		if m.UID > mb.maxUID {
			mb.applyLocked(maildir.Event{Kind: maildir.EventNew, UID: m.UID, Flags: m.Flags, Size: m.Size, InternalDate: m.InternalDate})
		}
	}
	mb.fillLocked(list)
}

// fillMeta makes sure size and date are known for every message (an
// EventNew carries them, so this is rarely needed); it reads the index
// once for all unknown messages.
func (mb *mailbox) fillMeta(ctx context.Context) error {
	mb.mu.Lock()
	n := mb.unknown
	mb.mu.Unlock()
	if n == 0 {
		return nil
	}
	list, err := mb.folder.Messages(ctx)
	if err != nil {
		return err
	}
	mb.mu.Lock()
	mb.fillLocked(list)
	mb.mu.Unlock()
	return nil
}

func (mb *mailbox) fillLocked(list []maildir.Message) {
	if mb.unknown == 0 {
		return
	}
	sortMessages(list)
	j := 0
	for i := range mb.msgs {
		if mb.msgs[i].known {
			continue
		}
		for j < len(list) && list[j].UID < mb.msgs[i].uid {
			j++
		}
		if j < len(list) && list[j].UID == mb.msgs[i].uid {
			mb.msgs[i].size, mb.msgs[i].date, mb.msgs[i].known = list[j].Size, list[j].InternalDate, true
			mb.unknown--
		}
	}
}

func toFlags(fs []string) []imap.Flag {
	out := make([]imap.Flag, len(fs))
	for i, f := range fs {
		out[i] = imap.Flag(f)
	}
	return out
}

// sortMessages orders an index listing by UID (the layer should already).
func sortMessages(list []maildir.Message) {
	if !slices.IsSortedFunc(list, cmpMessage) {
		slices.SortFunc(list, cmpMessage)
	}
}

func cmpMessage(a, b maildir.Message) int { return int(int64(a.UID) - int64(b.UID)) }
