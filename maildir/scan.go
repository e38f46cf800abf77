package maildir

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Reading a folder from the disk: dovecot-uidlist, new/ and cur/, and
// what changed since the last look.

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
		// Sessions showing the folder hold UIDs of the old UIDVALIDITY,
		// which IMAP cannot announce a change of: their folder is gone
		// for them (they select it again; AppendWithUIDs, importuids.go).
		mb.dropWatchersLocked()
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
	if h := mb.s.beforeScanLock; h != nil {
		h()
	}
	mb.ulMu.Lock()
	// A batch that started since the settle above has UIDs in the list
	// and is not published: the scan would announce what another program
	// listed after it first, out of UID order. No batch starts while ulMu
	// is held, and completing one never takes it (boxes.go does the same).
	mb.settle()
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
			// In UID order, not the directory's: a session drops a new
			// message whose UID is below one it was told of
			// (TestOtherProcessAppendsReachSessions).
			sort.Slice(added, func(i, j int) bool { return added[i].uid < added[j].uid })
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
