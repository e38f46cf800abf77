package guard

import (
	"math/bits"
	"strings"
)

// anchorMax is the longest literal key a general pattern is filed under.
// Lookups try every key length in use up to it, so it bounds the work per
// verdict; 16 octets tell "*@mail.example.com"-style tails apart well.
const anchorMax = 16

// index answers "does any entry match this sender" for one account in
// time independent of the number of entries (profile 7, issue 4 item 4):
//
//   - entries without wildcards: one hash lookup of the whole sender;
//   - "*@D" (D without wildcards): a lookup of each tail after an "@";
//   - "*@*.D": a lookup of each tail after a "." that follows an "@";
//   - other patterns are filed under their longest literal end, the text
//     before the first wildcard or after the last (cut to anchorMax
//     octets), and only the patterns under the sender's own prefixes and
//     suffixes are tried; patterns with wildcards at both ends
//     ("*spam*") are the only ones tried for every sender.
//
// Entries and senders are lower-cased before they get here. An index is
// immutable once built, so readers need no lock.
type index struct {
	exact     map[string]struct{}
	domain    map[string]struct{}
	subdomain map[string]struct{}
	prefix    map[string][]*pattern
	suffix    map[string][]*pattern
	// prefixLens/suffixLens have bit L set when some key has length L.
	prefixLens, suffixLens uint32
	scan                   []*pattern
	size                   int
}

// buildIndex files lower-cased entries.
func buildIndex(entries []string) *index {
	x := &index{
		exact:     make(map[string]struct{}, len(entries)),
		domain:    make(map[string]struct{}),
		subdomain: make(map[string]struct{}),
		prefix:    make(map[string][]*pattern),
		suffix:    make(map[string][]*pattern),
	}
	for _, e := range entries {
		x.add(e)
	}
	return x
}

func hasWild(s string) bool { return strings.ContainsAny(s, "*?") }

func (x *index) add(e string) {
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
		pre := e[:strings.IndexAny(e, "*?")]
		suf := e[strings.LastIndexAny(e, "*?")+1:]
		switch {
		case pre == "" && suf == "":
			x.scan = append(x.scan, p)
		case len(pre) >= len(suf) || len(pre) >= anchorMax:
			k := pre[:min(len(pre), anchorMax)]
			x.prefix[k] = append(x.prefix[k], p)
			x.prefixLens |= 1 << len(k)
		default:
			k := suf[len(suf)-min(len(suf), anchorMax):]
			x.suffix[k] = append(x.suffix[k], p)
			x.suffixLens |= 1 << len(k)
		}
	}
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
	for m := x.prefixLens; m != 0; m &= m - 1 {
		l := trailingZeros(m)
		if l > len(s) {
			break
		}
		for _, p := range x.prefix[s[:l]] {
			if p.match(s) {
				return true
			}
		}
	}
	for m := x.suffixLens; m != 0; m &= m - 1 {
		l := trailingZeros(m)
		if l > len(s) {
			break
		}
		for _, p := range x.suffix[s[len(s)-l:]] {
			if p.match(s) {
				return true
			}
		}
	}
	for _, p := range x.scan {
		if p.match(s) {
			return true
		}
	}
	return false
}

func trailingZeros(m uint32) int { return bits.TrailingZeros32(m) }
