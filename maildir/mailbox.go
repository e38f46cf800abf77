package maildir

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"syscall"
	"time"
)

// mailbox is the in-memory state of one folder of one account, shared by
// every Folder handle and delivery in the process (one per folder). It is
// a cache of the disk: dovecot-uidlist (UIDs), the names in new/ and cur/
// (flags, sizes) and the files' mtimes (INTERNALDATE). It is refreshed by
// comparing the directories' and the list's stat data, so an unchanged
// folder costs three stat calls to open, and a changed one a directory
// read; a message file is read only if its name carries no size.
//
// Locks: ulMu serialises writers of dovecot-uidlist in this process (the
// dot lock serialises them with other processes); mu guards the state.
// Order: ulMu before mu. No file I/O on message bodies happens under mu.
type mailbox struct {
	s    *Store
	acct Account

	ulMu sync.Mutex

	mu      sync.Mutex
	name    string // absolute IMAP name (changes on rename)
	dir     string
	deleted bool

	ulLoaded    bool
	uidValidity uint32
	nextUID     uint32
	guid        string
	hdrExtra    []string
	ulRecs      map[string]ulRec // base -> record, every record in the file
	ulID        fileID
	ulTorn      bool // the list as last read (ulID) ends in a partial line

	loaded bool
	msgs   []*msgRec // sorted by UID
	byUID  map[uint32]*msgRec
	byBase map[string]*msgRec
	newID  fileID
	curID  fileID
	dirty  bool
	kw     *keywords
	kwGen  int // bumped whenever kw changes

	// sessions showing the folder (watch.go)
	watchers    []*Watcher
	kwPublished int    // kwGen last announced to watchers
	recentInit  bool   // recentMax set from the disk's state
	recentMax   uint32 // highest UID claimed as \Recent (RFC 3501 2.3.2)

	// mod-sequences (modseq.go)
	modseqs        map[uint32]uint64 // UID -> modseq of its last change
	highestModseq  uint64
	unsavedModseqs int // changes the saved index does not hold

	// the SQLite index (index.go)
	idxKey    string
	idxSaving bool
	uncached  int // messages not in the saved index

	// group commit (commit.go)
	gc       groupCommit
	inflight map[string]bool // base names numbered but not yet published (mu)
}

type boxKey struct {
	acct int64
	name string
}

type msgRec struct {
	uid     uint32
	base    string
	info    string // flag letters, sorted
	hasInfo bool   // the name has ":2,"
	inNew   bool
	psize   int64 // file size
	vsize   int64 // size with CRLF line ends
	mtime   time.Time

	flags     []string // cached IMAP flags for flagsInfo/flagsGen
	flagsInfo string
	flagsGen  int
}

// A msgRec, once in the state (msgs, byUID, byBase), is never changed in
// place, apart from its flags cache (written and read under mu only):
// pointers to it are read without mu (a delivery reading the UID it got,
// COPY/MOVE reading its source, background index saves). A change makes
// a new record (with) that replaces the old one (replaceLocked).

// with returns a copy of m with other flags or another place.
func (m *msgRec) with(info string, inNew, hasInfo bool) *msgRec {
	nm := *m
	nm.info, nm.inNew, nm.hasInfo = info, inNew, hasInfo
	if info != m.info {
		nm.flags, nm.flagsInfo = nil, ""
	}
	return &nm
}

// replaceLocked (mu held) puts nm in place of the record with its UID.
func (mb *mailbox) replaceLocked(nm *msgRec) {
	mb.byUID[nm.uid] = nm
	mb.byBase[nm.base] = nm
	i := sort.Search(len(mb.msgs), func(i int) bool { return mb.msgs[i].uid >= nm.uid })
	if i < len(mb.msgs) && mb.msgs[i].uid == nm.uid {
		mb.msgs[i] = nm
	}
}

func (m *msgRec) filename() string {
	if m.hasInfo {
		return m.base + ":2," + m.info
	}
	return m.base
}

func (m *msgRec) path(dir string) string {
	sub := "cur"
	if m.inNew {
		sub = "new"
	}
	return filepath.Join(dir, sub, m.filename())
}

// fileID is what tells a file or directory changed.
type fileID struct {
	ino   uint64
	size  int64
	mtime int64
	ok    bool
}

func idOf(st os.FileInfo) fileID {
	if st == nil {
		return fileID{}
	}
	id := fileID{size: st.Size(), mtime: st.ModTime().UnixNano(), ok: true}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		id.ino = sys.Ino
	}
	return id
}

// statID is called several times per commit batch and per RCPT (guard
// version): a bare stat(2), with none of os.Stat's allocations.
func statID(path string) fileID {
	var st syscall.Stat_t
	if err := ignoringEINTR(func() error { return syscall.Stat(path, &st) }); err != nil {
		return fileID{}
	}
	return idOfStat(&st)
}

func idOfStat(st *syscall.Stat_t) fileID {
	return fileID{ino: st.Ino, size: st.Size, mtime: st.Mtim.Nano(), ok: true}
}

// mtimeGrain: a directory changed less than this long before it was
// looked at may change again with the same mtime; it is read again next
// time.
const mtimeGrain = 20 * time.Millisecond

// box returns the shared state of an existing folder (canonical name).
func (s *Store) box(acct Account, name string) *mailbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := boxKey{acct.ID, name}
	if mb := s.boxes[k]; mb != nil {
		return mb
	}
	dir := s.AccountDir(acct)
	if d := encodeFolderDir(name); d != "" {
		dir = filepath.Join(dir, d)
	}
	mb := &mailbox{s: s, acct: acct, name: name, dir: dir}
	// One state per directory: a name being renamed or deleted (busy),
	// or whose directory is gone (a rename or deletion won the race with
	// the caller's lookup), gets a state outside the table that answers
	// ErrNonexistent, never a second state for a directory that a later
	// rename would not know to lock.
	if name != "INBOX" && (s.busy[k] > 0 || !statID(dir).ok) {
		mb.deleted = true
		return mb
	}
	s.boxes[k] = mb
	s.quota.register(mb) // quota.go
	return mb
}

// renameBoxes re-keys the state of a folder and its children after a
// rename on disk. Their watchers follow (they hold the state, not the
// name) and are told the new name.
func (s *Store) renameBoxes(acct Account, oldName, newName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	root := s.AccountDir(acct)
	moved := map[boxKey]*mailbox{}
	for k, mb := range s.boxes {
		if k.acct != acct.ID {
			continue
		}
		var nn string
		switch {
		case k.name == oldName:
			nn = newName
		case len(k.name) > len(oldName) && k.name[:len(oldName)+1] == oldName+Separator:
			nn = newName + k.name[len(oldName):]
		default:
			continue
		}
		delete(s.boxes, k)
		mb.mu.Lock()
		mb.publishLocked([]Event{{Kind: EventFolderRenamed, NewName: nn}})
		mb.name = nn
		mb.dir = filepath.Join(root, encodeFolderDir(nn))
		mb.mu.Unlock()
		moved[boxKey{acct.ID, nn}] = mb
	}
	for k, mb := range moved {
		if stale := s.boxes[k]; stale != nil {
			// A state made for the new name before it existed: the
			// folder is the moved one now.
			stale.mu.Lock()
			stale.deleted = true
			stale.dropWatchersLocked()
			stale.mu.Unlock()
		}
		s.boxes[k] = mb
	}
}

// lockBoxes takes the commit lock (ulMu) of the live state of each named
// folder, in name order, so that a rename or deletion of the directories
// never lands between a batch reading a folder's directory and linking
// into it, and waits for the batches already started to be published, so
// that their events come before the rename's or the deletion's. Folders
// with no state in this process need none.
func (s *Store) lockBoxes(acct Account, names []string) (unlock func()) {
	sorted := slices.Compact(slices.Sorted(slices.Values(names)))
	var boxes []*mailbox
	s.mu.Lock()
	if s.busy == nil {
		s.busy = make(map[boxKey]int)
	}
	for _, n := range sorted {
		k := boxKey{acct.ID, n}
		s.busy[k]++ // no new state for it until unlock (box)
		if mb := s.boxes[k]; mb != nil {
			boxes = append(boxes, mb)
		}
	}
	s.mu.Unlock()
	for _, mb := range boxes {
		mb.ulMu.Lock()
	}
	for _, mb := range boxes {
		mb.settle() // completing a batch never takes ulMu
	}
	return func() {
		for i := len(boxes) - 1; i >= 0; i-- {
			boxes[i].ulMu.Unlock()
		}
		s.mu.Lock()
		for _, n := range sorted {
			k := boxKey{acct.ID, n}
			if s.busy[k]--; s.busy[k] <= 0 {
				delete(s.busy, k)
			}
		}
		s.mu.Unlock()
	}
}

// forgetBox drops the state of a deleted folder.
func (s *Store) forgetBox(acct Account, name string) {
	s.mu.Lock()
	mb := s.boxes[boxKey{acct.ID, name}]
	delete(s.boxes, boxKey{acct.ID, name})
	s.mu.Unlock()
	if mb != nil {
		mb.mu.Lock()
		mb.deleted = true
		mb.uncountLocked() // quota.go
		mb.dropWatchersLocked()
		mb.mu.Unlock()
	}
}

func (s *Store) dropAccountBoxes(acct Account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, mb := range s.boxes {
		if k.acct == acct.ID {
			delete(s.boxes, k)
			mb.mu.Lock()
			mb.deleted = true
			mb.dropWatchersLocked()
			mb.mu.Unlock()
		}
	}
	delete(s.treeMu, acct.ID)
}

func (mb *mailbox) isDeleted() bool {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.deleted
}

// currentName is the folder's name now (a rename changes it).
func (mb *mailbox) currentName() string {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.name
}

func (mb *mailbox) errDeleted() error {
	return fmt.Errorf("%w: %s", ErrNonexistent, mb.name)
}

// loadUIDListLocked (mu held) reads dovecot-uidlist if it changed since it
// was last read, creating it when missing and starting over (new
// UIDVALIDITY) when it is corrupt, as Dovecot does.
// haveLock says the caller holds the list's dot lock already.
func (mb *mailbox) loadUIDListLocked(ctx context.Context, haveLock bool) error {
	path := filepath.Join(mb.dir, uidlistName)
	id := statID(path)
	if mb.ulLoaded && id == mb.ulID && id.ok {
		return nil
	}
	ul, st, err := readUIDList(mb.dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, derr := os.Stat(mb.dir); derr != nil {
				return fmt.Errorf("%w: %s", ErrNonexistent, mb.name)
			}
		} else if !errors.Is(err, errUIDList) {
			return err
		} else {
			mb.s.log.Error("dovecot-uidlist unreadable: starting over with a new UIDVALIDITY", "account", mb.acct.Address, "folder", mb.name, "err", err)
		}
		uv, err := mb.s.nextUIDValidity(mb.s.AccountDir(mb.acct))
		if err != nil {
			return err
		}
		ul = &uidlist{uidValidity: uv, nextUID: 1, guid: newGUID()}
		if haveLock {
			err = mb.s.replaceFile(path, ul.format())
		} else {
			err = mb.s.rewriteUIDList(ctx, mb.dir, ul)
		}
		if err != nil {
			return err
		}
		st, _ = os.Stat(path)
	}
	if mb.ulLoaded && ul.uidValidity != mb.uidValidity {
		mb.s.log.Warn("UIDVALIDITY changed on disk", "account", mb.acct.Address, "folder", mb.name)
		mb.loaded = false
	}
	mb.uidValidity, mb.nextUID, mb.guid, mb.hdrExtra = ul.uidValidity, ul.nextUID, ul.guid, ul.hdrExtra
	mb.ulRecs = make(map[string]ulRec, len(ul.recs))
	for _, r := range ul.recs {
		mb.ulRecs[r.base] = r
	}
	mb.ulID = idOf(st)
	mb.ulTorn = ul.torn
	mb.ulLoaded = true
	return nil
}

type dirEntry struct {
	name  string
	inNew bool
}

func readNames(dir string, inNew bool, out []dirEntry) ([]dirEntry, error) {
	f, err := os.Open(dir)
	if err != nil {
		return out, err
	}
	defer f.Close()
	for {
		names, err := f.Readdirnames(4096)
		for _, n := range names {
			if n == "" || n[0] == '.' {
				continue
			}
			out = append(out, dirEntry{n, inNew})
		}
		if err == io.EOF || len(names) == 0 {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// refresh brings the state up to date with the disk and publishes what
// changed. Files nobody gave a UID yet get one (appended to the list).
func (mb *mailbox) refresh(ctx context.Context) error {
	mb.settle()
	mb.mu.Lock()
	fresh := mb.upToDateLocked()
	mb.mu.Unlock()
	if fresh {
		return nil
	}
	// A scan may have to write dovecot-uidlist (missing or corrupt): it
	// runs under ulMu like every other writer of the list.
	mb.ulMu.Lock()
	mb.mu.Lock()
	unknown, err := mb.scanLocked(ctx)
	mb.mu.Unlock()
	mb.ulMu.Unlock()
	if err != nil || len(unknown) == 0 {
		return err
	}
	ps := make([]*pending, len(unknown))
	for i, m := range unknown {
		ps[i] = &pending{rec: m, existing: true}
	}
	return mb.assign(ctx, ps)
}

// upToDateLocked says nothing changed on disk since the last scan (four
// stat calls).
func (mb *mailbox) upToDateLocked() bool {
	if !mb.loaded || mb.dirty || mb.deleted || !mb.ulLoaded {
		return false
	}
	if statID(filepath.Join(mb.dir, "new")) != mb.newID || statID(filepath.Join(mb.dir, "cur")) != mb.curID {
		return false
	}
	if statID(filepath.Join(mb.dir, uidlistName)) != mb.ulID {
		return false
	}
	return mb.kw != nil && statID(filepath.Join(mb.dir, keywordsName)) == idOf(mb.kw.st)
}

// scanLocked (ulMu and mu held) re-reads the directories if they changed. It
// returns files that have no UID yet, with sizes and mtimes filled in.
func (mb *mailbox) scanLocked(ctx context.Context) ([]*msgRec, error) {
	if mb.deleted {
		return nil, mb.errDeleted()
	}
	if err := mb.loadUIDListLocked(ctx, false); err != nil {
		return nil, err
	}
	if err := mb.loadKeywordsLocked(); err != nil {
		return nil, err
	}
	newID := statID(filepath.Join(mb.dir, "new"))
	curID := statID(filepath.Join(mb.dir, "cur"))
	if !newID.ok || !curID.ok {
		if _, err := os.Stat(mb.dir); err != nil {
			return nil, fmt.Errorf("%w: %s", ErrNonexistent, mb.name)
		}
		return nil, fmt.Errorf("maildir: folder %s lacks new/ or cur/", mb.name)
	}
	if mb.loaded && !mb.dirty && newID == mb.newID && curID == mb.curID {
		return nil, nil
	}
	now := time.Now().UnixNano()
	mb.dirty = now-newID.mtime < int64(mtimeGrain) || now-curID.mtime < int64(mtimeGrain)

	var entries []dirEntry
	var err error
	// new/ before cur/: a file moving from new/ to cur/ meanwhile is seen
	// in cur/ at least.
	if entries, err = readNames(filepath.Join(mb.dir, "new"), true, nil); err != nil {
		return nil, fmt.Errorf("maildir: read new/: %w", err)
	}
	if entries, err = readNames(filepath.Join(mb.dir, "cur"), false, entries); err != nil {
		return nil, fmt.Errorf("maildir: read cur/: %w", err)
	}
	if mb.byBase == nil || !mb.loaded {
		mb.byBase = make(map[string]*msgRec, len(entries))
		mb.byUID = make(map[uint32]*msgRec, len(entries))
		mb.msgs = nil
	}
	seen := make(map[string]bool, len(entries))
	var evs []Event
	var added, unknown []*msgRec
	for _, e := range entries {
		base, info, hasInfo := splitName(e.name)
		if seen[base] && e.inNew {
			continue
		}
		seen[base] = true
		if mb.inflight[base] {
			continue // being committed: it is published when durable
		}
		info = normInfo(info)
		if m := mb.byBase[base]; m != nil {
			if m.inNew != e.inNew || m.info != info || m.hasInfo != hasInfo {
				changed := m.info != info
				m = m.with(info, e.inNew, hasInfo)
				mb.replaceLocked(m)
				if changed && mb.loaded {
					evs = append(evs, Event{Kind: EventFlags, UID: m.uid, Flags: mb.flagsOf(m)})
				}
			}
			continue
		}
		m := &msgRec{base: base, info: info, hasInfo: hasInfo, inNew: e.inNew}
		m.psize, m.vsize = sizesFromBase(base)
		if r, ok := mb.ulRecs[base]; ok {
			m.uid = r.uid
			added = append(added, m)
		} else {
			unknown = append(unknown, m)
		}
	}
	// Gone from disk: expunged by another program (or renamed while we
	// read; a second look tells).
	var gone []*msgRec
	for base, m := range mb.byBase {
		if !seen[base] {
			gone = append(gone, m)
		}
	}
	if len(gone) > 0 {
		// A rename (flag change, new/ to cur/) racing with the reads may
		// hide a file from both; read the directories once more.
		again, _ := readNames(filepath.Join(mb.dir, "new"), true, nil)
		again, _ = readNames(filepath.Join(mb.dir, "cur"), false, again)
		where := make(map[string]dirEntry, len(again))
		for _, e := range again {
			b, _, _ := splitName(e.name)
			if _, ok := where[b]; !ok || !e.inNew {
				where[b] = e
			}
		}
		still := gone[:0]
		for _, m := range gone {
			if e, ok := where[m.base]; ok {
				_, info, hasInfo := splitName(e.name)
				info = normInfo(info)
				changed := info != m.info
				m = m.with(info, e.inNew, hasInfo)
				mb.replaceLocked(m)
				if changed && mb.loaded {
					evs = append(evs, Event{Kind: EventFlags, UID: m.uid, Flags: mb.flagsOf(m)})
				}
				continue
			}
			still = append(still, m)
		}
		gone = still
		if len(gone) > 0 {
			sort.Slice(gone, func(i, j int) bool { return gone[i].uid < gone[j].uid })
			for _, m := range gone {
				delete(mb.byBase, m.base)
				delete(mb.byUID, m.uid)
				if mb.loaded {
					evs = append(evs, Event{Kind: EventExpunge, UID: m.uid})
				}
			}
			mb.compactMsgsLocked()
		}
	}
	var idx map[string]idxEnt
	var highest uint64
	first := !mb.loaded
	if first {
		idx, highest = mb.loadIndex(ctx)
	}
	mb.uncached += fillStat(mb.dir, append(added, unknown...), idx)
	for _, m := range added {
		if m.vsize < 0 { // vanished while we looked
			continue
		}
		mb.byBase[m.base] = m
		mb.byUID[m.uid] = m
	}
	if len(added) > 0 {
		mb.msgs = mb.msgs[:0]
		for _, m := range mb.byUID {
			mb.msgs = append(mb.msgs, m)
		}
		sort.Slice(mb.msgs, func(i, j int) bool { return mb.msgs[i].uid < mb.msgs[j].uid })
		if mb.loaded {
			for _, m := range added {
				if m.vsize >= 0 {
					evs = append(evs, Event{Kind: EventNew, UID: m.uid, Flags: mb.flagsOf(m), Size: m.vsize, InternalDate: m.mtime})
				}
			}
		}
	}
	mb.newID, mb.curID = newID, curID
	if first {
		mb.loadModseqsLocked(idx, highest)
	}
	mb.loaded = true
	mb.recountLocked() // quota.go
	mb.publishLocked(evs)
	mb.maybeSaveIndexLocked()
	live := unknown[:0]
	for _, m := range unknown {
		if m.vsize >= 0 {
			live = append(live, m)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].base < live[j].base })
	return live, nil
}

func (mb *mailbox) compactMsgsLocked() {
	out := mb.msgs[:0]
	for _, m := range mb.msgs {
		if mb.byUID[m.uid] == m {
			out = append(out, m)
		}
	}
	for i := len(out); i < len(mb.msgs); i++ {
		mb.msgs[i] = nil
	}
	mb.msgs = out
}

// fillStat finds the mtimes (INTERNALDATE) and sizes the names do not
// carry: from the saved index if it has them, else by stat (and reading
// files without a W= size), a few at a time. A file that vanished gets
// vsize -1. It returns how many were not in the index.
func fillStat(dir string, ms []*msgRec, idx map[string]idxEnt) int {
	var todo []*msgRec
	for _, m := range ms {
		if e, ok := idx[m.base]; ok && e.vsize >= 0 && e.psize >= 0 {
			m.mtime = time.Unix(0, e.mtime)
			if m.psize < 0 {
				m.psize = e.psize
			}
			if m.vsize < 0 {
				m.vsize = e.vsize
			}
			continue
		}
		todo = append(todo, m)
	}
	if len(todo) == 0 {
		return 0
	}
	workers := 8
	if len(todo) < 64 {
		workers = 1
	}
	var wg sync.WaitGroup
	ch := make(chan *msgRec, 256)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range ch {
				st, err := os.Stat(m.path(dir))
				if err != nil {
					m.vsize = -1
					continue
				}
				m.mtime = st.ModTime()
				if m.psize < 0 {
					m.psize = st.Size()
				}
				if m.vsize < 0 {
					v, err := crlfSize(m.path(dir))
					if err != nil {
						m.vsize = -1
						continue
					}
					m.vsize = v
				}
			}
		}()
	}
	for _, m := range todo {
		ch <- m
	}
	close(ch)
	wg.Wait()
	return len(todo)
}

// crlfSize is a file's size with every bare LF counted as CRLF.
func crlfSize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64*1024)
	var n int64
	var prev byte
	for {
		b, err := r.ReadByte()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		if b == '\n' && prev != '\r' {
			n++
		}
		n++
		prev = b
	}
}

func (mb *mailbox) loadKeywordsLocked() error {
	path := filepath.Join(mb.dir, keywordsName)
	if mb.kw != nil {
		id := statID(path)
		if id == idOf(mb.kw.st) {
			return nil
		}
	}
	kw, err := readKeywords(mb.dir)
	if err != nil {
		return err
	}
	mb.kw = kw
	mb.kwGen++
	return nil
}

// flagsOf returns IMAP flags of a message: system flags then keywords,
// sorted.
func (mb *mailbox) flagsOf(m *msgRec) []string {
	if m.flags != nil && m.flagsInfo == m.info && m.flagsGen == mb.kwGen {
		return m.flags
	}
	fl := []string{}
	for i := 0; i < len(m.info); i++ {
		c := m.info[i]
		switch {
		case c >= 'a' && c <= 'z':
			if mb.kw != nil {
				if n := mb.kw.name(c); n != "" {
					fl = append(fl, n)
				}
			}
		default:
			for _, f := range systemFlags {
				if f.letter == c {
					fl = append(fl, f.flag)
				}
			}
		}
	}
	sort.Strings(fl)
	// Clipped: the slice goes to callers and events, shared; an append
	// by one of them must not write into it.
	fl = fl[:len(fl):len(fl)]
	m.flags, m.flagsInfo, m.flagsGen = fl, m.info, mb.kwGen
	return fl
}
