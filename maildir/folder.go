package maildir

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Folder is a handle onto one folder of one account. Handles are cheap;
// every handle on the same folder shares one state in the process, so a
// change made through one (or by a delivery) is seen by all at once. A
// handle follows its folder through renames. Read-only access (EXAMINE)
// is the IMAP layer's to enforce.
type Folder struct {
	s  *Store
	mb *mailbox
}

// OpenFolder opens a folder by absolute IMAP name (INBOX in any case;
// subinboxes found case-insensitively) and brings its state up to date.
func (s *Store) OpenFolder(ctx context.Context, acct Account, name string) (*Folder, error) {
	n, err := s.resolveFolder(acct, name)
	if err != nil {
		return nil, err
	}
	mb := s.box(acct, n)
	if err := mb.refresh(ctx); err != nil {
		return nil, err
	}
	return &Folder{s: s, mb: mb}, nil
}

// Name returns the folder's current absolute name.
func (f *Folder) Name() string {
	f.mb.mu.Lock()
	defer f.mb.mu.Unlock()
	return f.mb.name
}

// Status returns the folder's counters (RFC 9051 6.3.11).
func (f *Folder) Status(ctx context.Context) (Status, error) {
	if err := f.mb.refresh(ctx); err != nil {
		return Status{}, err
	}
	mb := f.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	st := Status{Messages: uint32(len(mb.msgs)), UIDNext: mb.nextUID, UIDValidity: mb.uidValidity,
		Recent: mb.recentLocked(), HighestModSeq: mb.highestModseq}
	for _, m := range mb.msgs {
		if !hasLetter(m.info, 'S') {
			st.Unseen++
		}
		if hasLetter(m.info, 'T') {
			st.Deleted++
		}
		st.Size += m.vsize
	}
	return st, nil
}

// Lookup returns the messages with the given UIDs as the folder's state
// has them now, without looking at the disk (a session that has synced
// its watcher is up to date): out[i] describes uids[i], with UID 0 for a
// message that is gone.
func (f *Folder) Lookup(uids []uint32) []Message {
	mb := f.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	out := make([]Message, len(uids))
	for i, u := range uids {
		if m := mb.byUID[u]; m != nil {
			out[i] = mb.messageOf(m)
		}
	}
	return out
}

// UIDValidity returns the folder's UIDVALIDITY.
func (f *Folder) UIDValidity() uint32 {
	f.mb.mu.Lock()
	defer f.mb.mu.Unlock()
	return f.mb.uidValidity
}

// Messages returns every message, sorted by UID, after bringing the state
// up to date with the disk. The Flags slices are shared with other
// callers and events: the layer never changes one once handed out (a flag
// change makes a new slice), and callers must not modify them either
// (their capacity equals their length, so an append copies).
func (f *Folder) Messages(ctx context.Context) ([]Message, error) {
	if err := f.mb.refresh(ctx); err != nil {
		return nil, err
	}
	mb := f.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	out := make([]Message, len(mb.msgs))
	for i, m := range mb.msgs {
		out[i] = mb.messageOf(m)
	}
	return out, nil
}

func (mb *mailbox) messageOf(m *msgRec) Message {
	return Message{UID: m.uid, Flags: mb.flagsOf(m), Size: m.vsize, InternalDate: m.mtime, ModSeq: mb.modseqOf(m)}
}

// OpenMessage opens a message's content. Lines end in CRLF: a file stored
// with bare LF (as Dovecot stores by default) is converted while read, so
// exactly Message.Size octets come out.
func (f *Folder) OpenMessage(ctx context.Context, uid uint32) (io.ReadCloser, error) {
	for attempt := 0; ; attempt++ {
		mb := f.mb
		mb.mu.Lock()
		if mb.deleted {
			mb.mu.Unlock()
			return nil, mb.errDeleted()
		}
		m := mb.byUID[uid]
		var path string
		var convert bool
		if m != nil {
			path, convert = m.path(mb.dir), m.psize != m.vsize
		}
		mb.mu.Unlock()
		if m == nil {
			if attempt == 0 {
				if err := mb.refresh(ctx); err != nil {
					return nil, err
				}
				continue
			}
			return nil, fmt.Errorf("%w: UID %d", ErrNoSuchMessage, uid)
		}
		file, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) && attempt == 0 {
			// Renamed or removed by someone else: look again.
			mb.mu.Lock()
			mb.dirty = true
			mb.mu.Unlock()
			if err := mb.refresh(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%w: UID %d", ErrNoSuchMessage, uid)
			}
			return nil, fmt.Errorf("maildir: open message: %w", err)
		}
		if !convert {
			return file, nil
		}
		return &crlfReader{r: bufio.NewReader(file), c: file}, nil
	}
}

// crlfReader turns bare LF into CRLF.
type crlfReader struct {
	r      *bufio.Reader
	c      io.Closer
	prev   byte
	needLF bool
}

func (c *crlfReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if c.needLF {
			p[n] = '\n'
			n++
			c.needLF = false
			c.prev = '\n'
			continue
		}
		b, err := c.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b == '\n' && c.prev != '\r' {
			p[n] = '\r'
			n++
			c.needLF = true
			c.prev = '\r'
			continue
		}
		p[n] = b
		n++
		c.prev = b
	}
	return n, nil
}

func (c *crlfReader) Close() error { return c.c.Close() }

// crlfWriter writes through to w with every bare LF turned into CRLF, so
// stored messages have S= equal to W= and IMAP serves files as they are.
type crlfWriter struct {
	w      *bufio.Writer
	prevCR bool
	n      int64
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	done := 0 // octets of p written
	for done < len(p) {
		i := bytes.IndexByte(p[done:], '\n')
		if i < 0 {
			break
		}
		i += done
		bare := !c.prevCR
		if i > 0 {
			bare = p[i-1] != '\r'
		}
		c.prevCR = false
		if !bare { // up to and with the LF as it is
			if err := c.put(p[done : i+1]); err != nil {
				return done, err
			}
			done = i + 1
			continue
		}
		if err := c.put(p[done:i]); err != nil {
			return done, err
		}
		if err := c.put(crlf); err != nil {
			return i, err
		}
		done = i + 1
	}
	if done < len(p) {
		if err := c.put(p[done:]); err != nil {
			return done, err
		}
		c.prevCR = p[len(p)-1] == '\r'
	}
	return len(p), nil
}

var crlf = []byte("\r\n")

func (c *crlfWriter) put(b []byte) error {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return err
}

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
		if !validKeyword(fl) {
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
		if !validKeyword(fl) {
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

// validKeyword: an IMAP atom (RFC 9051 flag-keyword).
func validKeyword(k string) bool {
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

// Append stores a message durably (like a delivery: written to the
// spool, fsynced, renamed into cur/, the directory and dovecot-uidlist fsynced)
// with the given flags and INTERNALDATE (zero: now). It returns the UID.
func (f *Folder) Append(ctx context.Context, r io.Reader, flags []string, date time.Time) (uint32, error) {
	mb := f.mb
	s := f.s
	if err := mb.refresh(ctx); err != nil {
		return 0, err
	}
	if err := mb.ensureKeywords(ctx, flags); err != nil {
		return 0, err
	}
	mb.mu.Lock()
	info, err := mb.flagInfo(flags)
	mb.mu.Unlock()
	if err != nil {
		return 0, err
	}
	// Written in the store's spool, not the folder's tmp/: a rename or
	// deletion of the folder meanwhile cannot pull it away; the commit
	// renames it into whatever directory the folder has then.
	tmp, err := s.spoolPath("append")
	if err != nil {
		return 0, err
	}
	size, err := s.writeMessageFile(tmp, r)
	if err != nil {
		return 0, err
	}
	if err := s.CheckQuota(ctx, mb.acct, size); err != nil {
		os.Remove(tmp)
		return 0, err
	}
	if date.IsZero() {
		date = time.Now()
	}
	if err := os.Chtimes(tmp, date, date); err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("maildir: set internal date: %w", err)
	}
	rec := &msgRec{base: s.newBaseName(time.Now(), size, size), info: info, hasInfo: true, psize: size, vsize: size, mtime: date.Truncate(time.Second)}
	if st, err := os.Stat(tmp); err == nil {
		rec.mtime = st.ModTime()
	}
	p := &pending{rec: rec, src: tmp, rename: true}
	if err := mb.commit(ctx, []*pending{p}); err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return rec.uid, nil
}

// StoreFlags changes flags (RFC 9051 6.4.6) by renaming the files; a
// message in new/ moves to cur/. It returns the messages asked for that
// exist, with their flags after the change. Keywords get letters in
// dovecot-keywords.
func (f *Folder) StoreFlags(ctx context.Context, uids []uint32, op FlagOp, flags []string) ([]Message, error) {
	return f.mb.storeFlags(ctx, uids, op, flags, nil)
}

// storeFlags is StoreFlags; source's watcher is not told of the flag
// changes (its session answers for them itself).
func (mb *mailbox) storeFlags(ctx context.Context, uids []uint32, op FlagOp, flags []string, source *Watcher) ([]Message, error) {
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

// Copy copies messages into dest (absolute name, same account) as hard
// links with new names, keeping flags and INTERNALDATE. It returns the
// source and new UIDs pairwise, in source UID order (RFC 4315 COPYUID).
func (f *Folder) Copy(ctx context.Context, uids []uint32, dest string) (src, dst []uint32, err error) {
	d, err := f.s.resolveFolder(f.mb.acct, dest)
	if err != nil {
		return nil, nil, err
	}
	if uids == nil {
		uids = []uint32{}
	}
	if err := f.s.admitCopy(ctx, f.mb, uids); err != nil { // quota.go; Move adds nothing
		return nil, nil, err
	}
	return f.s.moveMessages(ctx, f.mb, uids, f.s.box(f.mb.acct, d), false)
}

// Move moves messages into dest (RFC 6851): each file is renamed into the
// destination (so it is in exactly one place at every instant), then
// expunged from this folder's state.
func (f *Folder) Move(ctx context.Context, uids []uint32, dest string) (src, dst []uint32, err error) {
	d, err := f.s.resolveFolder(f.mb.acct, dest)
	if err != nil {
		return nil, nil, err
	}
	if uids == nil {
		uids = []uint32{}
	}
	return f.s.moveMessages(ctx, f.mb, uids, f.s.box(f.mb.acct, d), true)
}

// moveMessages moves (or copies) messages from src to dst; uids nil means
// all of them.
func (s *Store) moveMessages(ctx context.Context, srcBox *mailbox, uids []uint32, dstBox *mailbox, move bool) ([]uint32, []uint32, error) {
	if err := srcBox.refresh(ctx); err != nil {
		return nil, nil, err
	}
	if err := dstBox.refresh(ctx); err != nil {
		return nil, nil, err
	}
	srcBox.mu.Lock()
	var recs []*msgRec
	var names [][]string
	if uids == nil {
		recs = append(recs, srcBox.msgs...)
	} else {
		for _, uid := range uids {
			if m := srcBox.byUID[uid]; m != nil {
				recs = append(recs, m)
			}
		}
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].uid < recs[j].uid })
	recs = dedupe(recs)
	srcDir := srcBox.dir
	paths := make([]string, len(recs))
	pinned := make([]bool, len(recs))
	kept := recs[:0]
	for _, m := range recs {
		// Pinned by a link in the spool, made under the source's lock:
		// a flag change, expunge or folder rename that renames the
		// file meanwhile cannot take it away from the commit.
		path := m.path(srcDir)
		pin, err := s.spoolPath("move")
		if err == nil {
			err = s.fs.link(path, pin, false)
		}
		switch {
		case err == nil:
			path = pin
			pinned[len(kept)] = true
		case errors.Is(err, os.ErrNotExist):
			srcBox.dirty = true
			continue // gone on disk: look again next time
		case !isNoLink(err):
			srcBox.mu.Unlock()
			s.unpin(paths[:len(kept)], pinned)
			return nil, nil, fmt.Errorf("maildir: pin message: %w", &os.LinkError{Op: "link", Old: path, New: pin, Err: err})
		}
		paths[len(kept)] = path
		kept = append(kept, m)
		names = append(names, srcBox.flagsOf(m))
	}
	recs = kept
	paths = paths[:len(recs)]
	srcBox.mu.Unlock()
	defer s.unpin(paths, pinned)
	if len(recs) == 0 {
		return nil, nil, nil
	}
	// A move within one folder (RFC 6851 allows MOVE to the selected
	// mailbox) renames each file to a new name with a new UID, then
	// drops the old record: the client sees COPYUID and an EXPUNGE.
	var kws []string
	for _, n := range names {
		kws = append(kws, n...)
	}
	if err := dstBox.ensureKeywords(ctx, kws); err != nil {
		return nil, nil, err
	}
	ps := make([]*pending, len(recs))
	dstBox.mu.Lock()
	for i, m := range recs {
		info, err := dstBox.flagInfo(names[i])
		if err != nil {
			dstBox.mu.Unlock()
			return nil, nil, err
		}
		// Keep letters IMAP does not see ('P').
		if hasLetter(m.info, 'P') {
			info = normInfo(info + "P")
		}
		nr := &msgRec{base: s.newBaseName(time.Now(), m.psize, m.vsize), info: info, hasInfo: true, psize: m.psize, vsize: m.vsize, mtime: m.mtime}
		ps[i] = &pending{rec: nr, src: paths[i], rename: move || pinned[i], copyOK: !move && !pinned[i]}
	}
	dstBox.mu.Unlock()
	err := dstBox.commit(ctx, ps)
	var srcUIDs, dstUIDs []uint32
	var moved []*msgRec
	for i, p := range ps {
		if p.err != nil {
			continue
		}
		srcUIDs = append(srcUIDs, recs[i].uid)
		dstUIDs = append(dstUIDs, p.rec.uid)
		moved = append(moved, recs[i])
	}
	if move && len(moved) > 0 {
		// The files are gone from src already; drop them from its state.
		if _, rerr := srcBox.remove(ctx, moved); rerr != nil && err == nil {
			err = rerr
		}
	}
	return srcUIDs, dstUIDs, err
}

// spoolPath names a new file in the store's spool.
func (s *Store) spoolPath(kind string) (string, error) {
	dir := filepath.Join(s.dataDir, spoolDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("maildir: spool: %w", err)
	}
	return filepath.Join(dir, fmt.Sprintf("%s.%d.%d.%d", kind, time.Now().UnixNano(), s.pid, s.seq.Add(1))), nil
}

// unpin removes the spool links that a commit did not rename away.
func (s *Store) unpin(paths []string, pinned []bool) {
	for i, p := range paths {
		if pinned[i] {
			s.fs.remove(p) // ENOENT: renamed into place
		}
	}
}

func dedupe(recs []*msgRec) []*msgRec {
	out := recs[:0]
	for i, m := range recs {
		if i > 0 && recs[i-1] == m {
			continue
		}
		out = append(out, m)
	}
	return out
}
