package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bringing mail in from another server (package migrate) with the UIDs it
// had there. IMAP clients cache messages by (UIDVALIDITY, UID) (RFC 9051
// 2.3.1.1); a migration that keeps both lets them keep their caches. The
// rule that makes it safe: a folder's UIDVALIDITY and UIDs are only set
// from outside while the folder has never numbered a message, so no
// client can have cached anything under the UIDVALIDITY it had, and UIDs
// given afterwards (deliveries) are above every imported one.

// ErrUIDsInUse: AppendWithUIDs was asked to set the UIDs of a folder that
// has numbered messages already (or holds files not yet numbered); the
// caller imports with new UIDs instead (Append).
var ErrUIDsInUse = errors.New("folder has numbered messages: its UIDVALIDITY and UIDs cannot be set")

// ImportMessage is one message for AppendWithUIDs.
type ImportMessage struct {
	UID   uint32
	Open  func() (io.ReadCloser, error) // the message (LF or CRLF line ends)
	Flags []string                      // system flags and keywords, as for Append
	Date  time.Time                     // INTERNALDATE; zero: now
}

// AppendWithUIDs stores msgs in the folder with exactly their UIDs under
// uidValidity, and sets the folder's next UID to at least nextUID (the
// source's, so that UIDs the source gave to messages expunged there are
// never given again here). UIDs must ascend. It is all or nothing, done
// as one commit of the folder:
//
//   - every message is written to the spool and fsynced first, outside
//     any lock; a message whose Open or write fails is reported in errs
//     (its UID is left out) and the rest go on;
//   - then, under the folder's commit lock and the dot lock of
//     dovecot-uidlist (lock order, doc.go), it checks that the folder
//     has never numbered a message (no record, next UID 1, nothing in
//     new/ or cur/) and that no session of this process watches it,
//     else ErrUIDsInUse and nothing changed; links the files into cur/,
//     fsyncs cur/, and replaces dovecot-uidlist (written whole, fsynced,
//     renamed over) with the new UIDVALIDITY, next UID and records.
//
// Deliveries to the folder meanwhile wait for the commit lock (in this
// process) or the dot lock (another process, e.g. the server while the
// CLI imports) and are numbered after the imported messages, so UIDs
// still only grow. Another process that showed the folder (empty, since
// it never held a message) sees its UIDVALIDITY change: its sessions on
// it are told the folder went away (scan.go), and select it again.
func (f *Folder) AppendWithUIDs(ctx context.Context, uidValidity, nextUID uint32, msgs []ImportMessage) (uids []uint32, errs []error, err error) {
	mb, s := f.mb, f.s
	if uidValidity == 0 {
		return nil, nil, errors.New("maildir: UIDVALIDITY 0")
	}
	for i, m := range msgs {
		if m.UID == 0 || (i > 0 && m.UID <= msgs[i-1].UID) {
			return nil, nil, fmt.Errorf("maildir: imported UIDs must ascend (UID %d)", m.UID)
		}
	}
	if n := len(msgs); n > 0 && nextUID <= msgs[n-1].UID {
		nextUID = msgs[n-1].UID + 1
	}
	if err := mb.refresh(ctx); err != nil {
		return nil, nil, err
	}
	if !mb.neverNumbered() {
		return nil, nil, ErrUIDsInUse
	}
	var kws []string
	for _, m := range msgs {
		for _, fl := range m.Flags {
			if !strings.HasPrefix(fl, `\`) && !slices.Contains(kws, fl) {
				kws = append(kws, fl)
			}
		}
	}
	if err := mb.ensureKeywords(ctx, kws); err != nil {
		return nil, nil, err
	}

	// 1. Spool every message, outside any lock.
	type staged struct {
		tmp  string
		rec  *msgRec
		idx  int
		link string
	}
	var st []*staged
	errs = make([]error, len(msgs))
	cleanup := func() {
		for _, x := range st {
			s.fs.remove(x.tmp)
			if x.link != "" {
				s.fs.remove(x.link)
			}
		}
	}
	// In a directory of its own in the spool: the clean-up of old spool
	// files (cleanSpool, run when any process opens the store) looks at
	// mtimes, which are the messages' dates here, and never removes a
	// directory that is not empty.
	stageDir, err := s.spoolPath("import")
	if err != nil {
		return nil, nil, err
	}
	if err := os.Mkdir(stageDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("maildir: spool: %w", err)
	}
	defer os.RemoveAll(stageDir)
	var total int64
	for i, m := range msgs {
		if err := ctx.Err(); err != nil {
			cleanup()
			return nil, nil, err
		}
		x, err := s.stageImport(m, filepath.Join(stageDir, strconv.Itoa(i)))
		if err != nil {
			errs[i] = err
			continue
		}
		x.uid = m.UID
		total += x.psize
		st = append(st, &staged{tmp: x.tmpPath, rec: x.msgRec, idx: i})
	}
	if err := s.CheckQuota(ctx, mb.acct, total); err != nil {
		cleanup()
		return nil, nil, err
	}

	// 2. One commit under the commit lock and the list's dot lock.
	mb.ulMu.Lock()
	defer mb.ulMu.Unlock()
	mb.settle()
	mb.mu.Lock()
	dir, deleted := mb.dir, mb.deleted
	mb.mu.Unlock()
	if deleted {
		cleanup()
		return nil, nil, mb.errDeleted()
	}
	lock, err := s.dotlock(ctx, filepath.Join(dir, uidlistName))
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	defer lock.release()
	mb.mu.Lock()
	err = mb.loadUIDListLocked(ctx, true)
	fresh := err == nil && mb.neverNumberedLocked()
	if fresh {
		for _, x := range st {
			x.rec.info, err = mb.flagInfo(msgs[x.idx].Flags)
			if err != nil {
				break
			}
		}
	}
	mb.mu.Unlock()
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	if fresh {
		ents, err := readNames(filepath.Join(dir, "new"), true, nil)
		if err == nil {
			ents, err = readNames(filepath.Join(dir, "cur"), false, ents)
		}
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("maildir: read folder: %w", err)
		}
		fresh = len(ents) == 0
	}
	if !fresh {
		cleanup()
		return nil, nil, ErrUIDsInUse
	}
	ul := &uidlist{uidValidity: uidValidity, nextUID: nextUID, guid: newGUID()}
	for _, x := range st {
		dst := filepath.Join(dir, "cur", x.rec.filename())
		if err := s.fs.link(x.tmp, dst, false); err != nil {
			if !isNoLink(err) || s.copyFile(x.tmp, dst) != nil {
				cleanup()
				return nil, nil, fmt.Errorf("maildir: place imported message: %w", &os.LinkError{Op: "link", Old: x.tmp, New: dst, Err: err})
			}
		}
		x.link = dst
		ul.recs = append(ul.recs, ulRec{uid: x.rec.uid, base: x.rec.base})
	}
	if err := s.fsyncDir(filepath.Join(dir, "cur")); err != nil {
		cleanup()
		return nil, nil, err
	}
	mb.mu.Lock()
	if len(mb.watchers) > 0 {
		// A session of this process selected the folder meanwhile: it
		// was told the old UIDVALIDITY.
		mb.mu.Unlock()
		cleanup()
		return nil, nil, ErrUIDsInUse
	}
	// Under mu, as a corrupt list is replaced (scan.go): no session of
	// this process can start watching between the check and the switch.
	err = s.replaceFile(filepath.Join(dir, uidlistName), ul.format())
	if err == nil {
		// The state (loaded, empty) takes the new UIDVALIDITY now, and
		// the next reader's scan finds the messages and announces them:
		// a session that starts watching from here on is told the new
		// UIDVALIDITY and then the messages, in UID order.
		mb.uidValidity, mb.nextUID, mb.guid = ul.uidValidity, ul.nextUID, ul.guid
		mb.ulLoaded, mb.dirty = false, true
	}
	mb.mu.Unlock()
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	uids = make([]uint32, len(msgs))
	for _, x := range st {
		s.fs.remove(x.tmp)
		uids[x.idx] = x.rec.uid
	}
	return uids, errs, nil
}

// stagedImport is one message written to the spool for AppendWithUIDs.
type stagedImport struct {
	*msgRec
	tmpPath string
}

func (s *Store) stageImport(m ImportMessage, tmp string) (stagedImport, error) {
	r, err := m.Open()
	if err != nil {
		return stagedImport{}, err
	}
	defer r.Close()
	size, err := s.writeMessageFile(tmp, r)
	if err != nil {
		return stagedImport{}, err
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	if err := os.Chtimes(tmp, date, date); err != nil {
		s.fs.remove(tmp)
		return stagedImport{}, fmt.Errorf("maildir: set internal date: %w", err)
	}
	rec := &msgRec{base: s.newBaseName(time.Now(), size, size), hasInfo: true, psize: size, vsize: size, mtime: date.Truncate(time.Second)}
	return stagedImport{msgRec: rec, tmpPath: tmp}, nil
}

// neverNumbered says the folder never gave a UID, as last read.
func (mb *mailbox) neverNumbered() bool {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.neverNumberedLocked()
}

func (mb *mailbox) neverNumberedLocked() bool {
	return mb.ulLoaded && len(mb.ulRecs) == 0 && mb.nextUID <= 1 && len(mb.msgs) == 0 && len(mb.inflight) == 0
}

// DovecotUIDList is what a dovecot-uidlist says (read by ReadUIDList).
type DovecotUIDList struct {
	UIDValidity uint32
	NextUID     uint32
	UIDs        map[string]uint32 // base name (file name before ":2,") -> UID
}

// ReadUIDList reads the dovecot-uidlist of a Maildir folder directory
// (version 3 or 1) without taking its lock: a migration source, or a
// list the caller holds the lock of.
func ReadUIDList(dir string) (DovecotUIDList, error) {
	ul, _, err := readUIDList(dir)
	if err != nil {
		return DovecotUIDList{}, err
	}
	out := DovecotUIDList{UIDValidity: ul.uidValidity, NextUID: ul.nextUID, UIDs: make(map[string]uint32, len(ul.recs))}
	for _, r := range ul.recs {
		out.UIDs[r.base] = r.uid
	}
	return out, nil
}

// ReadKeywordNames reads a folder directory's dovecot-keywords: the
// keyword of each letter 'a'..'z' ("" where none).
func ReadKeywordNames(dir string) ([26]string, error) {
	kw, err := readKeywords(dir)
	if err != nil {
		return [26]string{}, err
	}
	return kw.names, nil
}

// FolderNameOfDir maps a Maildir++ directory name (".a.b", in modified
// UTF-7, listescape'd) to the folder name immp gives it ("a/b"), as
// Dovecot with separator "/" does; ok is false for names immp cannot
// hold as they are.
func FolderNameOfDir(dirName string) (string, bool) { return decodeFolderDir(dirName) }

// SplitFileName splits a Maildir file name into its base name (the
// unique part dovecot-uidlist records) and its info letters.
func SplitFileName(name string) (base, info string) {
	b, i, _ := splitName(name)
	return b, i
}
