package immp

import "strings"

// maxPattern bounds LIST and search patterns: matching costs
// len(pattern) x len(name) per candidate.
const maxPattern = 1024

// match reports whether name matches a LIST pattern, case-insensitively
// (profile 5: lookup is case-insensitive): "*" matches any run of
// characters, "%" any run without "/" (draft 6.3.6, RFC 9051 6.3.9). With
// hier=false "%" is the same as "*".
func match(pattern, name string, hier bool) bool {
	return matchBytes(strings.ToLower(pattern), strings.ToLower(name), hier)
}

// matchBytes is a dynamic programme over the pattern, one row per octet of
// name: O(len(p)*len(s)) time, O(len(p)) space, no backtracking blow-up.
func matchBytes(p, s string, hier bool) bool {
	// cur[j]: p[:j] matches s[:i].
	cur := make([]bool, len(p)+1)
	next := make([]bool, len(p)+1)
	cur[0] = true
	for j := 1; j <= len(p); j++ {
		cur[j] = cur[j-1] && (p[j-1] == '*' || p[j-1] == '%')
	}
	for i := 1; i <= len(s); i++ {
		c := s[i-1]
		next[0] = false
		for j := 1; j <= len(p); j++ {
			switch pc := p[j-1]; {
			case pc == '*' || (pc == '%' && (!hier || c != '/')):
				// Wildcard: match nothing more (next[j-1]) or take c (cur[j]).
				next[j] = next[j-1] || cur[j]
			case pc == '%':
				next[j] = next[j-1]
			default:
				next[j] = cur[j-1] && pc == c
			}
		}
		cur, next = next, cur
	}
	return cur[len(p)]
}
