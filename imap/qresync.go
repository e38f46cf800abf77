package imap

import (
	"cmp"
	"math"
	"slices"
	"sort"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// QRESYNC (RFC 7162 section 3.2). go-imap, as patched in third_party/
// go-imap, parses ENABLE QRESYNC, the QRESYNC select parameter and the
// VANISHED fetch modifier, refuses them with BAD where the RFC says so,
// and writes VANISHED; this file decides what is vanished and what
// changed.
//
// The mailbox layer keeps each message's modseq and the folder's
// HIGHESTMODSEQ, which an expunge raises too (RFC 7162 section 3.2), but
// no record of the UIDs it expunged. A VANISHED (EARLIER) answer is
// therefore every UID of the range asked about that is not held now,
// whatever the client's mod-sequence. RFC 7162 allows it, in the text it
// carries over from RFC 5162 section 4.1: a server that does not
// remember the mod-sequences of expunged messages can be considered
// compliant, and returns all expunged messages of the UID set of UID
// FETCH (VANISHED) every time, whatever the CHANGEDSINCE value (the RFC
// discourages it for the size of the answer; the client's known UIDs
// keep it small). SELECT's VANISHED (EARLIER) (section 3.2.5.1) is the
// same computation over the known UIDs. UIDs that were never used are
// in such a range as well: VANISHED (EARLIER) changes no message count
// (section 3.2.10) and a client holds nothing under a UID it never saw,
// and Dovecot answers the same way when its transaction log no longer
// reaches back to the client's mod-sequence (imap-fetch.c, its expunge
// fallback). The range is cut below the UIDNEXT the client was told and
// never walked UID by UID: the answer costs the number of ranges sent
// plus the number of messages, also for 1:4294967295.
//
// The message sequence match data (section 3.2.5.2) is parsed and not
// used: it lets a server narrow VANISHED (EARLIER) when the client's
// known UIDs are absent or coarse, and nothing in the RFC makes the
// server use it; without it the answer is the larger set, which holds
// every UID the client must drop.

// qresync says the client has enabled QRESYNC (RFC 7162 section 3.2.3).
func (s *session) qresync() bool {
	return s.conn.EnabledCaps().Has(imap.CapQResync)
}

// ResyncSelect completes a SELECT or EXAMINE with the QRESYNC parameter
// (RFC 7162 section 3.2.5.1), after its other responses: when the
// UIDVALIDITY matches, VANISHED (EARLIER) for the known UIDs (all below
// UIDNEXT when the client sent none) that the folder does not hold, then
// FETCH (UID FLAGS MODSEQ) for every message whose modseq is above the
// client's. A different UIDVALIDITY gets the plain SELECT answer.
func (s *session) ResyncSelect(w *imapserver.FetchWriter, q *imap.SelectQResync) error {
	v := s.view
	if v == nil || q.UIDValidity != v.uidValidity {
		return nil
	}
	known := q.KnownUIDs
	if known == nil {
		known = imap.UIDSet{{Start: 1, Stop: 0}} // 1:*, * = UIDNEXT-1
	}
	if err := w.WriteVanished(absentUIDs(known, v.uids, v.toldUIDNext-1)); err != nil {
		return err
	}
	showRecent := s.showRecent()
	for i, m := range v.f.Lookup(v.uids) {
		if m.UID == 0 || m.ModSeq <= q.ModSeq {
			continue // expunged since the snapshot: its VANISHED follows
		}
		rw := w.CreateMessage(uint32(i + 1))
		rw.WriteUID(imap.UID(m.UID))
		rw.WriteFlags(v.flagsFor(m.UID, m.Flags, showRecent))
		rw.WriteModSeq(m.ModSeq)
		if err := rw.Close(); err != nil {
			return err
		}
	}
	return nil
}

// fetchVanished answers the VANISHED modifier of UID FETCH (RFC 7162
// section 3.2.6) before the FETCH responses: VANISHED (EARLIER) for the
// UIDs of the set that the client can know of and that are not in its
// view. A message expunged but not yet reported is still in the view:
// its VANISHED comes when expunges may be sent again (RFC 9051 7.5.1).
func (v *view) fetchVanished(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	if !options.Vanished {
		return nil
	}
	if imap.IsSearchRes(numSet) {
		numSet = slices.Clone(v.searchRes)
	}
	set, ok := numSet.(imap.UIDSet)
	if !ok {
		return nil // imapserver allows VANISHED with UID FETCH only
	}
	return w.WriteVanished(absentUIDs(set, v.uids, v.toldUIDNext-1))
}

// flushVanished reports the expunges held back as one VANISHED, which
// replaces EXPUNGE once QRESYNC is enabled (RFC 7162 section 3.2.10).
func (v *view) flushVanished(w *imapserver.UpdateWriter) error {
	var gone imap.UIDSet
	kept := v.uids[:0]
	for _, u := range v.uids {
		if !v.gone[u] {
			kept = append(kept, u)
			continue
		}
		if n := len(gone); n > 0 && uint32(gone[n-1].Stop)+1 == u {
			gone[n-1].Stop = imap.UID(u)
		} else {
			gone = append(gone, imap.UIDRange{Start: imap.UID(u), Stop: imap.UID(u)})
		}
		delete(v.gone, u)
		delete(v.recent, u)
	}
	v.uids = kept
	return w.WriteVanished(gone)
}

// absentUIDs is the UIDs of set, none above bound ("*" is bound), that
// are not in present (ascending), as ranges. The set's ranges are
// clipped, sorted and merged first, so the cost is that of sorting the
// ranges plus one pass over present, whatever the ranges span.
func absentUIDs(set imap.UIDSet, present []uint32, bound uint32) imap.UIDSet {
	bound = min(bound, math.MaxUint32-1) // so that hi+1 and u+1 do not wrap
	if bound == 0 {
		return nil
	}
	type span struct{ lo, hi uint32 }
	spans := make([]span, 0, len(set))
	for _, r := range set {
		lo, hi := staticRange(uint32(r.Start), uint32(r.Stop), bound)
		if lo > bound {
			continue
		}
		spans = append(spans, span{max(lo, 1), min(hi, bound)})
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.lo, b.lo) })
	merged := spans[:0]
	for _, sp := range spans {
		if n := len(merged); n > 0 && sp.lo <= merged[n-1].hi+1 {
			merged[n-1].hi = max(merged[n-1].hi, sp.hi)
			continue
		}
		merged = append(merged, sp)
	}
	var out imap.UIDSet
	add := func(lo, hi uint32) {
		out = append(out, imap.UIDRange{Start: imap.UID(lo), Stop: imap.UID(hi)})
	}
	for _, sp := range merged {
		i := sort.Search(len(present), func(i int) bool { return present[i] >= sp.lo })
		next := sp.lo
		for ; i < len(present) && present[i] <= sp.hi; i++ {
			if present[i] > next {
				add(next, present[i]-1)
			}
			next = present[i] + 1
		}
		if next <= sp.hi {
			add(next, sp.hi)
		}
	}
	return out
}

// expungeHighest hands EXPUNGE's and UID EXPUNGE's tagged OK the
// folder's HIGHESTMODSEQ once QRESYNC is enabled (RFC 7162 section
// 3.2.7), read after the expunge: every change at or below it is
// written by the poll that comes before the tagged OK (the watcher's
// sync takes in all that was done before it). A folder that cannot be
// read now (deleted meanwhile) gets no code.
func (v *view) expungeHighest(s *session, w *imapserver.ExpungeWriter) error {
	if !s.qresync() || w == nil {
		return nil
	}
	st, err := v.f.Status(s.ctx)
	if err != nil {
		return nil
	}
	w.SetHighestModSeq(wireModSeq(st.HighestModSeq))
	return nil
}
