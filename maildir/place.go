package maildir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Placing and numbering a batch (step 2 of the committer's loop,
// commit.go). Files are placed by hard link wherever possible: a
// delivery links its one spool file into every recipient folder; COPY
// links and keeps the source; APPEND and MOVE link too, and remove the
// old name only once the new one is durable and listed, so a crash in
// between leaves the message under both names, never under none. Where
// links are impossible (another file system, a file system without
// them) MOVE and APPEND rename and the others copy.

// batch is what one round of the loop places and syncs.
type batch struct {
	live             []*pending // placed and numbered (the rest failed, and are finished)
	dir              string
	usedNew, usedCur bool
	preNew, preCur   fileID
	list             *descriptor // the list, appended to (nil: no new records)
	eager            bool        // a caller waits for its UIDs
}

// start places a batch's files and appends their records to the list
// (ulMu held). What fails is finished at once; the rest is returned.
func (mb *mailbox) start(ps []*pending) batch {
	ctx := context.Background()
	s := mb.s
	mb.mu.Lock()
	dir, name, deleted := mb.dir, mb.name, mb.deleted
	mb.mu.Unlock()
	b := batch{dir: dir}
	if deleted {
		mb.abandon(ps, notPlaced{fmt.Errorf("%w: folder was deleted", ErrNonexistent)})
		return b
	}
	b.preNew = statID(filepath.Join(dir, "new"))
	b.preCur = statID(filepath.Join(dir, "cur"))
	for _, p := range ps {
		if !p.existing {
			if err := mb.place(dir, name, p); err != nil {
				mb.abandon([]*pending{p}, err)
				continue
			}
			if p.rec.inNew {
				b.usedNew = true
			} else {
				b.usedCur = true
			}
		}
		b.live = append(b.live, p)
		b.eager = b.eager || !p.durableOnly
	}
	if len(b.live) == 0 {
		return b
	}
	fail := func(err error) batch {
		mb.abandon(b.live, err)
		b.live = nil
		return b
	}
	// UIDs, under Dovecot's dot lock: numbered and appended (not yet
	// synced) here, in order.
	lock, err := s.dotlock(ctx, filepath.Join(dir, uidlistName))
	if err != nil {
		return fail(err)
	}
	defer lock.release()
	mb.mu.Lock()
	before := mb.nextUID
	if err := mb.loadUIDListLocked(ctx, true); err != nil {
		mb.mu.Unlock()
		return fail(err)
	}
	if mb.loaded && mb.nextUID > before {
		// Another process numbered messages since this one last looked:
		// take them in now (a scan, as a reader would), so that they are
		// announced before this batch, whose UIDs are above theirs;
		// sessions drop a new message whose UID is below one they were
		// told of (TestOtherProcessAppendsRacingBatches). Files the scan
		// finds unnumbered (this batch's, or another process's still
		// being placed) are left to their commits and the next reader.
		unknown, err := mb.scanLocked(ctx)
		if err != nil {
			mb.mu.Unlock()
			return fail(err)
		}
		if len(unknown) > 0 {
			mb.dirty = true // the next reader looks again
		}
	}
	next := mb.nextUID
	var recs []ulRec
	for _, p := range b.live {
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
	list, newID, err := s.appendUIDList(dir, ulID, !ulTorn, recs)
	if err != nil {
		mb.forgetList()
		return fail(err)
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
	for _, p := range b.live {
		mb.inflight[p.rec.base] = true
	}
	mb.mu.Unlock()
	b.list = list
	return b
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
		err = s.fs.link(p.src, dst, p.follow)
		if err != nil && isNoLink(err) {
			switch {
			case p.rename:
				// rename(2) replaces an existing name silently, so it
				// is only the fallback.
				if err = s.fs.rename(p.src, dst); err == nil {
					p.renamed = true
				}
			case p.copyOK:
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
		if errno, ok := err.(syscall.Errno); ok {
			err = &os.LinkError{Op: "link", Old: p.src, New: dst, Err: errno}
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

// placed finishes a placement once it is durable: a moved file loses its
// old name.
func (mb *mailbox) placed(p *pending) {
	if p.rename && !p.renamed {
		mb.s.fs.remove(p.src)
	}
}

// unplace undoes place (a failed commit leaves nothing behind).
func (mb *mailbox) unplace(p *pending) {
	if p.placed == "" {
		return
	}
	if !p.renamed || mb.s.fs.rename(p.placed, p.src) != nil {
		mb.s.fs.remove(p.placed)
	}
	p.placed = ""
}

// copyInto copies src into the folder's tmp/ (fsynced) and links it to dst.
func (mb *mailbox) copyInto(dir, src, dst string) error {
	tmp := filepath.Join(dir, "tmp", filepath.Base(dst))
	if err := mb.s.copyFile(src, tmp); err != nil {
		return err
	}
	err := mb.s.fs.link(tmp, dst, false)
	mb.s.fs.remove(tmp)
	return err
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
