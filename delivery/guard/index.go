package guard

import (
	"strings"
)

// index answers "does any entry match this sender" for one account in
// time independent of the number of entries (profile 7, issue 4 item 4):
//
//   - entries without wildcards: one hash lookup of the whole sender;
//   - "*@D" (D without wildcards): a lookup of each tail after an "@";
//   - "*@*.D": a lookup of each tail after a "." that follows an "@";
//   - other patterns with a literal run of at least three octets are
//     filed under one 4-gram (3-gram if no run is longer) of it, in a hash
//     table; a sender tries only the patterns filed under its own q-grams,
//     so "*casino*", "promo*@*" or "?offer@*.example" cost a few array
//     reads for senders they cannot match (see newGramTable);
//   - the rest (wildcards with at most two literal octets in a row, such
//     as "a*b*c" or "??@*.?") are tried for every sender.
//
// Entries and senders are lower-cased before they get here. An index is
// immutable once built, so readers need no lock.
type index struct {
	exact     map[string]struct{}
	domain    map[string]struct{}
	subdomain map[string]struct{}
	grams     []*gramTable // 4-grams, then 3-grams; only those in use
	scan      []*pattern
	size      int
}

// gramTable files patterns under one q-gram of their literal text, in
// compressed rows: bucket h holds pats[start[h]:start[h+1]].
type gramTable struct {
	q     int
	bits  uint // log2 of the bucket count
	start []uint32
	pats  []*pattern
}

func hasWild(s string) bool { return strings.ContainsAny(s, "*?") }

// buildIndex files lower-cased entries.
func buildIndex(entries []string) *index {
	x := &index{
		exact:     make(map[string]struct{}, len(entries)),
		domain:    make(map[string]struct{}),
		subdomain: make(map[string]struct{}),
	}
	var by4, by3 []*pattern
	for _, e := range entries {
		x.size++
		switch {
		case !hasWild(e):
			x.exact[e] = struct{}{}
		case strings.HasPrefix(e, "*@*.") && !hasWild(e[4:]):
			x.subdomain[e[4:]] = struct{}{}
		case strings.HasPrefix(e, "*@") && !hasWild(e[2:]):
			x.domain[e[2:]] = struct{}{}
		default:
			p := compile(e)
			switch n := longestLiteral(e); {
			case n >= 4:
				by4 = append(by4, p)
			case n == 3:
				by3 = append(by3, p)
			default:
				x.scan = append(x.scan, p)
			}
		}
	}
	for _, t := range []*gramTable{newGramTable(4, by4, entries), newGramTable(3, by3, entries)} {
		if t != nil {
			x.grams = append(x.grams, t)
		}
	}
	return x
}

func isWild(r rune) bool { return r == '*' || r == '?' }

// longestLiteral is the length of the longest run without wildcards.
func longestLiteral(p string) int {
	n := 0
	for _, lit := range strings.FieldsFunc(p, isWild) {
		n = max(n, len(lit))
	}
	return n
}

// newGramTable files patterns, each having a literal run of at least q
// octets, under one q-gram of it: the rarest in the whole list (so not
// ".com" or "exam", which most senders contain), then the one with the
// emptiest bucket. nil when there are no patterns.
func newGramTable(q int, pats []*pattern, entries []string) *gramTable {
	if len(pats) == 0 {
		return nil
	}
	t := &gramTable{q: q, bits: 6}
	for t.bits < 16 && 1<<t.bits < 4*len(pats) { // ~4 buckets per pattern
		t.bits++
	}
	nb := 1 << t.bits
	freq := make([]uint32, nb)
	for _, e := range entries {
		for j := 0; j+q <= len(e); j++ {
			freq[t.hash(e[j:])]++
		}
	}
	counts := make([]uint32, nb)
	bucket := make([]int32, len(pats))
	for i, p := range pats {
		best := int32(-1)
		for _, lit := range strings.FieldsFunc(p.src, isWild) {
			for j := 0; j+q <= len(lit); j++ {
				h := int32(t.hash(lit[j:]))
				if best < 0 || freq[h] < freq[best] || freq[h] == freq[best] && counts[h] < counts[best] {
					best = h
				}
			}
		}
		bucket[i] = best
		counts[best]++
	}
	// Counting sort by bucket.
	t.start = make([]uint32, nb+1)
	var sum uint32
	for h := range nb {
		t.start[h] = sum
		sum += counts[h]
	}
	t.start[nb] = sum
	t.pats = make([]*pattern, sum)
	next := append([]uint32(nil), t.start...)
	for i, p := range pats {
		t.pats[next[bucket[i]]] = p
		next[bucket[i]]++
	}
	return t
}

// hash maps the first q octets of s to a bucket.
func (t *gramTable) hash(s string) uint32 {
	v := uint32(s[0])<<16 | uint32(s[1])<<8 | uint32(s[2])
	if t.q == 4 {
		v = v<<8 | uint32(s[3])
	}
	return (v * 0x9E3779B1) >> (32 - t.bits)
}

// match tries the patterns filed under the q-grams of s.
func (t *gramTable) match(s string) bool {
	for i := 0; i+t.q <= len(s); i++ {
		h := t.hash(s[i:])
		for _, p := range t.pats[t.start[h]:t.start[h+1]] {
			if p.match(s) {
				return true
			}
		}
	}
	return false
}

// match reports whether any entry matches the lower-cased sender s.
func (x *index) match(s string) bool {
	if _, ok := x.exact[s]; ok {
		return true
	}
	if len(x.domain) > 0 || len(x.subdomain) > 0 {
		first := strings.IndexByte(s, '@')
		if first >= 0 {
			if len(x.domain) > 0 {
				for at := first; at >= 0; {
					if _, ok := x.domain[s[at+1:]]; ok {
						return true
					}
					n := strings.IndexByte(s[at+1:], '@')
					if n < 0 {
						break
					}
					at += 1 + n
				}
			}
			if len(x.subdomain) > 0 {
				for p := first + 1; p < len(s); {
					n := strings.IndexByte(s[p:], '.')
					if n < 0 {
						break
					}
					p += n + 1
					if _, ok := x.subdomain[s[p:]]; ok {
						return true
					}
				}
			}
		}
	}
	for _, t := range x.grams {
		if t.match(s) {
			return true
		}
	}
	for _, p := range x.scan {
		if p.match(s) {
			return true
		}
	}
	return false
}
