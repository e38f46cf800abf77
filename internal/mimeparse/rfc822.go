package mimeparse

// The RFC 5322 (and obsolete RFC 822) token reader under the address and
// MIME parameter parsers. It follows Dovecot's rfc822-parser so that the
// structures built from it match what Dovecot serves: every function
// returns 1 when input remains, 0 at its end, and -1 on a syntax error,
// and none reads past the input.

// atext classes: 1 atext, 2 letter, digit or 8-bit octet, 4 atext that
// is a MIME tspecial ("/", "=", "?"). RFC 5322 3.2.3, RFC 2045 5.1.
var atextClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c >= 0x80:
			t[c] = 2
		case c == '/' || c == '=' || c == '?':
			t[c] = 4
		case c < 0x80 && c > ' ' && c != 0x7f:
			switch c {
			case '(', ')', '<', '>', '[', ']', ':', ';', '@', '\\', ',', '.', '"':
			default:
				t[c] = 1
			}
		}
	}
	return t
}()

func isAtext(c byte) bool            { return atextClass[c] != 0 }
func isAtextNonTspecial(c byte) bool { return atextClass[c]&3 != 0 }

// nulReplacement stands for a NUL octet in a quoted string, comment or
// domain literal (as Dovecot does): NUL cannot be sent in an IMAP string.
const nulReplacement = "\uFFFD"

// lexer reads tokens from one header field value.
type lexer struct {
	s   string
	pos int
	// comment collects the text of the last comment skipped, when
	// wantComment is set (an addr-spec's trailing comment names it).
	comment     []byte
	wantComment bool
}

// cur is the octet at pos, or 0 at the end (like C's terminating NUL).
func (l *lexer) cur() byte {
	if l.pos < len(l.s) {
		return l.s[l.pos]
	}
	return 0
}

func (l *lexer) more() int {
	if l.pos < len(l.s) {
		return 1
	}
	return 0
}

// skipComment skips a comment, nested ones included (RFC 5322 3.2.2).
func (l *lexer) skipComment() int {
	if l.wantComment {
		l.comment = l.comment[:0]
	}
	level := 1
	l.pos++
	start := l.pos
	for ; l.pos < len(l.s); l.pos++ {
		switch l.s[l.pos] {
		case 0:
			if l.wantComment {
				l.comment = append(l.comment, l.s[start:l.pos]...)
				l.comment = append(l.comment, nulReplacement...)
				start = l.pos + 1
			}
		case '(':
			level++
		case ')':
			level--
			if level == 0 {
				if l.wantComment {
					l.comment = append(l.comment, l.s[start:l.pos]...)
				}
				l.pos++
				return l.more()
			}
		case '\n':
			// Folding whitespace: the (CR)LF goes.
			if !l.wantComment {
				break
			}
			end := l.pos
			if end > start && l.s[end-1] == '\r' {
				end--
			}
			l.comment = append(l.comment, l.s[start:end]...)
			start = l.pos + 1
		case '\\':
			l.pos++
			if l.pos >= len(l.s) {
				return -1
			}
			if c := l.s[l.pos]; c == '\r' || c == '\n' || c == 0 {
				l.pos--
				break
			}
			if l.wantComment {
				l.comment = append(l.comment, l.s[start:l.pos-1]...)
			}
			start = l.pos
		}
	}
	return -1 // no ")"
}

// skipLWSP skips whitespace and comments (CFWS).
func (l *lexer) skipLWSP() int {
	for l.pos < len(l.s) {
		switch l.s[l.pos] {
		case ' ', '\t', '\r', '\n':
			l.pos++
			continue
		case '(':
			if l.skipComment() < 0 {
				return -1
			}
			continue
		}
		break
	}
	return l.more()
}

// atom appends 1*atext to dst (RFC 5322 3.2.3).
func (l *lexer) atom(dst []byte) ([]byte, int) {
	if l.pos >= len(l.s) || !isAtext(l.s[l.pos]) {
		return dst, -1
	}
	start := l.pos
	for l.pos++; l.pos < len(l.s); l.pos++ {
		if !isAtext(l.s[l.pos]) {
			dst = append(dst, l.s[start:l.pos]...)
			return dst, l.skipLWSP()
		}
	}
	return append(dst, l.s[start:]...), 0
}

// dotAtom appends a dot-atom, allowing CFWS around the dots as RFC 822
// did (obs-local-part, obs-domain).
func (l *lexer) dotAtom(dst []byte) ([]byte, int) {
	if l.pos >= len(l.s) || !isAtext(l.s[l.pos]) {
		return dst, -1
	}
	start := l.pos
	l.pos++
	for l.pos < len(l.s) {
		if isAtext(l.s[l.pos]) {
			l.pos++
			continue
		}
		if start == l.pos {
			return dst, -1
		}
		dst = append(dst, l.s[start:l.pos]...)
		if ret := l.skipLWSP(); ret <= 0 {
			return dst, ret
		}
		if l.s[l.pos] != '.' {
			return dst, 1
		}
		l.pos++
		dst = append(dst, '.')
		if l.skipLWSP() <= 0 {
			return dst, -1
		}
		start = l.pos
	}
	return append(dst, l.s[start:]...), 0
}

// mimeToken appends a MIME token (RFC 2045 5.1), dots allowed.
func (l *lexer) mimeToken(dst []byte) ([]byte, int) {
	start := l.pos
	for ; l.pos < len(l.s); l.pos++ {
		if c := l.s[l.pos]; isAtextNonTspecial(c) || c == '.' {
			continue
		}
		dst = append(dst, l.s[start:l.pos]...)
		return dst, l.skipLWSP()
	}
	return append(dst, l.s[start:]...), 0
}

// quoted appends the content of a quoted-string, unescaped and unfolded.
func (l *lexer) quoted(dst []byte) ([]byte, int) {
	l.pos++ // the opening quote
	start := l.pos
	for ; l.pos < len(l.s); l.pos++ {
		switch l.s[l.pos] {
		case 0:
			dst = append(dst, l.s[start:l.pos]...)
			dst = append(dst, nulReplacement...)
			start = l.pos + 1
		case '"':
			dst = append(dst, l.s[start:l.pos]...)
			l.pos++
			return dst, l.skipLWSP()
		case '\n':
			end := l.pos
			if end > start && l.s[end-1] == '\r' {
				end--
			}
			dst = append(dst, l.s[start:end]...)
			start = l.pos + 1
		case '\\':
			l.pos++
			if l.pos >= len(l.s) {
				return dst, -1
			}
			if c := l.s[l.pos]; c == '\r' || c == '\n' || c == 0 {
				l.pos--
				break
			}
			dst = append(dst, l.s[start:l.pos-1]...)
			start = l.pos
		}
	}
	return dst, -1 // no closing quote
}

// atomOrDot appends atext and dots (obs-phrase allows "." in a phrase).
func (l *lexer) atomOrDot(dst []byte) ([]byte, int) {
	start := l.pos
	for ; l.pos < len(l.s); l.pos++ {
		if c := l.s[l.pos]; isAtext(c) || c == '.' {
			continue
		}
		dst = append(dst, l.s[start:l.pos]...)
		return dst, l.skipLWSP()
	}
	return append(dst, l.s[start:]...), 0
}

// phrase appends words joined by single spaces (RFC 5322 3.2.5,
// obs-phrase).
func (l *lexer) phrase(dst []byte) ([]byte, int) {
	if l.pos >= len(l.s) {
		return dst, 0
	}
	if l.s[l.pos] == '.' {
		return dst, -1
	}
	for {
		var ret int
		if l.s[l.pos] == '"' {
			dst, ret = l.quoted(dst)
		} else {
			// Consumes at least one octet unless the phrase ends
			// here, so the loop always advances.
			dst, ret = l.atomOrDot(dst)
		}
		if ret <= 0 {
			return dst, ret
		}
		if c := l.cur(); !isAtext(c) && c != '"' && c != '.' {
			break
		}
		dst = append(dst, ' ')
	}
	return dst, l.skipLWSP()
}

// domainLiteral appends "[...]" as it is, brackets and escapes kept.
func (l *lexer) domainLiteral(dst []byte) ([]byte, int) {
	start := l.pos
	for l.pos++; l.pos < len(l.s); l.pos++ {
		switch l.s[l.pos] {
		case 0:
			dst = append(dst, l.s[start:l.pos]...)
			dst = append(dst, nulReplacement...)
			start = l.pos + 1
		case '[':
			return dst, -1
		case ']':
			dst = append(dst, l.s[start:l.pos+1]...)
			l.pos++
			return dst, l.skipLWSP()
		case '\n':
			end := l.pos
			if end > start && l.s[end-1] == '\r' {
				end--
			}
			dst = append(dst, l.s[start:end]...)
			start = l.pos + 1
		case '\\':
			l.pos++
			if l.pos >= len(l.s) {
				return dst, -1
			}
			if c := l.s[l.pos]; c == '\r' || c == '\n' || c == 0 {
				dst = append(dst, l.s[start:l.pos]...)
				start = l.pos
				l.pos--
			}
		}
	}
	return dst, -1
}

// domain reads "@" domain (dot-atom, domain-literal or obs-domain).
func (l *lexer) domain(dst []byte) ([]byte, int) {
	l.pos++ // "@"
	if l.skipLWSP() <= 0 {
		return dst, -1
	}
	if l.s[l.pos] == '[' {
		return l.domainLiteral(dst)
	}
	return l.dotAtom(dst)
}
