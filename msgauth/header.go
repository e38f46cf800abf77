package msgauth

import (
	"bytes"
	"net/mail"
	"strings"
)

// field is one header field as it appeared: raw keeps its folding and
// line ends, value is unfolded.
type field struct {
	name  string
	raw   []byte
	value string
}

// fields splits a header section (without the empty line) into fields
// (RFC 5322 2.2). Lines before the first field and lines that are not a
// field (no colon) are kept as fields without a name, so that writing
// every raw back yields the input.
func fields(hdr []byte) []field {
	var out []field
	for len(hdr) > 0 {
		end := 0
		for {
			i := bytes.IndexByte(hdr[end:], '\n')
			if i < 0 {
				end = len(hdr)
				break
			}
			end += i + 1
			if end >= len(hdr) || (hdr[end] != ' ' && hdr[end] != '\t') {
				break
			}
		}
		raw := hdr[:end]
		hdr = hdr[end:]
		f := field{raw: raw}
		if c := bytes.IndexByte(raw, ':'); c > 0 && !bytes.ContainsAny(raw[:c], " \t\r\n") {
			f.name = string(raw[:c])
			v := strings.NewReplacer("\r\n", "", "\n", "", "\r", "").Replace(string(raw[c+1:]))
			f.value = strings.TrimSpace(v)
		} else if c := bytes.IndexByte(raw, ':'); c > 0 {
			// "Name : value" (obs-optional, RFC 5322 4.5.3)
			f.name = strings.TrimRight(string(raw[:c]), " \t")
			f.value = strings.TrimSpace(strings.NewReplacer("\r\n", "", "\n", "").Replace(string(raw[c+1:])))
		}
		out = append(out, f)
	}
	return out
}

// singleFromDomain is the domain of the RFC5322.From address (RFC 7489
// 3.1), lower case; "" when there is no From field, more than one, or
// addresses in different domains (RFC 7489 6.6.1).
func singleFromDomain(hdr []byte) string {
	var from []string
	for _, f := range fields(hdr) {
		if strings.EqualFold(f.name, "From") {
			from = append(from, f.value)
		}
	}
	if len(from) != 1 {
		return ""
	}
	addrs, err := mail.ParseAddressList(from[0])
	if err != nil || len(addrs) == 0 {
		return ""
	}
	domain := ""
	for _, a := range addrs {
		at := strings.LastIndexByte(a.Address, '@')
		if at < 0 {
			return ""
		}
		d := strings.ToLower(strings.TrimSuffix(a.Address[at+1:], "."))
		if domain != "" && d != domain {
			return ""
		}
		domain = d
	}
	return domain
}

// authservIDOf is the authserv-id of an Authentication-Results value
// (RFC 8601 2.2): the first value, before any version and ';', without
// comments.
func authservIDOf(v string) string {
	v = stripComments(v)
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	v = strings.TrimSpace(v)
	if i := strings.IndexAny(v, " \t"); i >= 0 {
		v = v[:i] // "id 1" : authserv-version follows
	}
	return strings.Trim(v, `"`)
}

// stripComments removes RFC 5322 comments, nested, with quoted-pairs.
func stripComments(s string) string {
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (depth > 0 || quoted):
			if depth == 0 {
				b.WriteByte(c)
				b.WriteByte(s[i+1])
			}
			i++
		case c == '"' && depth == 0:
			quoted = !quoted
			b.WriteByte(c)
		case c == '(' && !quoted:
			depth++
		case c == ')' && !quoted && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// stripOwnResults returns hdr without the Authentication-Results fields
// that carry authservID (RFC 8601 5: a forged one would otherwise be
// read as ours), and how many were removed.
func stripOwnResults(hdr []byte, authservID string) ([]byte, int) {
	fs := fields(hdr)
	n := 0
	for _, f := range fs {
		if isOwnResults(f, authservID) {
			n++
		}
	}
	if n == 0 {
		return hdr, 0
	}
	out := make([]byte, 0, len(hdr))
	for _, f := range fs {
		if !isOwnResults(f, authservID) {
			out = append(out, f.raw...)
		}
	}
	return out, n
}

func isOwnResults(f field, authservID string) bool {
	return strings.EqualFold(f.name, "Authentication-Results") && strings.EqualFold(authservIDOf(f.value), authservID)
}

// sigTags are the tags of one DKIM-Signature that the result names
// (RFC 6376 3.5, RFC 6008 header.b).
type sigTags struct{ d, s, b string }

// dkimSignatures lists the d=, s= and b= tags of the DKIM-Signature
// fields in header order, at most max.
func dkimSignatures(hdr []byte, max int) []sigTags {
	var out []sigTags
	for _, f := range fields(hdr) {
		if !strings.EqualFold(f.name, "DKIM-Signature") {
			continue
		}
		if len(out) == max {
			break
		}
		var t sigTags
		for _, kv := range strings.Split(f.value, ";") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			v = strings.Join(strings.Fields(v), "")
			switch strings.TrimSpace(k) {
			case "d":
				t.d = strings.ToLower(v)
			case "s":
				t.s = v
			case "b":
				t.b = v
			}
		}
		out = append(out, t)
	}
	return out
}
