package maildir

import (
	"fmt"
	"os"
	"path/filepath"
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
