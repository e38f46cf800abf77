package address

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/immp-mail/immp/internal/foldername"
)

// Limits, in octets.
const (
	// MaxAddressLen bounds a whole address (RFC 3696 errata 1690; the
	// same bound as spam guard entries, profile 7).
	MaxAddressLen = 320
	// MaxLocalLen bounds the account's local part (RFC 5321 4.5.3.1.1),
	// counted after the subinbox is removed.
	MaxLocalLen = 64
	// MaxDomainLen bounds the domain (RFC 5321 4.5.3.1.2).
	MaxDomainLen = 255
	// MaxComponentLen bounds one subinbox component (profile 5).
	MaxComponentLen = foldername.MaxComponentLen
)

// parsed is an address split into its parts, before any mapping.
type parsed struct {
	local  string // unquoted content of the local part
	quoted bool   // the local part was a Quoted-string
	domain string // as written, trailing dot removed
}

// split removes brackets and a source route, checks the characters, and
// splits the address at its "@" (RFC 5321 4.1.2 Mailbox).
func split(s string) (parsed, error) {
	if len(s) > MaxAddressLen+2 { // +2: brackets
		return parsed{}, invalid("address too long")
	}
	if strings.HasPrefix(s, "<") || strings.HasSuffix(s, ">") {
		if len(s) < 2 || s[0] != '<' || s[len(s)-1] != '>' {
			return parsed{}, invalid("unbalanced angle bracket")
		}
		s = s[1 : len(s)-1]
	}
	if len(s) > MaxAddressLen {
		return parsed{}, invalid("address too long")
	}
	if strings.HasPrefix(s, "@") { // A-d-l ":" Mailbox; RFC 5321 C: ignore
		i := strings.IndexByte(s, ':')
		if i < 0 {
			return parsed{}, invalid("source route without ':'")
		}
		s = s[i+1:]
	}
	if err := checkChars(s); err != nil {
		return parsed{}, err
	}
	if s == "" {
		return parsed{}, invalid("empty address")
	}
	var p parsed
	var rest string
	if s[0] == '"' {
		local, n, err := unquote(s)
		if err != nil {
			return parsed{}, err
		}
		p.local, p.quoted, rest = local, true, s[n:]
		if !strings.HasPrefix(rest, "@") {
			return parsed{}, invalid("no '@' after quoted local part")
		}
		rest = rest[1:]
	} else {
		at := strings.IndexByte(s, '@')
		if at < 0 {
			return parsed{}, invalid("no domain")
		}
		p.local, rest = s[:at], s[at+1:]
		for i := 0; i < len(p.local); i++ {
			if c := p.local[i]; c < 0x80 && !isAtext(c) && c != '.' {
				return parsed{}, invalid("character not allowed in unquoted local part")
			}
		}
	}
	d, err := checkDomain(rest)
	if err != nil {
		return parsed{}, err
	}
	p.domain = d
	return p, nil
}

// checkChars refuses control characters (C0, DEL, C1) and invalid UTF-8.
func checkChars(s string) error {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return invalid("control character")
		}
		if c >= 0x80 {
			ascii = false
		}
	}
	if ascii {
		return nil
	}
	if !utf8.ValidString(s) {
		return invalid("not UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return invalid("control character")
		}
	}
	return nil
}

// unquote reads an RFC 5321 Quoted-string at the start of s (with RFC 6531
// UTF-8 in qtext) and returns its content and the number of octets read.
func unquote(s string) (string, int, error) {
	var b strings.Builder
	escaped := false
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) || s[i+1] < 0x20 || s[i+1] > 0x7e {
				return "", 0, invalid("bad quoted-pair")
			}
			if !escaped {
				b.WriteString(s[1:i])
				escaped = true
			}
			i++
			b.WriteByte(s[i])
		case c == '"':
			if escaped {
				return b.String(), i + 1, nil
			}
			return s[1:i], i + 1, nil
		default: // qtextSMTP: %d32-33 / %d35-91 / %d93-126 / UTF8-non-ascii
			if escaped {
				b.WriteByte(c)
			}
		}
	}
	return "", 0, invalid("unterminated quoted string")
}

// checkDomain checks a domain lightly (it must also be one of ours to be
// mapped) and removes one trailing dot.
func checkDomain(d string) (string, error) {
	d = strings.TrimSuffix(d, ".")
	switch {
	case d == "":
		return "", invalid("empty domain")
	case len(d) > MaxDomainLen:
		return "", invalid("domain too long")
	}
	if d[0] == '[' { // address literal, RFC 5321 4.1.3
		if d[len(d)-1] != ']' || strings.ContainsAny(d[1:len(d)-1], "[]\\ ") {
			return "", invalid("bad address literal")
		}
		return d, nil
	}
	if d[0] == '.' || d[len(d)-1] == '.' || strings.Contains(d, "..") {
		return "", invalid("empty domain label")
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if c < 0x80 && !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", invalid("character not allowed in domain")
		}
	}
	return d, nil
}

// atextTable marks RFC 5322 atext among ASCII octets. Read-only.
var atextTable = func() (t [128]bool) {
	for c := byte('a'); c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range []byte("!#$%&'*+-/=?^_`{|}~") {
		t[c] = true
	}
	return t
}()

// isAtext reports RFC 5322 atext for ASCII octets.
func isAtext(c byte) bool { return c < 0x80 && atextTable[c] }

// isDotString reports whether s is an RFC 5321 Dot-string (atoms of atext
// or UTF-8 joined by single dots), i.e. needs no quoting.
func isDotString(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x80 && !isAtext(c) && c != '.' {
			return false
		}
	}
	return true
}

// quote writes s as a Quoted-string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
