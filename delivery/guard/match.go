package guard

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxEntryLen is the longest entry, in octets (profile 7).
const MaxEntryLen = 320

// ErrInvalidEntry is wrapped by ValidEntry's errors.
var ErrInvalidEntry = errors.New("invalid spam guard entry")

// ValidEntry checks an entry before it is stored (profile 7): not empty,
// at most 320 octets, UTF-8, no control characters and no space (an
// address or pattern never has one unquoted; the mailbox layer refuses it
// too).
func ValidEntry(entry string) error {
	switch {
	case entry == "":
		return fmt.Errorf("%w: empty", ErrInvalidEntry)
	case len(entry) > MaxEntryLen:
		return fmt.Errorf("%w: longer than %d octets", ErrInvalidEntry, MaxEntryLen)
	case !utf8.ValidString(entry):
		return fmt.Errorf("%w: not UTF-8", ErrInvalidEntry)
	}
	for _, r := range entry {
		if r == ' ' || unicode.IsControl(r) {
			return fmt.Errorf("%w: space or control character", ErrInvalidEntry)
		}
	}
	return nil
}

// Match reports whether addr matches pattern, case-insensitively and as a
// whole: "*" matches any run of characters (also none), "?" exactly one
// character (a UTF-8 sequence, not an octet); every other character
// stands for itself (profile 7). It is also the wildcard matcher for the
// search criteria of SEARCHSPAMENTRY and SEARCHSPAMGUARDAGENT.
//
// Time is linear in len(addr) for patterns without "?" and at most
// O(len(pattern) * len(addr)) otherwise; there is no backtracking.
func Match(pattern, addr string) bool {
	return compile(strings.ToLower(pattern)).match(strings.ToLower(addr))
}

// Pattern is a compiled wildcard pattern, for matching one pattern
// against many strings (a search over a whole list).
type Pattern struct{ p *pattern }

// Compile compiles a pattern for Match; it never fails.
func Compile(p string) Pattern { return Pattern{compile(strings.ToLower(p))} }

// Match is Match(pattern, s) for the compiled pattern.
func (p Pattern) Match(s string) bool { return p.p.match(strings.ToLower(s)) }

// pattern is a compiled wildcard pattern over lower-cased text. It is the
// pattern split at its stars: segs[0] must match at the start, the last
// segment at the end, the ones between anywhere in order (the leftmost
// match of each is always the best choice, so no backtracking is needed).
// A segment may hold "?", which takes one rune.
type pattern struct {
	src  string
	segs []string // len(segs) == number of star runs + 1
	// lead[i] is segs[i] up to its first "?", used to find candidates
	// for a middle segment with strings.Index.
	lead []string
}

func compile(p string) *pattern {
	c := &pattern{src: p}
	for {
		i := strings.IndexByte(p, '*')
		if i < 0 {
			c.segs = append(c.segs, p)
			break
		}
		c.segs = append(c.segs, p[:i])
		p = strings.TrimLeft(p[i:], "*") // "**" is "*"
	}
	c.lead = make([]string, len(c.segs))
	for i, s := range c.segs {
		if q := strings.IndexByte(s, '?'); q >= 0 {
			s = s[:q]
		}
		c.lead[i] = s
	}
	return c
}

// match reports whether s (lower-cased) matches.
func (c *pattern) match(s string) bool {
	segs := c.segs
	if len(segs) == 1 {
		end, ok := matchAt(segs[0], s, 0)
		return ok && end == len(s)
	}
	cur, ok := matchAt(segs[0], s, 0)
	if !ok {
		return false
	}
	last := len(segs) - 1
	// The last segment is pinned to the end; find where it starts first,
	// so the middle segments are searched only in between.
	lo, ok := matchBefore(segs[last], s, len(s))
	if !ok || lo < cur {
		return false
	}
	s = s[:lo]
	for i := 1; i < last; i++ {
		cur, ok = find(segs[i], c.lead[i], s, cur)
		if !ok {
			return false
		}
	}
	return true
}

// matchAt matches seg at s[i:] and returns where the match ends.
func matchAt(seg, s string, i int) (int, bool) {
	for j := 0; j < len(seg); j++ {
		if i >= len(s) {
			return 0, false
		}
		if seg[j] == '?' {
			if s[i] < utf8.RuneSelf {
				i++
			} else {
				_, n := utf8.DecodeRuneInString(s[i:])
				i += n
			}
			continue
		}
		if seg[j] != s[i] {
			return 0, false
		}
		i++
	}
	return i, true
}

// matchBefore matches seg so that it ends at s[e] and returns where the
// match starts.
func matchBefore(seg, s string, e int) (int, bool) {
	for j := len(seg) - 1; j >= 0; j-- {
		if e <= 0 {
			return 0, false
		}
		if seg[j] == '?' {
			if s[e-1] < utf8.RuneSelf {
				e--
			} else {
				_, n := utf8.DecodeLastRuneInString(s[:e])
				e -= n
			}
			continue
		}
		if seg[j] != s[e-1] {
			return 0, false
		}
		e--
	}
	return e, true
}

// find returns the end of the leftmost match of seg in s[i:].
func find(seg, lead, s string, i int) (int, bool) {
	if lead != "" {
		for i <= len(s) {
			k := strings.Index(s[i:], lead)
			if k < 0 {
				return 0, false
			}
			if end, ok := matchAt(seg, s, i+k); ok {
				return end, true
			}
			i += k + 1
		}
		return 0, false
	}
	for i <= len(s) {
		if end, ok := matchAt(seg, s, i); ok {
			return end, true
		}
		if i == len(s) {
			break
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	return 0, false
}
