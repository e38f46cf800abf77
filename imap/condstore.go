package imap

import (
	"context"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/immp-mail/immp/maildir"
)

// CONDSTORE (RFC 7162 section 3.1). The mod-sequences are the mailbox
// layer's (maildir/modseq.go): a message's is read with its flags from
// the folder's state, a change's comes with its event, and the session
// keeps none. go-imap (as patched in third_party/go-imap) parses the
// modifiers and items and marks the connection CONDSTORE-aware after an
// enabling command (ENABLE CONDSTORE, SELECT/EXAMINE (CONDSTORE), STATUS
// (HIGHESTMODSEQ), FETCH MODSEQ or CHANGEDSINCE, SEARCH MODSEQ, STORE
// UNCHANGEDSINCE); this file decides what the values are. QRESYNC (RFC
// 7162 section 3.2) is in qresync.go.

// condStore says the client has enabled CONDSTORE (RFC 7162 section 3.1):
// every untagged FETCH that reports flags then carries MODSEQ.
func (s *session) condStore() bool {
	return s.conn.EnabledCaps().Has(imap.CapCondStore)
}

// wireModSeq is a mod-sequence as sent: a folder that never changed has
// HIGHESTMODSEQ 0 in the mailbox layer, and the protocol's values are
// positive (RFC 7162 section 7, mod-sequence-value); every change gets
// one above 1.
func wireModSeq(ms uint64) uint64 { return max(ms, 1) }

// pollCondStore runs in every poll: a client that became CONDSTORE-aware
// with a folder already selected is told the folder's HIGHESTMODSEQ
// once, with the updates (RFC 7162 section 3.1). The value is read
// before the queued changes are written (update), so that every change
// at or below it is known to the client when the value reaches it. A
// folder that cannot be read now (deleted meanwhile: the update says
// so) is tried again at the next poll; a poll error would end the
// connection.
func (v *view) pollCondStore(ctx context.Context, condStore bool) (func(w *imapserver.UpdateWriter) error, error) {
	if !condStore || v.toldHighest {
		return nil, nil
	}
	st, err := v.f.Status(ctx)
	if err != nil {
		return nil, nil
	}
	return func(w *imapserver.UpdateWriter) error {
		v.toldHighest = true
		return w.WriteHighestModSeq(wireModSeq(st.HighestModSeq))
	}, nil
}

// superseded names the queued flag changes that a later change made by
// this session itself has overtaken: the session answered for its own
// change in its command's response (FETCH after STORE, or after a body
// FETCH that set \Seen), and the watcher does not queue it back, so an
// older change of another session still queued would reach the client
// after it and undo it there (older FLAGS, a MODSEQ going back). The
// folder's state tells: a message whose modseq is now above the queued
// change's changed again since, and that change is either this
// session's, already told, or another's, queued for the next poll.
func (v *view) superseded(changed []uint32, modseqs map[uint32]uint64) map[uint32]bool {
	if len(changed) == 0 {
		return nil
	}
	out := map[uint32]bool{}
	for i, m := range v.f.Lookup(changed) {
		if uid := changed[i]; m.UID != 0 && m.ModSeq > modseqs[uid] {
			out[uid] = true
		}
	}
	return out
}

// writeFlagsUpdate writes an unsolicited FETCH for a flag change, with
// the change's MODSEQ once CONDSTORE is enabled (RFC 7162 section 3.1).
func writeFlagsUpdate(w *imapserver.UpdateWriter, seq, uid uint32, flags []imap.Flag, modSeq uint64, condStore bool) error {
	if condStore && modSeq != 0 {
		return w.WriteMessageFlagsModSeq(seq, imap.UID(uid), flags, modSeq)
	}
	return w.WriteMessageFlags(seq, imap.UID(uid), flags)
}

// changedSince keeps the messages changed after the CHANGEDSINCE value
// (RFC 7162 section 3.1.4.1); without the modifier, all of them.
func changedSince(ts []target, options *imap.FetchOptions) []target {
	if options.ChangedSince == 0 {
		return ts
	}
	out := ts[:0]
	for _, t := range ts {
		if t.m.ModSeq > options.ChangedSince {
			out = append(out, t)
		}
	}
	return out
}

// fetchModSeq says a FETCH response carries MODSEQ: when asked for
// (MODSEQ, CHANGEDSINCE: RFC 7162 section 3.1.4.2), and once CONDSTORE
// is enabled whenever it carries FLAGS, so that a client never holds
// flags without the mod-sequence they belong to.
func fetchModSeq(options *imap.FetchOptions, withFlags, condStore bool) bool {
	return options.ModSeq || (condStore && withFlags)
}

// storeFlags makes a STORE's change through the mailbox layer: with
// UNCHANGEDSINCE (RFC 7162 section 3.1.3) the layer tests each message's
// modseq and changes it under one lock (maildir/condstore.go), and the
// UIDs that failed come back. mine: through this session's watcher, so
// that the changes are not queued back to it.
func (v *view) storeFlags(s *session, mine bool, uids []uint32, op maildir.FlagOp, flags []string, options *imap.StoreOptions) ([]maildir.Message, []uint32, error) {
	switch {
	case options.Unchanged && mine:
		return v.w.StoreFlagsIf(s.ctx, uids, op, flags, options.UnchangedSince)
	case options.Unchanged:
		return v.f.StoreFlagsIf(s.ctx, uids, op, flags, options.UnchangedSince)
	case mine:
		msgs, err := v.w.StoreFlags(s.ctx, uids, op, flags)
		return msgs, nil, err
	default:
		msgs, err := v.f.StoreFlags(s.ctx, uids, op, flags)
		return msgs, nil, err
	}
}

// setModified hands the messages that failed UNCHANGEDSINCE to the
// tagged OK as [MODIFIED set] (RFC 7162 section 3.1.3): UIDs for UID
// STORE, the client's sequence numbers for STORE.
func (v *view) setModified(w *imapserver.FetchWriter, numSet imap.NumSet, modified []uint32) {
	if len(modified) == 0 {
		return
	}
	if _, isUID := numSet.(imap.UIDSet); isUID {
		w.SetModified(uidSet(modified))
		return
	}
	var seqs imap.SeqSet
	for _, u := range modified {
		if seq := v.seqOf(u); seq != 0 {
			seqs.AddNum(seq)
		}
	}
	w.SetModified(seqs)
}

// writeStoreFetch writes one STORE response (RFC 9051 6.4.6): UID and
// FLAGS, with MODSEQ once CONDSTORE is enabled. With .SILENT a
// CONDSTORE-aware client still hears of each message whose modseq
// changed, as FETCH (UID MODSEQ), so that it can keep its modseq (RFC
// 7162 section 3.1.3); prev is the modseq before the STORE.
func (v *view) writeStoreFetch(w *imapserver.FetchWriter, t target, m maildir.Message, silent, showRecent, condStore bool) error {
	if silent && (!condStore || m.ModSeq == t.m.ModSeq) {
		return nil
	}
	rw := w.CreateMessage(t.seq)
	rw.WriteUID(imap.UID(m.UID))
	if !silent {
		rw.WriteFlags(v.flagsFor(m.UID, m.Flags, showRecent))
	}
	if condStore {
		rw.WriteModSeq(m.ModSeq)
	}
	return rw.Close()
}

// matchModSeq is the MODSEQ search key (RFC 7162 section 3.1.5): the
// message's modseq is at least the value. An entry name ("/flags/...")
// is answered with the message's modseq, which covers every flag (this
// layer keeps one per message).
func matchModSeq(c *candidate, cr *imap.SearchCriteria) bool {
	return cr.ModSeq == nil || c.m.ModSeq >= cr.ModSeq.ModSeq
}

// searchHasModSeq says a MODSEQ key occurs anywhere in cr.
func searchHasModSeq(cr *imap.SearchCriteria) bool {
	if cr.ModSeq != nil {
		return true
	}
	for i := range cr.Not {
		if searchHasModSeq(&cr.Not[i]) {
			return true
		}
	}
	for i := range cr.Or {
		if searchHasModSeq(&cr.Or[i][0]) || searchHasModSeq(&cr.Or[i][1]) {
			return true
		}
	}
	return false
}

// searchModSeq is the MODSEQ of a SEARCH or ESEARCH result that used the
// MODSEQ key (RFC 7162 section 3.1.6): the highest modseq of the
// messages returned; when ESEARCH returns only MIN and/or MAX, of those
// messages. No match, or nothing returned: none (0).
type searchModSeq struct {
	all, first, last uint64
	n                int
}

func (sm *searchModSeq) add(ms uint64) {
	if sm.n == 0 {
		sm.first = ms
	}
	sm.last = ms
	sm.all = max(sm.all, ms)
	sm.n++
}

func (sm *searchModSeq) result(cr *imap.SearchCriteria, options *imap.SearchOptions) uint64 {
	if sm.n == 0 || !searchHasModSeq(cr) {
		return 0
	}
	switch {
	case options.ReturnAll || options.ReturnCount:
		return sm.all
	case options.ReturnMin && options.ReturnMax:
		return max(sm.first, sm.last)
	case options.ReturnMin:
		return sm.first
	case options.ReturnMax:
		return sm.last
	}
	return 0
}
