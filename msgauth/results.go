package msgauth

import (
	"regexp"
	"strings"
)

// result is one resinfo of RFC 8601 2.2: method=result, an optional
// reason and properties (ptype.property=pvalue).
type result struct {
	method string // "spf", "dkim", "dmarc"
	value  string // "pass", "fail", ...
	reason string // free text, written as reason="..."
	props  [][2]string
}

// formatResults writes one Authentication-Results field (RFC 8601 2.2),
// each resinfo on a line of its own, CRLF-terminated. With no results it
// says "none" (RFC 8601 2.2: no-result).
func formatResults(authservID string, rs []result) string {
	var b strings.Builder
	b.WriteString("Authentication-Results: ")
	b.WriteString(authservID)
	if len(rs) == 0 {
		b.WriteString("; none\r\n")
		return b.String()
	}
	for _, r := range rs {
		b.WriteString(";\r\n\t")
		b.WriteString(r.method)
		b.WriteString("=")
		b.WriteString(r.value)
		if r.reason != "" {
			b.WriteString(" reason=")
			b.WriteString(quote(cleanReason(r.reason)))
		}
		for _, p := range r.props {
			b.WriteString(" ")
			b.WriteString(p[0])
			b.WriteString("=")
			b.WriteString(pvalue(p[1]))
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// pvalue writes a property value (RFC 8601 2.2): a token as it is, an
// address as local@domain when both are dot-atoms, anything else as a
// quoted-string.
func pvalue(s string) string {
	if s != "" && isToken(s) {
		return s
	}
	if at := strings.LastIndexByte(s, '@'); at >= 0 && isDotAtom(s[:at], true) && isDotAtom(s[at+1:], false) {
		return s
	}
	return quote(s)
}

// isToken: RFC 2045 5.1 token, no tspecials, no controls or space.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

func isDotAtom(s string, emptyOK bool) bool {
	if s == "" {
		return emptyOK
	}
	if s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' {
			continue
		}
		if strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) < 0 {
			return false
		}
	}
	return true
}

// quote writes s as an RFC 5322 quoted-string; control characters (and
// so CR and LF: no header injection) become '?'.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < ' ' || r == 0x7f:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// resolverAddr is the "on HOST:PORT" of a Go resolver error: it names the
// system's configured server even when another one was asked, and tells
// the message's readers nothing.
var resolverAddr = regexp.MustCompile(`(lookup \S+) on \S+:\d+`)

// maxReason bounds a reason's length: library errors may quote input.
const maxReason = 200

func cleanReason(s string) string {
	s = resolverAddr.ReplaceAllString(s, "$1")
	if len(s) > maxReason {
		s = s[:maxReason]
	}
	return s
}
