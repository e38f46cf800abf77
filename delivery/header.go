package delivery

import (
	"net/netip"
	"strings"
)

// traceHeaders returns the Return-Path, Delivered-To and Received fields
// prepended at final delivery (RFC 5321 4.4), CRLF-terminated like the
// data they precede.
//
// Delivered-To and the Received "for" clause name a recipient, so they are
// written only when every recipient is the same account: the written file
// is shared by all recipients (hard links), and naming one would disclose
// Bcc recipients to the others.
func traceHeaders(host string, env Envelope) string {
	var b strings.Builder
	b.WriteString(env.AuthResults) // RFC 8601 5: at the top
	b.WriteString("Return-Path: <")
	b.WriteString(pathText(env.Sender))
	b.WriteString(">\r\n")

	single := true
	for _, r := range env.Recipients[1:] {
		if r.Account.ID != env.Recipients[0].Account.ID {
			single = false
		}
	}
	if single {
		b.WriteString("Delivered-To: ")
		b.WriteString(pathText(env.Recipients[0].Account.Address))
		b.WriteString("\r\n")
	}

	// RFC 5321 4.4 Stamp: from, by, with, id, for; comments are CFWS.
	b.WriteString("Received: from ")
	b.WriteString(heloText(env.Helo))
	b.WriteString(" (")
	if env.ClientHost != "" {
		b.WriteString(heloText(env.ClientHost))
		b.WriteString(" ")
	}
	b.WriteString(addressLiteral(env.ClientIP))
	b.WriteString(")\r\n")
	if env.TLS != "" {
		b.WriteString("\t(using ")
		b.WriteString(commentText(env.TLS))
		b.WriteString(")\r\n")
	}
	if env.AuthUser != "" {
		b.WriteString("\t(authenticated as ")
		b.WriteString(commentText(env.AuthUser))
		b.WriteString(")\r\n")
	}
	b.WriteString("\tby ")
	b.WriteString(heloText(host))
	b.WriteString(" (immp) with ")
	b.WriteString(protocol(env))
	if env.ID != "" {
		b.WriteString(" id ")
		b.WriteString(heloText(env.ID))
	}
	if single && len(env.Recipients) == 1 {
		b.WriteString("\r\n\tfor <")
		b.WriteString(pathText(env.Recipients[0].Address))
		b.WriteString(">")
	}
	b.WriteString(";\r\n\t")
	b.WriteString(env.Time.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	b.WriteString("\r\n")
	return b.String()
}

// protocol is the "with" keyword of RFC 3848 and RFC 6531 4.3.
func protocol(env Envelope) string {
	p := "ESMTP"
	if env.UTF8 {
		p = "UTF8SMTP"
	}
	if env.TLS != "" {
		p += "S"
	}
	if env.AuthUser != "" {
		p += "A"
	}
	return p
}

// addressLiteral is the client's address as an RFC 5321 4.1.3 literal.
func addressLiteral(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "[unknown]"
	}
	a = a.Unmap()
	if a.Is6() {
		return "[IPv6:" + a.WithZone("").String() + "]"
	}
	return "[" + a.String() + "]"
}

// heloText keeps a client-supplied domain from breaking the header: only
// printable characters without spaces, parentheses or separators; anything
// else becomes '?'. Capped at 255 octets (RFC 5321 4.5.3.1.2).
func heloText(s string) string {
	if len(s) > 255 {
		s = s[:255]
	}
	if s == "" {
		return "unknown"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r <= ' ', r == 0x7f, r == '(', r == ')', r == ';', r == '\\', r == '"', r == '<', r == '>':
			return '?'
		case r == 0xfffd:
			return '?'
		}
		return r
	}, s)
}

// commentText is text safe inside a header comment.
func commentText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r < ' ', r == 0x7f, r == '(', r == ')', r == '\\':
			return '?'
		}
		return r
	}, s)
}

// pathText writes an envelope address as it goes between < and >: control
// characters dropped; a local part that is not a dot-string is quoted
// again (go-smtp hands it over unquoted).
func pathText(addr string) string {
	addr = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == 0xfffd {
			return -1
		}
		return r
	}, addr)
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return strings.Map(func(r rune) rune {
			if r == '<' || r == '>' {
				return -1
			}
			return r
		}, addr)
	}
	local, domain := addr[:at], addr[at+1:]
	domain = strings.Map(func(r rune) rune {
		if r == '<' || r == '>' || r == ' ' || r == '"' {
			return -1
		}
		return r
	}, domain)
	if !isDotString(local) {
		local = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(local) + `"`
	}
	return local + "@" + domain
}

// isDotString: RFC 5321 Dot-string, with RFC 6531 UTF-8 allowed.
func isDotString(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if r >= 0x80 {
			continue
		}
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' {
			continue
		}
		if strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r) {
			continue
		}
		return false
	}
	return true
}
