package foldername

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// LIST patterns (RFC 9051 6.3.9, draft 6.3.6): "*" matches any run of
// characters, "%" any run without the separator "/". Names inside INBOX
// are matched ignoring case (profile 5: lookup of subinboxes is
// case-insensitive, and INBOX is case-insensitive in IMAP too); other
// folders' names are case-sensitive (RFC 9051 5.1).

// Join interprets a LIST reference and pattern as one pattern (RFC 9051
// 6.3.9, draft 6.3.6): the reference followed by the pattern, as written
// (profile 6: "reference + pattern"; Dovecot does the same). Clients name
// a level of the hierarchy with a trailing "/": ("inbox/Mail/", "%") is
// "inbox/Mail/%", the level's children, while ("INBOX/work", "%") is
// "INBOX/work%", which matches INBOX/work itself and INBOX/workshop. This
// namespace has no breakout: a pattern is never read without its
// reference.
func Join(reference, pattern string) string { return reference + pattern }

// Match reports whether the absolute folder name matches pattern (a LIST
// pattern already joined with its reference): ignoring case for INBOX and
// its subinboxes, exactly for other folders.
func Match(pattern, name string) bool {
	if IsSubinbox(name) {
		return match(Fold(pattern), Fold(name))
	}
	return match(pattern, name)
}

// matchFold matches ignoring case: subinbox names in address form.
func matchFold(pattern, name string) bool { return match(Fold(pattern), Fold(name)) }

// Fold maps s to a key that is equal for two strings exactly when
// strings.EqualFold says they are equal: every rune becomes the smallest
// rune of its simple case-folding orbit (so "k", "K" and the Kelvin sign
// all become "K"). Wildcards and the separator are their own orbits.
func Fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		// The smallest of an ASCII letter's orbit is its upper case
		// ("k" also folds with U+212A, which is larger).
		return strings.ToUpper(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		b.WriteRune(min)
	}
	return b.String()
}

// match runs in O(len(p)*len(n)) time whatever the wildcards: a
// backtracking matcher is exponential in runs of "%" and "*", which a
// client controls (one LIST line can carry thousands of them). It works
// on octets; wildcards and the separator are ASCII, so a literal octet of
// a valid UTF-8 pattern only lines up with the same octet of the name.
func match(p, n string) bool {
	// cur[j]: the pattern so far matches n[:j].
	cur := make([]bool, len(n)+1)
	next := make([]bool, len(n)+1)
	cur[0] = true
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch c {
		case '*', '%':
			run := false
			for j := 0; j <= len(n); j++ {
				run = run || cur[j]
				next[j] = run
				if c == '%' && j < len(n) && n[j] == '/' {
					// n[k:j+1] would hold a hierarchy delimiter.
					run = false
				}
			}
		default:
			next[0] = false
			for j := 0; j < len(n); j++ {
				next[j+1] = cur[j] && n[j] == c
			}
		}
		cur, next = next, cur
	}
	return cur[len(n)]
}
