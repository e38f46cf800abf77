package maildir

import (
	"context"
	"time"
)

// Mod-sequences (RFC 7162 3.1.1): every message carries the modseq of its
// last change, and the folder the highest modseq given. They live in the
// folder's state, beside UIDs and flags, and are given in one place:
// where a change is applied and queued to watchers (publishFromLocked),
// so no change can go without one.
//
// A modseq is max(highest+1, the time in microseconds). Across a restart
// the folder index (index.go) brings back every message's modseq and the
// flags it had then; a message whose flags differ from the saved ones, or
// that the index does not hold, changed while nothing recorded it (a
// crash after the change, another program), and gets a new modseq, which
// the clock makes larger than any given before the restart. So modseqs
// only grow and a change never keeps an old one, without a database write
// per flag change; the price is that a crash makes clients that cache by
// modseq refetch the flags of messages changed since the last save.
// (This assumes the clock does not run backwards across a restart.)

// modseqSaveEvery: the index is saved in the background after this many
// changes it does not hold, and at Close.
const modseqSaveEvery = 1000

// nextModseqLocked gives out the next modseq (mu held).
func (mb *mailbox) nextModseqLocked() uint64 {
	ms := max(mb.highestModseq+1, uint64(time.Now().UnixMicro()))
	mb.highestModseq = ms
	return ms
}

// stampLocked records the modseqs of published changes (mu held).
func (mb *mailbox) stampLocked(evs []Event) {
	for i := range evs {
		switch evs[i].Kind {
		case EventNew, EventFlags:
			ms := mb.nextModseqLocked()
			if mb.modseqs == nil {
				mb.modseqs = make(map[uint32]uint64)
			}
			mb.modseqs[evs[i].UID] = ms
			evs[i].ModSeq = ms
			mb.unsavedModseqs++
		case EventExpunge:
			evs[i].ModSeq = mb.nextModseqLocked()
			delete(mb.modseqs, evs[i].UID)
			// The folder's HIGHESTMODSEQ moved: an index that does
			// not hold it would bring back a lower one at restart.
			mb.unsavedModseqs++
		}
	}
	if mb.unsavedModseqs >= modseqSaveEvery {
		mb.uncached = indexSaveEvery // save now
		mb.maybeSaveIndexLocked()
	}
}

// loadModseqsLocked gives the messages of a first scan their modseqs
// (mu held): the saved one where the index has the message with the same
// flags, a new one otherwise.
func (mb *mailbox) loadModseqsLocked(idx map[string]idxEnt, highest uint64) {
	mb.highestModseq = max(mb.highestModseq, highest)
	if mb.modseqs == nil {
		mb.modseqs = make(map[uint32]uint64, len(mb.msgs))
	}
	var fresh uint64
	for _, m := range mb.msgs {
		if _, ok := mb.modseqs[m.uid]; ok {
			continue
		}
		if e, ok := idx[m.base]; ok && e.modseq != 0 && e.info == m.info {
			mb.modseqs[m.uid] = e.modseq
			mb.highestModseq = max(mb.highestModseq, e.modseq)
			continue
		}
		if fresh == 0 {
			fresh = mb.nextModseqLocked()
		}
		mb.modseqs[m.uid] = fresh
		mb.unsavedModseqs++
	}
}

// modseqOf is a message's modseq (mu held).
func (mb *mailbox) modseqOf(m *msgRec) uint64 {
	if ms, ok := mb.modseqs[m.uid]; ok {
		return ms
	}
	// Numbered after the first scan without an event yet (a commit in
	// flight): it is stamped when published.
	return mb.highestModseq
}

// saveIndexes writes the index of every folder whose modseqs changed
// since it was last saved (Close), so that a clean restart keeps them.
func (s *Store) saveIndexes(ctx context.Context) {
	s.mu.Lock()
	boxes := make([]*mailbox, 0, len(s.boxes))
	for _, mb := range s.boxes {
		boxes = append(boxes, mb)
	}
	s.mu.Unlock()
	for _, mb := range boxes {
		mb.mu.Lock()
		if !mb.loaded || mb.deleted || mb.unsavedModseqs == 0 {
			mb.mu.Unlock()
			continue
		}
		job := mb.indexJobLocked()
		mb.mu.Unlock()
		job.save(ctx, s)
	}
}
