package maildir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Snapshots of folders for a backup taken while the server runs (package
// backup). What numbers messages is held still while a folder is copied:
// the folder's commit lock in this process and the dot lock of
// dovecot-uidlist, which every process (immp's committers, Dovecot) takes
// to append or rewrite the list. Under them the list's records cannot
// change. Files may still: a file can be linked into new/ or cur/ before
// its batch waits for the dot lock (placed but not numbered, so not yet
// acknowledged), renamed by a flag change, or removed by an expunge; the
// copier keeps exactly the files that have a record and the records that
// have a file, so a message is in the copy with its UID, or not at all.
// Message files are never written in place once in new/ or cur/, so a
// hard link or a copy of one taken at any time is the whole message.

// FolderSnapshot is a folder's dovecot-uidlist as read under its locks.
type FolderSnapshot struct {
	Name    string // absolute IMAP name
	Dir     string // the folder's directory
	Records []SnapshotRecord
	ul      *uidlist
}

// SnapshotRecord is one record of dovecot-uidlist.
type SnapshotRecord struct {
	UID  uint32
	Base string // the file's base name (before ":2,")
}

// UIDValidity is the folder's UIDVALIDITY.
func (fs *FolderSnapshot) UIDValidity() uint32 { return fs.ul.uidValidity }

// NextUID is the folder's next UID.
func (fs *FolderSnapshot) NextUID() uint32 { return fs.ul.nextUID }

// List returns dovecot-uidlist as it was, with only the records whose
// base name keep holds: same UIDVALIDITY, next UID, GUID and header
// fields, so that a folder restored from it gives no UID twice.
func (fs *FolderSnapshot) List(keep map[string]bool) []byte {
	out := &uidlist{uidValidity: fs.ul.uidValidity, nextUID: fs.ul.nextUID, guid: fs.ul.guid, hdrExtra: fs.ul.hdrExtra}
	for _, r := range fs.ul.recs {
		if keep[r.base] {
			out.recs = append(out.recs, r)
		}
	}
	return out.format()
}

// SnapshotFolder calls fn with the folder's list while holding the
// folder's commit lock and the dot lock of its dovecot-uidlist (lock
// order, doc.go: the commit lock, then the dot lock under it). fn should
// be quick (it delays deliveries to the folder): list and link the files.
func (s *Store) SnapshotFolder(ctx context.Context, acct Account, name string, fn func(*FolderSnapshot) error) error {
	n, err := s.resolveFolder(acct, name)
	if err != nil {
		return err
	}
	mb := s.box(acct, n)
	mb.ulMu.Lock()
	defer mb.ulMu.Unlock()
	mb.settle()
	mb.mu.Lock()
	dir, deleted := mb.dir, mb.deleted
	mb.mu.Unlock()
	if deleted {
		return mb.errDeleted()
	}
	lock, err := s.dotlock(ctx, filepath.Join(dir, uidlistName))
	if err != nil {
		return err
	}
	defer lock.release()
	ul, _, err := readUIDList(dir)
	if errors.Is(err, os.ErrNotExist) {
		if _, derr := os.Stat(dir); derr != nil {
			return fmt.Errorf("%w: %s", ErrNonexistent, n)
		}
		// No list yet (a folder another program made): nothing is
		// numbered, so nothing is copied; the restored folder numbers
		// afresh.
		ul = &uidlist{}
		err = nil
	}
	if err != nil {
		return fmt.Errorf("maildir: snapshot %s: %w", n, err)
	}
	snap := &FolderSnapshot{Name: n, Dir: dir, ul: ul}
	for _, r := range ul.recs {
		snap.Records = append(snap.Records, SnapshotRecord{UID: r.uid, Base: r.base})
	}
	return fn(snap)
}
