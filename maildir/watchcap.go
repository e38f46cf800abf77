package maildir

// A watcher's queue is bounded by the folder, not by time.
//
// A session that selects a folder and then says nothing (IMAP allows 30
// minutes) would otherwise hold every change made meanwhile. When the
// queue passes compactAt, it is compacted to the same net effect for the
// session, with these rules, which are exactly what a session reduces a
// queue to anyway (imap/select.go update):
//   - a message's flag changes: only the last flags count. They are kept
//     at the place of its first queued change (so a client hears of
//     changed messages in the same order) and the later ones dropped.
//   - the folder's keyword list only grows: the last list is kept at the
//     place of the first queued one, ahead of every flag change that
//     could use a new keyword (FLAGS before FETCH).
//   - a message that arrived after everything the session was told (its
//     UID above told) and was expunged before the session read the queue
//     leaves no trace: its EventNew, flag changes and EventExpunge all go.
//     An expunge of a message the session may know is always kept.
//
// After compaction the queue holds at most one event per message the
// session may hear of, one expunge per message it knows, and a few folder
// events: a bound proportional to the folder state this layer holds
// anyway. compactAt then doubles from what is left, so the work is
// amortised O(1) per event.

// minCompactAt is the queue length at which compaction is first tried.
const minCompactAt = 4096

// compactLocked (w.mu held) applies the rules above to w.queue.
func (w *Watcher) compactLocked() {
	q := w.queue
	// UIDs unknown to the session that are expunged in this queue.
	arrived := map[uint32]bool{}
	vanish := map[uint32]bool{}
	for _, ev := range q {
		switch {
		case ev.Kind == EventNew && ev.UID > w.told:
			arrived[ev.UID] = true
		case ev.Kind == EventExpunge && arrived[ev.UID]:
			vanish[ev.UID] = true
		}
	}
	lastFlags := map[uint32]int{} // UID -> index of its last EventFlags
	lastKeywords := -1
	for i, ev := range q {
		switch ev.Kind {
		case EventFlags:
			lastFlags[ev.UID] = i
		case EventKeywords:
			lastKeywords = i
		}
	}
	out := q[:0:0]
	placedFlags := map[uint32]bool{}
	placedKeywords := false
	for _, ev := range q {
		if vanish[ev.UID] && (ev.Kind == EventNew || ev.Kind == EventFlags || ev.Kind == EventExpunge) {
			continue
		}
		switch ev.Kind {
		case EventFlags:
			if placedFlags[ev.UID] {
				continue
			}
			placedFlags[ev.UID] = true
			last := q[lastFlags[ev.UID]]
			ev.Flags, ev.ModSeq = last.Flags, last.ModSeq
		case EventKeywords:
			if placedKeywords {
				continue
			}
			placedKeywords = true
			ev.Keywords = q[lastKeywords].Keywords
		}
		out = append(out, ev)
	}
	w.queue = out
	w.compactAt = max(w.compactAt, 2*len(out))
}
