package maildir

import "context"

// Conditional flag changes (RFC 7162 3.1.3, STORE UNCHANGEDSINCE): a
// message's flags change only if its modseq is at most a given value.
// The test and the change are made in one critical section under the
// folder's state lock (storeFlags), so no change by another session can
// come between them: a message that passed was unchanged since the value
// at the moment it was changed (TestStoreUnchangedSinceIsAtomic).

// storeCond is the test a conditional store applies to each message;
// the UIDs that fail it are collected in modified.
type storeCond struct {
	unchangedSince uint64
	modified       []uint32
}

// passes tests m (mb.mu held); a nil cond passes everything.
func (c *storeCond) passes(mb *mailbox, m *msgRec) bool {
	if c == nil {
		return true
	}
	if mb.modseqOf(m) > c.unchangedSince {
		c.modified = append(c.modified, m.uid)
		return false
	}
	return true
}

// StoreFlagsIf is StoreFlags for the messages whose modseq is at most
// unchangedSince (0: none passes, every message having a modseq). It
// returns the messages changed or left as they were, as StoreFlags does,
// and the UIDs of those that failed the test, in the order asked.
func (f *Folder) StoreFlagsIf(ctx context.Context, uids []uint32, op FlagOp, flags []string, unchangedSince uint64) ([]Message, []uint32, error) {
	c := &storeCond{unchangedSince: unchangedSince}
	out, err := f.mb.storeFlags(ctx, uids, op, flags, nil, c)
	return out, c.modified, err
}

// StoreFlagsIf is Folder.StoreFlagsIf made by this watcher's session,
// whose watcher is not told of the changes (as Watcher.StoreFlags).
func (w *Watcher) StoreFlagsIf(ctx context.Context, uids []uint32, op FlagOp, flags []string, unchangedSince uint64) ([]Message, []uint32, error) {
	c := &storeCond{unchangedSince: unchangedSince}
	out, err := w.mb.storeFlags(ctx, uids, op, flags, w, c)
	return out, c.modified, err
}
