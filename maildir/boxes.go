package maildir

import (
	"path/filepath"
	"slices"
)

// The table of folder states (Store.boxes): one mailbox per directory,
// re-keyed by renames, dropped by deletions (lock order: doc.go).

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
