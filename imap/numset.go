package imap

import (
	"slices"
	"sort"

	"github.com/emersion/go-imap/v2"
)

// target is one message a command addresses: its sequence number as this
// client knows it, and a copy of its metadata.
type target struct {
	seq uint32 // client view
	m   msgMeta
}

// clientMaxLocked is the highest sequence number this client knows, the
// value of "*" in a sequence set (RFC 9051 6.4.8 note on "*").
func (v *view) clientMaxLocked() uint32 {
	for i := len(v.mb.msgs); i >= 1; i-- {
		if c := v.st.EncodeSeqNum(uint32(i)); c != 0 {
			return c
		}
	}
	return 0
}

// resolve maps a sequence or UID set to the messages it names, in
// ascending order, skipping messages this client has not been told about
// yet (no EXISTS) and messages already expunged from the server's view.
func (v *view) resolve(numSet imap.NumSet) []target {
	mb := v.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if imap.IsSearchRes(numSet) {
		numSet = slices.Clone(v.searchRes)
	}
	var out []target
	switch set := numSet.(type) {
	case imap.SeqSet:
		cmax := v.clientMaxLocked()
		for _, r := range set {
			start, stop := staticRange(r.Start, r.Stop, cmax)
			stop = min(stop, cmax)
			for c := start; c <= stop && c != 0; c++ {
				i := v.st.DecodeSeqNum(c)
				if i == 0 || int(i) > len(mb.msgs) {
					continue
				}
				out = append(out, target{seq: c, m: mb.msgs[i-1]})
			}
		}
	case imap.UIDSet:
		var umax uint32
		if n := len(mb.msgs); n > 0 {
			umax = mb.msgs[n-1].uid
		}
		for _, r := range set {
			start, stop := staticRange(uint32(r.Start), uint32(r.Stop), umax)
			i := sort.Search(len(mb.msgs), func(i int) bool { return mb.msgs[i].uid >= start })
			for ; i < len(mb.msgs) && mb.msgs[i].uid <= stop; i++ {
				c := v.st.EncodeSeqNum(uint32(i + 1))
				if c == 0 {
					continue
				}
				out = append(out, target{seq: c, m: mb.msgs[i]})
			}
		}
	}
	slices.SortFunc(out, func(a, b target) int { return int(int64(a.seq) - int64(b.seq)) })
	return slices.CompactFunc(out, func(a, b target) bool { return a.seq == b.seq })
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
		out[i] = t.m.uid
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
