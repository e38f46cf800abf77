package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"
)

// Group commit. Every way a message enters a folder (delivery, APPEND,
// COPY, MOVE, a file another program dropped into new/) ends here, and
// the folder's state is only changed from here. Requests queue per folder;
// one goroutine per folder at a time takes everything queued, places the
// files (hard link, rename or copy), gives them UIDs and appends them to
// dovecot-uidlist, then fsyncs new/ and cur/ once for all of them, then
// dovecot-uidlist once, publishes EventNew, and wakes the callers. One
// fsync of a directory thus covers every link made before it started;
// folders do not wait for each other; nothing global is held across an
// fsync.
//
// Two moments matter to callers. A message is durable once its file and
// its name in new/ or cur/ are (the directory fsync); a delivery needs no
// more before it answers 250 (durableOnly). Its UID is listed once the
// fsync of dovecot-uidlist returned; only then is it published, so no
// client ever sees a UID that a crash could give to another message, and
// APPEND, COPY and MOVE, which return UIDs, wait for that. A crash in
// between loses nothing: the file is in place and gets a UID at the next
// look, like a file another program dropped in. Since deliveries do not
// wait for the list, its fsync lingers (listLinger) to cover many batches;
// a reader (refresh, settle) cuts the linger short, so what was
// acknowledged is what the next reader sees.

type pending struct {
	rec         *msgRec // base, info, inNew, sizes, mtime in; uid out
	existing    bool    // the file is already in place; it only needs a UID
	src         string  // file to place
	follow      bool    // src is a /proc/self/fd name (spool.go)
	rename      bool    // rename src instead of linking it
	copyOK      bool    // copy when a hard link is impossible
	durableOnly bool    // the caller waits for durable, not for listed (a delivery)
	announced   bool    // counted in the folder's arriving until its batch starts
	placed      string  // where it was placed (for undo)
	err         error   // final when durable is closed
	unlisted    bool    // durable, but the list's fsync failed: not published
	durable     chan struct{}
	done        chan struct{} // listed and published (or failed)
}

// dirLinger bounds how long a batch's fsync of new/ waits for deliveries
// to the same folder that are still syncing their files (arriving), so
// that one fsync covers them too. With nothing arriving (one sender, an
// idle server) it does not wait at all; the last to arrive starts it.
const dirLinger = 2 * time.Millisecond

// listLinger is how long the fsync of dovecot-uidlist waits for company
// when only deliveries wait for it. It delays nothing a client sees: a
// reader kicks the sync, and IDLE hears of new mail this much later.
const listLinger = 10 * time.Millisecond

// commit places and numbers ps, waiting until they are listed, or only
// until they are durable for those marked durableOnly.
func (mb *mailbox) commit(ctx context.Context, ps []*pending) error {
	for _, p := range ps {
		p.durable = make(chan struct{})
		p.done = make(chan struct{})
	}
	mb.qmu.Lock()
	mb.queue = append(mb.queue, ps...)
	lead := !mb.leading
	mb.leading = true
	mb.qmu.Unlock()
	if lead {
		mb.leadOnce()
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

// settle waits until every batch started in this folder is listed and
// published, cutting short a lingering fsync of the list: a reader calls
// it so that a message acknowledged as durable is one it sees, and so do
// renames and deletions (with ulMu held, so no batch starts meanwhile),
// so that what was delivered is announced before the folder moves or
// goes. It takes no lock: refresh calls it on every read.
func (mb *mailbox) settle() {
	p := mb.tail.Load()
	if p == nil {
		return
	}
	tail := *p
	select {
	case <-tail:
		return
	default:
	}
	// A batch still syncing its directories opens its list round after
	// this kick, maybe lazily: kick again until the tail is done.
	t := time.NewTimer(time.Millisecond)
	defer t.Stop()
	for {
		mb.syncUIDList.Kick()
		select {
		case <-tail:
			return
		case <-t.C:
			t.Reset(time.Millisecond)
		}
	}
}

// assign gives UIDs to files found in place (refresh).
func (mb *mailbox) assign(ctx context.Context, ps []*pending) error {
	return mb.commit(ctx, ps)
}

// maxInflight bounds the batches whose directory fsyncs run (or linger)
// at once (pipelining: the next batch is linked and numbered while the
// previous one syncs). Batches waiting only for the list are not counted.
const maxInflight = 4

// leadOnce runs what is queued in the caller's goroutine (no goroutine
// to start and wake when the folder is quiet), then hands the lead to a
// goroutine if more came meanwhile: a caller never leads for long, or
// its own answer would wait for everyone else's batches.
func (mb *mailbox) leadOnce() {
	mb.qmu.Lock()
	batch := mb.queue
	mb.queue = nil
	mb.qmu.Unlock()
	if len(batch) > 0 {
		mb.runBatch(batch)
	}
	mb.qmu.Lock()
	if len(mb.queue) == 0 {
		mb.leading = false
		mb.qmu.Unlock()
		return
	}
	mb.qmu.Unlock()
	go mb.lead()
}

func (mb *mailbox) lead() {
	for {
		mb.qmu.Lock()
		batch := mb.queue
		mb.queue = nil
		if len(batch) == 0 {
			mb.leading = false
			mb.qmu.Unlock()
			return
		}
		mb.qmu.Unlock()
		mb.runBatch(batch)
	}
}

// runBatch does the first half of a batch in order (place, number, append
// to the list) and leaves the second half (fsync, publish, wake the
// callers) to a goroutine, so the next batch can start while this one's
// fsyncs run. Batches complete in order.
func (mb *mailbox) runBatch(batch []*pending) {
	ctx := context.Background()
	s := mb.s
	for _, p := range batch {
		if p.announced {
			mb.arriving.Add(-1)
		}
	}
	mb.ulMu.Lock()
	defer mb.ulMu.Unlock()
	if mb.inflightSem == nil {
		mb.inflightSem = make(chan struct{}, maxInflight)
	}
	var prev chan struct{}
	if p := mb.tail.Load(); p != nil {
		prev = *p
	}
	done := make(chan struct{})
	mb.tail.Store(&done)
	// finish runs the second half in a goroutine: durable (the fsyncs of
	// the directories; false when they failed), then listed (the fsync
	// of the list), then, in batch order, publication.
	finish := func(durable func() bool, listed func()) {
		mb.inflightSem <- struct{}{}
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			ok := durable()
			<-mb.inflightSem
			for _, p := range batch {
				close(p.durable)
			}
			if ok {
				listed()
			}
			if prev != nil {
				<-prev
			}
			mb.completeBatch(batch)
			close(done)
		}()
	}
	failed := func() bool { return false }
	nothing := func() {}

	mb.mu.Lock()
	dir, name, deleted := mb.dir, mb.name, mb.deleted
	mb.mu.Unlock()
	if deleted {
		for _, p := range batch {
			p.err = notPlaced{fmt.Errorf("%w: folder was deleted", ErrNonexistent)}
		}
		finish(failed, nothing)
		return
	}
	preNew := statID(filepath.Join(dir, "new"))
	preCur := statID(filepath.Join(dir, "cur"))

	// 1. Place the files.
	var usedNew, usedCur bool
	for _, p := range batch {
		if p.existing {
			continue
		}
		if err := mb.place(dir, name, p); err != nil {
			p.err = err
			continue
		}
		if p.rec.inNew {
			usedNew = true
		} else {
			usedCur = true
		}
	}
	var live []*pending
	for _, p := range batch {
		if p.err == nil {
			live = append(live, p)
		}
	}
	fail := func(err error) {
		for _, p := range live {
			if p.err == nil {
				p.err = err
				if p.placed != "" {
					mb.unplace(p)
				}
			}
		}
	}
	if len(live) == 0 {
		finish(failed, nothing)
		return
	}
	// 2. UIDs, under Dovecot's dot lock: numbered and appended (not yet
	// synced) here, in order.
	lock, err := s.dotlock(ctx, filepath.Join(dir, uidlistName))
	if err != nil {
		fail(err)
		finish(failed, nothing)
		return
	}
	mb.mu.Lock()
	if err := mb.loadUIDListLocked(ctx, true); err != nil {
		mb.mu.Unlock()
		lock.release()
		fail(err)
		finish(failed, nothing)
		return
	}
	next := mb.nextUID
	var recs []ulRec
	for _, p := range live {
		if r, ok := mb.ulRecs[p.rec.base]; ok { // numbered meanwhile (another process)
			p.rec.uid = r.uid
			continue
		}
		p.rec.uid = next
		recs = append(recs, ulRec{uid: next, base: p.rec.base})
		next++
	}
	ulID, ulTorn := mb.ulID, mb.ulTorn
	mb.mu.Unlock()
	ulFile, newID, err := mb.appendUIDList(dir, ulID, !ulTorn, recs)
	if err != nil {
		lock.release()
		mb.mu.Lock()
		mb.ulLoaded = false // re-read before the next use
		mb.mu.Unlock()
		fail(err)
		finish(failed, nothing)
		return
	}
	mb.mu.Lock()
	if len(recs) > 0 {
		mb.nextUID = next
		for _, r := range recs {
			mb.ulRecs[r.base] = r
		}
		mb.ulID = newID
		mb.ulTorn = false
	}
	if mb.inflight == nil {
		mb.inflight = make(map[string]bool)
	}
	for _, p := range live {
		mb.inflight[p.rec.base] = true
	}
	mb.mu.Unlock()
	lock.release()

	// 3. One fsync per directory for the whole batch, then one of
	// dovecot-uidlist; batches that overlap share them (syncgroup.go).
	// When a caller needs its UID (not just a delivery), the list is
	// synced alongside the directories and at once. A record in the list
	// whose link did not survive a crash is harmless (a name with no
	// file).
	eager := false
	for _, p := range live {
		eager = eager || !p.durableOnly
	}
	syncList := func(linger time.Duration) error {
		if s.opts.NoSync {
			return nil
		}
		return mb.syncUIDList.SyncLazy(func() error {
			if e := ulFile.datasync(); e != nil {
				return fmt.Errorf("maildir: sync uidlist: %w", e)
			}
			return nil
		}, linger)
	}
	var listErr chan error
	finish(func() bool {
		if ulFile != nil && eager {
			listErr = make(chan error, 1)
			go func() { listErr <- syncList(0) }()
		}
		err := s.inject("fsync-dir")
		if err == nil && usedNew {
			linger := time.Duration(0)
			if mb.arriving.Load() > 0 {
				linger = s.dirLinger
			}
			err = mb.syncNew.SyncLazy(func() error { return mb.fsyncSub(dir, "new") }, linger)
		}
		if err == nil && usedCur {
			err = mb.syncCur.Sync(func() error { return mb.fsyncSub(dir, "cur") })
		}
		if err != nil {
			if listErr != nil {
				<-listErr
			}
			if ulFile != nil {
				ulFile.Close()
			}
			// The records written name files now removed: harmless dead
			// records whose UIDs are never given again.
			mb.mu.Lock()
			mb.ulLoaded = false
			mb.mu.Unlock()
			fail(err)
			return false
		}
		mb.mu.Lock()
		mb.batchDirs(dir, usedNew, usedCur, preNew, preCur)
		mb.mu.Unlock()
		return true
	}, func() {
		var err error
		if ulFile != nil {
			if listErr != nil {
				err = <-listErr
			} else {
				err = syncList(listLinger)
			}
			ulFile.Close()
		}
		if err == nil {
			err = s.inject("uidlist")
		}
		if err == nil {
			return
		}
		// Read the list and the directories again before the next use:
		// what was durable gets its UID then, from the list if its record
		// made it, or a new one.
		mb.mu.Lock()
		mb.ulLoaded, mb.dirty = false, true
		mb.mu.Unlock()
		var rest []*pending
		for _, p := range live {
			if p.durableOnly {
				p.unlisted = true // acknowledged: the file stays
			} else {
				rest = append(rest, p)
			}
		}
		live = rest
		fail(err)
	})
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

// batchDirs (mu held): our own links changed the directories; if nothing
// else had changed them since they were read, what we hold is still all.
func (mb *mailbox) batchDirs(dir string, usedNew, usedCur bool, preNew, preCur fileID) {
	if !mb.loaded {
		return
	}
	if usedNew && preNew == mb.newID {
		mb.newID = statID(filepath.Join(dir, "new"))
	}
	if usedCur && preCur == mb.curID {
		mb.curID = statID(filepath.Join(dir, "cur"))
	}
}

// completeBatch publishes a batch's messages (in batch order) and wakes
// its callers.
func (mb *mailbox) completeBatch(batch []*pending) {
	mb.mu.Lock()
	// Only now may a scan see these files: until the batch is durable and
	// published (after every earlier batch), a scan finding one would
	// publish it early and out of UID order.
	for _, p := range batch {
		delete(mb.inflight, p.rec.base)
	}
	if mb.loaded {
		var evs []Event
		for _, p := range batch {
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
	}
	mb.mu.Unlock()
	for _, p := range batch {
		close(p.done)
	}
}

// place links (or renames, or copies) p.src to its name in dir (the
// folder called name; both read under mu by the caller, as a rename
// changes them).
func (mb *mailbox) place(dir, name string, p *pending) error {
	s := mb.s
	sub := "cur"
	if p.rec.inNew {
		sub = "new"
	}
	for attempt := 0; ; attempt++ {
		dst := filepath.Join(dir, sub, p.rec.filename())
		err := s.inject("link")
		if err != nil {
			return fmt.Errorf("maildir: place message in %s: %w", name, err)
		}
		if p.rename {
			// rename(2) would replace an existing name silently: link
			// first, then drop the source.
			if err = os.Link(p.src, dst); err == nil {
				os.Remove(p.src)
			} else if isNoLink(err) {
				err = os.Rename(p.src, dst)
			}
		} else {
			err = linkFile(p.src, dst, p.follow)
			if err != nil && isNoLink(err) && p.copyOK {
				err = mb.copyInto(dir, p.src, dst)
			}
		}
		if err == nil {
			p.placed = dst
			return nil
		}
		if errors.Is(err, os.ErrExist) && attempt < 3 {
			p.rec.base = s.newBaseName(time.Now(), p.rec.psize, p.rec.vsize)
			continue
		}
		err = fmt.Errorf("maildir: place message in %s: %w", name, err)
		if errors.Is(err, os.ErrNotExist) {
			// The folder's directory went away under us (renamed or
			// deleted meanwhile); nothing was placed, so the caller may
			// try again where the folder is now.
			return notPlaced{err}
		}
		return err
	}
}

// notPlaced marks a commit error that left nothing behind because the
// folder moved or vanished before the file was linked: Delivery.Commit
// retries such a copy in the folder's new place, or in INBOX.
type notPlaced struct{ err error }

func (e notPlaced) Error() string { return e.err.Error() }
func (e notPlaced) Unwrap() error { return e.err }

func isNotPlaced(err error) bool {
	var np notPlaced
	return errors.As(err, &np)
}

func isNoLink(err error) bool {
	return errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.EPERM) ||
		errors.Is(err, syscall.EMLINK) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.ENOSYS)
}

// copyInto copies src into the folder's tmp/ (fsynced) and links it to dst.
func (mb *mailbox) copyInto(dir, src, dst string) error {
	tmp := filepath.Join(dir, "tmp", filepath.Base(dst))
	if err := mb.s.copyFile(src, tmp); err != nil {
		return err
	}
	err := os.Link(tmp, dst)
	os.Remove(tmp)
	return err
}

// unplace undoes place (a failed commit leaves nothing behind).
func (mb *mailbox) unplace(p *pending) {
	if p.rename {
		if err := os.Rename(p.placed, p.src); err != nil {
			os.Remove(p.placed)
		}
	} else {
		os.Remove(p.placed)
	}
	p.placed = ""
}

// appendUIDList appends records to dir's list (dot lock held by the
// caller; ulID is the list as last read under it, clean that it ended in
// a whole line) without syncing it; it returns the open file for the
// caller to fsync and close. A torn tail (an append that never completed)
// is cut first; a failed write is cut back, so the list never holds half
// a line. The file is a bare descriptor: this runs once per batch, and an
// *os.File would add five system calls (flags, and the poller refusing a
// regular file).
func (mb *mailbox) appendUIDList(dir string, ulID fileID, clean bool, recs []ulRec) (*listFile, fileID, error) {
	if len(recs) == 0 {
		return nil, ulID, nil
	}
	path := filepath.Join(dir, uidlistName)
	f, err := openListFile(path)
	if err != nil {
		return nil, fileID{}, fmt.Errorf("maildir: append uidlist: %w", err)
	}
	id, err := f.stat()
	if err != nil {
		f.Close()
		return nil, fileID{}, fmt.Errorf("maildir: append uidlist: %w", err)
	}
	size := id.size
	// Unchanged since it was read or written here whole: no torn tail
	// to look for (spares an open and a read per batch).
	unchanged := clean && id == ulID
	if !unchanged {
		if tail, ok := tornTail(path, size); ok {
			if err := f.truncate(tail); err != nil {
				f.Close()
				return nil, fileID{}, fmt.Errorf("maildir: repair uidlist: %w", err)
			}
			size = tail
		}
	}
	var b []byte
	for _, r := range recs {
		b = appendRecord(b, r)
	}
	if err := f.writeAt(b, size); err != nil {
		f.truncate(size)
		f.Close()
		return nil, fileID{}, fmt.Errorf("maildir: append uidlist: %w", err)
	}
	if id, err = f.stat(); err != nil {
		f.Close()
		return nil, fileID{}, fmt.Errorf("maildir: append uidlist: %w", err)
	}
	return f, id, nil
}

// listFile is dovecot-uidlist open for an append: a bare descriptor.
type listFile struct {
	fd   int
	path string
}

func openListFile(path string) (*listFile, error) {
	fd, err := openFD(path, syscall.O_WRONLY)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &listFile{fd: fd, path: path}, nil
}

func (f *listFile) stat() (fileID, error) {
	var st syscall.Stat_t
	if err := ignoringEINTR(func() error { return syscall.Fstat(f.fd, &st) }); err != nil {
		return fileID{}, &os.PathError{Op: "fstat", Path: f.path, Err: err}
	}
	return idOfStat(&st), nil
}

func (f *listFile) truncate(size int64) error {
	if err := ignoringEINTR(func() error { return syscall.Ftruncate(f.fd, size) }); err != nil {
		return &os.PathError{Op: "truncate", Path: f.path, Err: err}
	}
	return nil
}

// writeAt writes all of b at off.
func (f *listFile) writeAt(b []byte, off int64) error {
	for len(b) > 0 {
		n, err := syscall.Pwrite(f.fd, b, off)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "write", Path: f.path, Err: err}
		}
		if n == 0 {
			return &os.PathError{Op: "write", Path: f.path, Err: io.ErrShortWrite}
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

func (f *listFile) datasync() error {
	if err := ignoringEINTR(func() error { return syscall.Fdatasync(f.fd) }); err != nil {
		return &os.PathError{Op: "fdatasync", Path: f.path, Err: err}
	}
	return nil
}

func (f *listFile) Close() error { return syscall.Close(f.fd) }

// tornTail reports where a file whose last line lacks its newline should
// be cut (just after the last newline).
func tornTail(path string, size int64) (int64, bool) {
	if size == 0 {
		return 0, false
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	chunk := int64(4096)
	end := size
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, size-1); err != nil || last[0] == '\n' {
		return 0, false
	}
	for end > 0 {
		start := end - chunk
		if start < 0 {
			start = 0
		}
		buf := make([]byte, end-start)
		if _, err := f.ReadAt(buf, start); err != nil {
			return 0, false
		}
		for i := len(buf) - 1; i >= 0; i-- {
			if buf[i] == '\n' {
				return start + int64(i) + 1, true
			}
		}
		end = start
	}
	return 0, false // no complete line at all: leave it to the reader
}
