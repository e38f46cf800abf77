package imap

import (
	"slices"
	"sort"

	"github.com/emersion/go-imap/v2"

	"github.com/immp-mail/immp/maildir"
)

// target is one message a command addresses: its sequence number as this
// client knows it, and its metadata as the folder's state has it now.
type target struct {
	seq uint32 // client view
	m   maildir.Message
}

// resolve maps a sequence or UID set to the messages it names, in
// ascending order. "*" is the last message the client knows (RFC 9051
// 6.4.8); messages it has not been told of (no EXISTS yet) are not
// named, and messages already expunged are skipped.
func (v *view) resolve(numSet imap.NumSet) []target {
	if imap.IsSearchRes(numSet) {
		numSet = slices.Clone(v.searchRes)
	}
	var seqs []uint32
	switch set := numSet.(type) {
	case imap.SeqSet:
		cmax := uint32(len(v.uids))
		for _, r := range set {
			start, stop := staticRange(r.Start, r.Stop, cmax)
			for c := start; c <= min(stop, cmax) && c != 0; c++ {
				seqs = append(seqs, c)
			}
		}
	case imap.UIDSet:
		var umax uint32
		if n := len(v.uids); n > 0 {
			umax = v.uids[n-1]
		}
		for _, r := range set {
			start, stop := staticRange(uint32(r.Start), uint32(r.Stop), umax)
			i := sort.Search(len(v.uids), func(i int) bool { return v.uids[i] >= start })
			for ; i < len(v.uids) && v.uids[i] <= stop; i++ {
				seqs = append(seqs, uint32(i+1))
			}
		}
	}
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	uids := make([]uint32, len(seqs))
	for i, c := range seqs {
		uids[i] = v.uids[c-1]
	}
	ms := v.f.Lookup(uids)
	out := make([]target, 0, len(seqs))
	for i, c := range seqs {
		if ms[i].UID == 0 {
			continue // expunged; the client is told at the next chance
		}
		out = append(out, target{seq: c, m: ms[i]})
	}
	return out
}

// staticRange resolves "*" (encoded as 0) against max and orders the range.
func staticRange(start, stop, max uint32) (uint32, uint32) {
	if start == 0 {
		start = max
	}
	if stop == 0 {
		stop = max
	}
	if start > stop {
		start, stop = stop, start
	}
	return start, stop
}

func uidsOf(ts []target) []uint32 {
	out := make([]uint32, len(ts))
	for i, t := range ts {
		out[i] = t.m.UID
	}
	return out
}

func uidSet(uids []uint32) imap.UIDSet {
	var s imap.UIDSet
	for _, u := range uids {
		s.AddNum(imap.UID(u))
	}
	return s
}
