package mimeparse

import "strings"

// AddressKind tells a mailbox from a group's start and end markers.
type AddressKind uint8

const (
	// KindMailbox is an address: Mailbox and Domain are set, Name and
	// Route may be.
	KindMailbox AddressKind = iota
	// KindGroupStart opens a group (RFC 5322 3.4): Mailbox holds the
	// group's display name, the other fields are empty. It is the IMAP
	// start-of-group marker (NIL NIL "name" NIL), RFC 9051 7.5.2.
	KindGroupStart
	// KindGroupEnd closes a group: every field is empty, the IMAP
	// (NIL NIL NIL NIL) marker.
	KindGroupEnd
)

// Fillers for the parts of a broken address, as Dovecot writes them in
// ENVELOPE, so that a client never mistakes a broken address for a group
// marker (which is told by an empty domain).
const (
	MissingMailbox = "MISSING_MAILBOX"
	MissingDomain  = "MISSING_DOMAIN"
	SyntaxError    = "SYNTAX_ERROR"
	InvalidRoute   = "INVALID_ROUTE"
)

// Address is one entry of a parsed address list. Strings are as they
// appear in the header once comments, quoting and folding are removed:
// encoded-words (RFC 2047) in Name stay encoded, as in an IMAP ENVELOPE.
type Address struct {
	Kind    AddressKind
	Name    string // display name, or the trailing comment of a bare addr-spec
	Route   string // obsolete source route, "@a,@b" (RFC 5322 4.4)
	Mailbox string // local part, unquoted
	Domain  string
	// Invalid is set when the address had to be repaired.
	Invalid bool
}

// addrWork is the address being parsed; the has* flags stand for C's
// NULL so that the repair rules can tell "absent" from "empty".
type addrWork struct {
	name, route, mailbox, domain          string
	hasName, hasRoute, hasMailbox, hasDom bool
	invalid                               bool
}

type addrParser struct {
	l     lexer
	a     addrWork
	list  []Address
	buf   []byte
	limit int  // entries kept at most
	open  bool // a group start was kept and not yet closed
	full  bool // limit reached: later entries are dropped
}

// ParseAddressList parses an address-list header field value (From, To,
// Cc, ...) as RFC 5322 3.4 and its obsolete syntax (4.4) define, the way
// Dovecot's message-address parser does: groups give start and end
// markers, a comment after a bare addr-spec becomes its Name, and broken
// addresses are kept with MissingMailbox, MissingDomain or SyntaxError
// in place of what is missing. At most limit entries are returned (group
// markers stay paired); limit <= 0 means DefaultMaxAddresses.
func ParseAddressList(value string, limit int) []Address {
	if limit <= 0 {
		limit = DefaultMaxAddresses
	}
	p := &addrParser{l: lexer{s: value, wantComment: true}, limit: limit}
	if p.l.skipLWSP() > 0 {
		p.addressList()
	}
	return p.list
}

func (p *addrParser) add() {
	a := p.a
	p.a = addrWork{}
	var out Address
	switch {
	case !a.hasDom && !a.hasMailbox && !a.hasName && !a.hasRoute:
		out = Address{Kind: KindGroupEnd, Invalid: a.invalid}
	case !a.hasDom:
		out = Address{Kind: KindGroupStart, Mailbox: a.mailbox, Invalid: a.invalid}
	default:
		out = Address{Kind: KindMailbox, Name: a.name, Route: a.route, Mailbox: a.mailbox, Domain: a.domain, Invalid: a.invalid}
	}
	switch {
	case out.Kind == KindGroupEnd && p.open:
		p.list = append(p.list, out)
		p.open = false
	case p.full || len(p.list) >= p.limit-1 || (out.Kind == KindGroupEnd && !p.open):
		// Keep room for a group's end marker; past the limit, drop.
		if out.Kind != KindGroupEnd {
			p.full = true
		}
	default:
		p.list = append(p.list, out)
		if out.Kind == KindGroupStart {
			p.open = true
		}
	}
}

// addFixed adds a mailbox, filling in what is missing.
func (p *addrParser) addFixed() {
	if !p.a.hasMailbox {
		p.a.mailbox, p.a.hasMailbox, p.a.invalid = MissingMailbox, true, true
	}
	if !p.a.hasDom || p.a.domain == "" {
		p.a.domain, p.a.hasDom, p.a.invalid = MissingDomain, true, true
	}
	p.add()
}

// nonStrictDotAtom is a local part that may start or end with dots or
// have several in a row (seen in the wild, RFC 5322 4.4 obs-local-part).
func (p *addrParser) nonStrictDotAtom() int {
	l := &p.l
	ret := -1
	for {
		for l.cur() == '.' && l.pos < len(l.s) {
			p.buf = append(p.buf, '.')
			l.pos++
			if l.pos == len(l.s) {
				return 0 // no @domain, but the local part is fine
			}
			ret = 1
		}
		if l.cur() == '@' {
			break
		}
		p.buf, ret = l.atom(p.buf)
		if ret <= 0 || l.cur() != '.' {
			break
		}
	}
	return ret
}

func (p *addrParser) localPart() int {
	p.buf = p.buf[:0]
	var ret int
	if p.l.cur() == '"' {
		p.buf, ret = p.l.quoted(p.buf)
	} else {
		ret = p.nonStrictDotAtom()
	}
	if ret < 0 {
		return -1
	}
	p.a.mailbox, p.a.hasMailbox = string(p.buf), true
	return ret
}

func (p *addrParser) domain() int {
	p.buf = p.buf[:0]
	var ret int
	p.buf, ret = p.l.domain(p.buf)
	if ret < 0 {
		return -1
	}
	p.a.domain, p.a.hasDom = string(p.buf), true
	return ret
}

// domainList is obs-route's "@a,@b" before the ":" (RFC 5322 4.4).
func (p *addrParser) domainList() int {
	l := &p.l
	p.buf = p.buf[:0]
	for {
		if l.pos >= len(l.s) {
			return 0
		}
		if l.s[l.pos] != '@' {
			break
		}
		if len(p.buf) > 0 {
			p.buf = append(p.buf, ',')
		}
		p.buf = append(p.buf, '@')
		var ret int
		if p.buf, ret = l.domain(p.buf); ret <= 0 {
			return ret
		}
		for l.skipLWSP() > 0 && l.s[l.pos] == ',' {
			l.pos++
		}
	}
	p.a.route, p.a.hasRoute = string(p.buf), true
	return 1
}

// angleAddr is "<" [route ":"] addr-spec ">".
func (p *addrParser) angleAddr() int {
	l := &p.l
	l.pos++ // "<"
	if l.skipLWSP() <= 0 {
		return -1
	}
	if l.cur() == '@' {
		if p.domainList() > 0 && l.cur() == ':' {
			l.pos++
		} else {
			p.a.route, p.a.hasRoute = InvalidRoute, true
			if l.pos >= len(l.s) {
				return -1
			}
		}
		if l.skipLWSP() <= 0 {
			return -1
		}
	}
	if l.cur() != '>' {
		if p.localPart() <= 0 {
			return -1
		}
		if l.cur() == '@' {
			if p.domain() <= 0 {
				return -1
			}
		}
	}
	if l.cur() != '>' {
		return -1
	}
	l.pos++
	return l.skipLWSP()
}

// nameAddr is [display-name] angle-addr.
func (p *addrParser) nameAddr() int {
	l := &p.l
	p.buf = p.buf[:0]
	var ret int
	if p.buf, ret = l.phrase(p.buf); ret <= 0 || l.cur() != '<' {
		return -1
	}
	if len(p.buf) > 0 {
		p.a.name, p.a.hasName = string(p.buf), true
	}
	if p.angleAddr() < 0 {
		p.a.domain, p.a.hasDom = SyntaxError, true
		p.a.invalid = true
	}
	return l.more()
}

// addrSpec is local-part "@" domain, whose trailing comment, if any, is
// taken as the display name ("user@host (Real Name)").
func (p *addrParser) addrSpec() int {
	l := &p.l
	ret2 := -2
	l.comment = l.comment[:0]
	quoted := l.cur() == '"'
	ret := p.localPart()
	if ret <= 0 {
		p.a.invalid = true
	}
	if ret != 0 && l.pos < len(l.s) && l.s[l.pos] == '@' {
		ret2 = p.domain()
		if ret2 <= 0 {
			ret = ret2
		}
	}
	if len(l.comment) > 0 {
		p.a.name, p.a.hasName = string(l.comment), true
	} else if ret2 == -2 {
		// "user" alone is a mailbox without domain; followed by more
		// words it was a display name without address.
		p.buf = append(p.buf, ' ')
		n := len(p.buf)
		p.buf, _ = l.phrase(p.buf)
		if len(p.buf) != n {
			p.a.mailbox, p.a.hasMailbox = "", false
			p.a.name, p.a.hasName = string(p.buf), true
		} else if !quoted {
			p.a.domain, p.a.hasDom = "", true
		}
		p.a.invalid = true
		ret = -1
	}
	return ret
}

func (p *addrParser) mailbox() int {
	start := p.l.pos
	ret := p.nameAddr()
	if ret < 0 {
		p.l.pos = start
		ret = p.addrSpec()
		if p.a.invalid && !p.a.hasName && p.a.hasMailbox && !p.a.hasDom {
			p.a.name, p.a.hasName = p.a.mailbox, true
			p.a.mailbox, p.a.hasMailbox = "", false
		}
	}
	if ret < 0 {
		p.a.invalid = true
	}
	p.addFixed()
	return ret
}

// group is display-name ":" [mailbox-list / CFWS] ";" [CFWS].
func (p *addrParser) group() int {
	l := &p.l
	p.buf = p.buf[:0]
	var ret int
	if p.buf, ret = l.phrase(p.buf); ret <= 0 || l.cur() != ':' {
		return -1
	}
	// From here on this is a group, however broken.
	l.pos++
	if ret = l.skipLWSP(); ret <= 0 {
		p.a.invalid = true
	}
	p.a.mailbox, p.a.hasMailbox = string(p.buf), true
	p.add()
	if ret > 0 && l.cur() != ';' {
		for {
			p.mailbox()
			if l.pos >= len(l.s) || l.s[l.pos] != ',' {
				break
			}
			l.pos++
			if l.skipLWSP() <= 0 {
				ret = -1
				break
			}
		}
	}
	if ret >= 0 {
		if l.pos >= len(l.s) || l.s[l.pos] != ';' {
			ret = -1
		} else {
			l.pos++
			ret = l.skipLWSP()
		}
	}
	if ret < 0 {
		p.a.invalid = true
	}
	p.add()
	if ret == 0 {
		return 0
	}
	return 1
}

func (p *addrParser) address() int {
	start := p.l.pos
	ret := p.group()
	if ret < 0 {
		p.l.pos = start
		ret = p.mailbox()
	}
	return ret
}

func (p *addrParser) addressList() {
	l := &p.l
	for !p.full {
		if p.address() == 0 {
			return
		}
		if l.pos >= len(l.s) || l.s[l.pos] != ',' {
			return
		}
		l.pos++
		if ret := l.skipLWSP(); ret <= 0 {
			if ret < 0 {
				p.addFixed() // ends with garbage
			}
			return
		}
	}
}

// FormatAddressList writes a parsed list back as header text, the way
// Dovecot normalizes address fields for SEARCH FROM/TO/CC/BCC: comments
// dropped, names quoted where needed, groups as "name: a, b;".
func FormatAddressList(list []Address) string {
	var b []byte
	first := true
	for _, a := range list {
		if !first {
			b = append(b, ", "...)
		}
		first = false
		switch a.Kind {
		case KindGroupStart:
			switch {
			case a.Mailbox == "":
				b = append(b, `""`...)
			case strings.Contains(a.Mailbox, "=?"):
				b = append(b, a.Mailbox...) // encoded-words can't be quoted
			default:
				b = appendMaybeQuoted(b, a.Mailbox, true)
			}
			b = append(b, ": "...)
			first = true
		case KindGroupEnd:
			if n := len(b); n >= 2 && b[n-2] == ',' && b[n-1] == ' ' {
				b = b[:n-2]
			} else if n >= 2 && b[n-2] == ':' && b[n-1] == ' ' {
				b = b[:n-1]
			}
			b = append(b, ';')
		default:
			if a.Name != "" {
				if strings.Contains(a.Name, "=?") {
					b = append(b, a.Name...)
				} else {
					b = appendMaybeQuoted(b, a.Name, true)
				}
			}
			if a.Route != "" || a.Mailbox != "" || a.Domain != "" {
				if a.Name != "" {
					b = append(b, ' ')
				}
				b = append(b, '<')
				if a.Route != "" {
					b = append(b, a.Route...)
					b = append(b, ':')
				}
				if a.Mailbox == "" {
					b = append(b, `""`...)
				} else {
					b = appendMaybeQuoted(b, a.Mailbox, false)
				}
				if a.Domain != "" {
					b = append(b, '@')
					b = append(b, a.Domain...)
				}
				b = append(b, '>')
			}
		}
	}
	return string(b)
}

// appendMaybeQuoted appends s as an atom (dot-atom unless escapeDot), or
// quoted with '\', '"' and '\” escaped.
func appendMaybeQuoted(b []byte, s string, escapeDot bool) []byte {
	plain, escapes := true, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAtext(c) && (escapeDot || c != '.') {
			plain = false
		}
		if c == '"' || c == '\\' || c == '\'' {
			escapes = true
		}
	}
	if plain {
		return append(b, s...)
	}
	b = append(b, '"')
	if !escapes {
		b = append(b, s...)
	} else {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == '"' || c == '\\' || c == '\'' {
				b = append(b, '\\')
			}
			b = append(b, s[i])
		}
	}
	return append(b, '"')
}
