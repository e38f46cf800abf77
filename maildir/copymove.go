package maildir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Copy and Move between folders (RFC 9051 6.4.7, RFC 6851).

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
