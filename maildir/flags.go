package maildir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Flags, keywords and expunge: StoreFlags renames message files to
// their new flag letters; keywords get letters in dovecot-keywords first.

// flagInfo turns IMAP flags into info letters (mb.mu held). Keywords
// must have letters already (ensureKeywords): no file lock is waited for
// under mu.
func (mb *mailbox) flagInfo(flags []string) (string, error) {
	var b []byte
	for _, fl := range flags {
		if strings.HasPrefix(fl, `\`) {
			if l, ok := flagLetter(fl); ok {
				b = append(b, l)
			}
			continue // \Recent and unknown system flags are not stored
		}
		if !ValidKeyword(fl) {
			return "", fmt.Errorf("maildir: invalid keyword %q", fl)
		}
		l, ok := mb.kw.letter(fl)
		if !ok {
			// dovecot-keywords was rewritten by another program
			// between ensureKeywords and now.
			return "", fmt.Errorf("%w: keyword %q lost its letter", ErrBusy, fl)
		}
		b = append(b, l)
	}
	return normInfo(string(b)), nil
}

// ensureKeywords gives every keyword in flags a letter in
// dovecot-keywords, before the caller takes mu. The file's dot lock is
// taken under the commit lock (ulMu), which renames and deletions of the
// folder take too, so the lock file is never carried away by a renamed
// directory, and the folder's state is never locked while a file lock is
// waited for (lock order, doc.go).
func (mb *mailbox) ensureKeywords(ctx context.Context, flags []string) error {
	var missing []string
	mb.mu.Lock()
	for _, fl := range flags {
		if strings.HasPrefix(fl, `\`) {
			continue
		}
		if !ValidKeyword(fl) {
			mb.mu.Unlock()
			return fmt.Errorf("maildir: invalid keyword %q", fl)
		}
		if mb.kw == nil {
			missing = append(missing, fl)
		} else if _, ok := mb.kw.letter(fl); !ok {
			missing = append(missing, fl)
		}
	}
	mb.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	mb.ulMu.Lock()
	defer mb.ulMu.Unlock()
	mb.mu.Lock()
	dir, deleted := mb.dir, mb.deleted
	mb.mu.Unlock()
	if deleted {
		return mb.errDeleted()
	}
	// addKeyword re-reads the file under its lock; a copy is filled so
	// that the state's list changes only under mu.
	var kw keywords
	for _, name := range missing {
		if _, err := mb.s.addKeyword(ctx, dir, &kw, name); err != nil {
			return err
		}
	}
	mb.mu.Lock()
	mb.kw = &kw
	mb.kwGen++
	mb.mu.Unlock()
	return nil
}

// ValidKeyword says whether k can be a keyword: an IMAP atom (RFC 9051
// flag-keyword) of at most 128 octets.
func ValidKeyword(k string) bool {
	if k == "" || len(k) > 128 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// StoreFlags changes flags (RFC 9051 6.4.6) by renaming the files; a
// message in new/ moves to cur/. It returns the messages asked for that
// exist, with their flags after the change. Keywords get letters in
// dovecot-keywords.
func (f *Folder) StoreFlags(ctx context.Context, uids []uint32, op FlagOp, flags []string) ([]Message, error) {
	return f.mb.storeFlags(ctx, uids, op, flags, nil, nil)
}

// storeFlags is StoreFlags; source's watcher is not told of the flag
// changes (its session answers for them itself). A non-nil cond skips
// the messages that fail its test, under the same lock as the change
// (condstore.go).
func (mb *mailbox) storeFlags(ctx context.Context, uids []uint32, op FlagOp, flags []string, source *Watcher, cond *storeCond) ([]Message, error) {
	if err := mb.refresh(ctx); err != nil {
		return nil, err
	}
	if err := mb.ensureKeywords(ctx, flags); err != nil {
		return nil, err
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.deleted {
		return nil, mb.errDeleted()
	}
	letters, err := mb.flagInfo(flags)
	if err != nil {
		return nil, err
	}
	preCur := statID(filepath.Join(mb.dir, "cur"))
	preNew := statID(filepath.Join(mb.dir, "new"))
	var out []Message
	var evs []Event
	changed := false
	for _, uid := range uids {
		m := mb.byUID[uid]
		if m == nil {
			continue
		}
		if !cond.passes(mb, m) {
			continue
		}
		var info string
		switch op {
		case FlagsSet:
			// Keep letters IMAP cannot see: 'P' and keywords without names.
			keep := []byte{}
			for i := 0; i < len(m.info); i++ {
				c := m.info[i]
				if c == 'P' || (c >= 'a' && c <= 'z' && mb.kw.name(c) == "") || (c >= 'A' && c <= 'Z' && !isSystemLetter(c)) {
					keep = append(keep, c)
				}
			}
			info = normInfo(string(keep) + letters)
		case FlagsAdd:
			info = normInfo(m.info + letters)
		case FlagsRemove:
			info = strings.Map(func(r rune) rune {
				if strings.ContainsRune(letters, r) {
					return -1
				}
				return r
			}, m.info)
		}
		if info != m.info || m.inNew || !m.hasInfo {
			// Copy on write: a record in the state is never changed in
			// place, since pointers to it are read without mu (a
			// delivery reading its UID, COPY/MOVE reading its source).
			nm := m.with(info, false, true)
			if err := mb.s.fs.rename(m.path(mb.dir), nm.path(mb.dir)); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					mb.dirty = true
					continue
				}
				return out, fmt.Errorf("maildir: store flags: %w", &os.LinkError{Op: "rename", Old: m.path(mb.dir), New: nm.path(mb.dir), Err: err})
			}
			flagsChanged := m.info != info
			mb.replaceLocked(nm)
			m = nm
			changed = true
			if flagsChanged {
				evs = append(evs, Event{Kind: EventFlags, UID: m.uid, Flags: mb.flagsOf(m)})
			}
		}
		out = append(out, mb.messageOf(m))
	}
	if changed {
		if err := mb.s.fsyncDir(filepath.Join(mb.dir, "cur")); err != nil {
			return out, err
		}
		if preCur == mb.curID {
			mb.curID = statID(filepath.Join(mb.dir, "cur"))
		}
		if preNew == mb.newID {
			mb.newID = statID(filepath.Join(mb.dir, "new"))
		}
	}
	mb.publishFromLocked(evs, source)
	for i := range out {
		out[i].ModSeq = mb.modseqs[out[i].UID] // stamped as published
	}
	return out, nil
}

func isSystemLetter(c byte) bool {
	for _, f := range systemFlags {
		if f.letter == c {
			return true
		}
	}
	return false
}

// Expunge removes messages flagged \Deleted: all of them when uids is
// nil, else those of uids (UID EXPUNGE, RFC 9051 6.4.9). It returns the
// UIDs removed, ascending.
func (f *Folder) Expunge(ctx context.Context, uids []uint32) ([]uint32, error) {
	mb := f.mb
	if err := mb.refresh(ctx); err != nil {
		return nil, err
	}
	mb.mu.Lock()
	var victims []*msgRec
	if uids == nil {
		for _, m := range mb.msgs {
			if hasLetter(m.info, 'T') {
				victims = append(victims, m)
			}
		}
	} else {
		for _, uid := range uids {
			if m := mb.byUID[uid]; m != nil && hasLetter(m.info, 'T') {
				victims = append(victims, m)
			}
		}
	}
	mb.mu.Unlock()
	return mb.remove(ctx, victims)
}

// remove deletes messages' files and state and publishes the expunges.
func (mb *mailbox) remove(ctx context.Context, victims []*msgRec) ([]uint32, error) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.deleted {
		return nil, mb.errDeleted()
	}
	sort.Slice(victims, func(i, j int) bool { return victims[i].uid < victims[j].uid })
	preCur := statID(filepath.Join(mb.dir, "cur"))
	preNew := statID(filepath.Join(mb.dir, "new"))
	var done []uint32
	var evs []Event
	var firstErr error
	usedNew, usedCur := false, false
	for _, m := range victims {
		if mb.loaded {
			// The state may hold a newer copy of the record (flags
			// changed since the caller looked): same UID and base name.
			cur := mb.byUID[m.uid]
			if cur == nil || cur.base != m.base {
				continue // gone already
			}
			m = cur
		}
		if err := mb.s.fs.remove(m.path(mb.dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
			if firstErr == nil {
				firstErr = fmt.Errorf("maildir: expunge: %w", &os.PathError{Op: "remove", Path: m.path(mb.dir), Err: err})
			}
			continue
		}
		if m.inNew {
			usedNew = true
		} else {
			usedCur = true
		}
		delete(mb.byUID, m.uid)
		delete(mb.byBase, m.base)
		done = append(done, m.uid)
		evs = append(evs, Event{Kind: EventExpunge, UID: m.uid})
	}
	mb.compactMsgsLocked()
	mb.recountLocked() // quota.go
	if usedCur {
		if err := mb.s.fsyncDir(filepath.Join(mb.dir, "cur")); err != nil && firstErr == nil {
			firstErr = err
		}
		if preCur == mb.curID {
			mb.curID = statID(filepath.Join(mb.dir, "cur"))
		}
	}
	if usedNew {
		if err := mb.s.fsyncDir(filepath.Join(mb.dir, "new")); err != nil && firstErr == nil {
			firstErr = err
		}
		if preNew == mb.newID {
			mb.newID = statID(filepath.Join(mb.dir, "new"))
		}
	}
	mb.publishLocked(evs)
	if len(mb.ulRecs) > 1000 && len(mb.ulRecs) > 2*len(mb.byBase) {
		mb.s.bg.Add(1)
		go func() {
			defer mb.s.bg.Done()
			mb.compactUIDList()
		}()
	}
	return done, firstErr
}

// compactUIDList rewrites dovecot-uidlist without the records of messages
// that are gone.
func (mb *mailbox) compactUIDList() {
	ctx := context.Background()
	mb.ulMu.Lock()
	defer mb.ulMu.Unlock()
	mb.mu.Lock()
	dir := mb.dir
	mb.mu.Unlock()
	lock, err := mb.s.dotlock(ctx, filepath.Join(dir, uidlistName))
	if err != nil {
		return
	}
	defer lock.release()
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.deleted || !mb.loaded {
		return
	}
	if err := mb.loadUIDListLocked(ctx, true); err != nil {
		return
	}
	ul := &uidlist{uidValidity: mb.uidValidity, nextUID: mb.nextUID, guid: mb.guid, hdrExtra: mb.hdrExtra}
	for _, r := range mb.ulRecs {
		// Keep the records of messages present and of those being
		// committed (not yet in the state).
		if mb.byBase[r.base] != nil || mb.inflight[r.base] {
			ul.recs = append(ul.recs, r)
		}
	}
	sort.Slice(ul.recs, func(i, j int) bool { return ul.recs[i].uid < ul.recs[j].uid })
	if err := mb.s.replaceFile(filepath.Join(dir, uidlistName), ul.format()); err != nil {
		mb.s.log.Error("compact uidlist", "folder", mb.name, "err", err)
		mb.ulLoaded = false
		return
	}
	mb.ulRecs = make(map[string]ulRec, len(ul.recs))
	for _, r := range ul.recs {
		mb.ulRecs[r.base] = r
	}
	mb.ulID = statID(filepath.Join(dir, uidlistName))
	mb.ulTorn = false
}
