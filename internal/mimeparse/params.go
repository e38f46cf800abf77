package mimeparse

import (
	"bytes"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// MaxParams bounds the parameters read from one Content-Type or
// Content-Disposition field (Dovecot's RFC2231_MAX_PARAMS).
const MaxParams = 128

// Param is one MIME parameter; Name is lower-case.
type Param struct {
	Name, Value string
}

// ParseContentType parses a Content-Type value (RFC 2045 5.1): type and
// subtype in lower case and the parameters (RFC 2231 continuations and
// charsets applied). ok is false when there is no valid type/subtype;
// RFC 2045 5.2 then says to treat the part as text/plain.
func ParseContentType(v string) (typ, sub string, params []Param, ok bool) {
	l := &lexer{s: v}
	if l.skipLWSP() <= 0 {
		return "", "", nil, false
	}
	var buf []byte
	var ret int
	if buf, ret = l.mimeToken(buf); ret <= 0 || len(buf) == 0 || l.cur() != '/' {
		return "", "", nil, false
	}
	typ = strings.ToLower(string(buf))
	l.pos++
	if l.skipLWSP() <= 0 {
		return "", "", nil, false
	}
	buf = buf[:0]
	if buf, ret = l.mimeToken(buf); ret < 0 || len(buf) == 0 || (l.pos < len(l.s) && l.s[l.pos] != ';') {
		return "", "", nil, false
	}
	sub = strings.ToLower(string(buf))
	return typ, sub, parseParams(l), true
}

// ParseDisposition parses a Content-Disposition value (RFC 2183).
func ParseDisposition(v string) (disp string, params []Param) {
	l := &lexer{s: v}
	l.skipLWSP()
	buf, ret := l.mimeToken(nil)
	if ret < 0 || len(buf) == 0 {
		return "", nil
	}
	return string(buf), parseParams(l)
}

// ParseEncoding parses a Content-Transfer-Encoding value (RFC 2045 6.1)
// into its lower-case token, "" when absent or malformed.
func ParseEncoding(v string) string {
	l := &lexer{s: v}
	l.skipLWSP()
	buf, ret := l.mimeToken(nil)
	if ret < 0 || l.skipLWSP() != 0 || len(buf) == 0 {
		return ""
	}
	return strings.ToLower(string(buf))
}

// ParseLanguage parses a Content-Language list (RFC 3282).
func ParseLanguage(v string) []string {
	l := &lexer{s: v}
	l.skipLWSP()
	var langs []string
	for len(langs) < MaxParams {
		buf, ret := l.atom(nil)
		if ret < 0 {
			break
		}
		langs = append(langs, string(buf))
		if l.pos >= len(l.s) || l.s[l.pos] != ',' {
			break
		}
		l.pos++
		l.skipLWSP()
	}
	return langs
}

// contentParam reads one ";" attribute "=" value (RFC 2045 5.1): 1 with
// a parameter, 0 at the end, -1 on a syntax error.
func contentParam(l *lexer) (key, value string, ret int) {
	if l.pos >= len(l.s) {
		return "", "", 0
	}
	if l.s[l.pos] != ';' {
		return "", "", -1
	}
	l.pos++
	if l.skipLWSP() <= 0 {
		return "", "", -1
	}
	k, r := l.mimeToken(nil)
	if r <= 0 || l.cur() != '=' {
		return "", "", -1
	}
	l.pos++
	var v []byte
	switch r = l.skipLWSP(); {
	case r <= 0:
		// no value
	case l.s[l.pos] == '"':
		v, r = l.quoted(nil)
	case l.s[l.pos] == '=':
		// Broken but common: name==?utf-8?b?...?= unquoted.
		start := l.pos
		for l.pos < len(l.s) && !strings.ContainsRune("; \t\r\n", rune(l.s[l.pos])) {
			l.pos++
		}
		v = []byte(l.s[start:l.pos])
	default:
		v, r = l.mimeToken(nil)
	}
	if r < 0 {
		return string(k), string(v), -1
	}
	return string(k), string(v), 1
}

// rfc2231Seg is one "name*N[*]" segment of a continued parameter.
type rfc2231Seg struct {
	key      string
	value    string
	idx      int
	extended bool
}

// parseParams reads the parameters after a type, merging RFC 2231
// continuations ("name*0", "name*1*") and decoding extended values
// ("charset'lang'%XX") to UTF-8. A plain parameter wins over a continued
// one of the same name, and the first of duplicates wins, as in Dovecot.
func parseParams(l *lexer) []Param {
	var out []Param
	var segs []rfc2231Seg
	add := func(k, v string) {
		k = strings.ToLower(k)
		for _, p := range out {
			if p.Name == k {
				return
			}
		}
		out = append(out, Param{Name: k, Value: v})
	}
	for n := 0; n < MaxParams; n++ {
		key, value, ret := contentParam(l)
		if ret == 0 {
			break
		}
		if ret < 0 {
			if l.pos >= len(l.s) {
				break
			}
			l.pos++ // try to go on after the junk
			continue
		}
		star := strings.IndexByte(key, '*')
		if star < 0 {
			add(key, value)
			continue
		}
		rest := key[star+1:]
		digits := 0
		for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
			digits++
		}
		idx, err := strconv.Atoi(rest[:digits])
		indexed := digits > 0 && err == nil && idx < 1<<20
		rest = rest[digits:]
		if !indexed {
			rest = key[star+1:]
		}
		extended := strings.HasPrefix(rest, "*")
		if extended {
			rest = rest[1:]
		}
		switch {
		case rest != "":
			add(key, value) // not RFC 2231 after all
		case indexed:
			segs = append(segs, rfc2231Seg{key: strings.ToLower(key[:star]), value: value, idx: idx, extended: extended})
		case extended:
			cs := ""
			add(key[:star], decodeExtended(value, &cs))
		default:
			add(key, value)
		}
	}
	if len(segs) == 0 {
		return out
	}
	slices.SortStableFunc(segs, func(a, b rfc2231Seg) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return a.idx - b.idx
	})
	for i := 0; i < len(segs); {
		j := i
		ok := true
		for ; j < len(segs) && segs[j].key == segs[i].key; j++ {
			if segs[j].idx != j-i {
				ok = false
			}
		}
		if !ok {
			// Gaps: the segments are unrelated parameters.
			for _, s := range segs[i:j] {
				v := s.value
				if s.extended {
					cs := ""
					v = decodeExtended(v, &cs)
				}
				add(s.key+"*"+strconv.Itoa(s.idx), v)
			}
		} else {
			var b strings.Builder
			cs := ""
			for _, s := range segs[i:j] {
				v := s.value
				if s.extended {
					v = decodeExtended(v, &cs)
				}
				b.WriteString(v)
			}
			add(segs[i].key, b.String())
		}
		i = j
	}
	return out
}

// decodeExtended decodes an RFC 2231 extended value. The first segment
// carries "charset'language'"; *cs keeps the charset for the segments
// after it. A value that cannot be decoded is kept as written.
func decodeExtended(v string, cs *string) string {
	if *cs == "" {
		q1 := strings.IndexByte(v, '\'')
		if q1 < 0 {
			return v
		}
		q2 := strings.IndexByte(v[q1+1:], '\'')
		if q2 < 0 {
			return v
		}
		*cs = v[:q1]
		if *cs == "" {
			*cs = "us-ascii"
		}
		v = v[q1+1+q2+1:]
	}
	raw, ok := percentDecode(v)
	if !ok {
		return v
	}
	if s, ok := toUTF8(*cs, raw); ok {
		return s
	}
	return v
}

func percentDecode(v string) ([]byte, bool) {
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] != '%' {
			out = append(out, v[i])
			continue
		}
		if i+2 >= len(v) {
			return nil, false
		}
		h, ok1 := unhex(v[i+1])
		lo, ok2 := unhex(v[i+2])
		if !ok1 || !ok2 {
			return nil, false
		}
		out = append(out, h<<4|lo)
		i += 2
	}
	return out, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// toUTF8 converts text in a named charset to UTF-8; false when the
// charset is unknown or the result is not valid UTF-8.
func toUTF8(cs string, b []byte) (string, bool) {
	switch strings.ToLower(cs) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		if utf8.Valid(b) {
			return string(b), true
		}
		return "", false
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		return "", false
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(4*len(b)+16)))
	if err != nil || !utf8.Valid(out) {
		return "", false
	}
	return string(out), true
}
