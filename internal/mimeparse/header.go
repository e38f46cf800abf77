package mimeparse

import (
	"bytes"
	"iter"
)

// Field is one header field (RFC 5322 2.2) of a header block.
type Field struct {
	// Name is the field name as written, without trailing whitespace
	// (obs-optional allows "Subject :").
	Name []byte
	// Value is the text after the colon: leading blanks skipped, folds
	// (CRLF + WSP) kept, the final line break removed.
	Value []byte
	// Raw is the whole field with its line break, as it is in the message.
	Raw []byte
}

// Fields iterates over the fields of a header block (no blank line). A
// line that starts with a blank continues the field before it; a line
// with no colon is a field with that name and an empty value, so that
// nothing in the header is lost to HEADER.FIELDS.NOT.
func Fields(h []byte) iter.Seq[Field] {
	return func(yield func(Field) bool) {
		pos := 0
		for pos < len(h) {
			start := pos
			// The field runs to the first line break not followed by
			// a blank.
			end := len(h)
			for i := pos; i < len(h); {
				nl := bytes.IndexByte(h[i:], '\n')
				if nl < 0 {
					break
				}
				i += nl + 1
				if i >= len(h) || (h[i] != ' ' && h[i] != '\t') {
					end = i
					break
				}
			}
			pos = end
			raw := h[start:end]
			line := trimEOL(raw)
			var f Field
			f.Raw = raw
			if colon := bytes.IndexByte(line, ':'); colon >= 0 {
				f.Name = bytes.TrimRight(line[:colon], " \t")
				v := line[colon+1:]
				for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
					v = v[1:]
				}
				f.Value = v
			} else {
				f.Name = line
			}
			if !yield(f) {
				return
			}
		}
	}
}

// trimEOL removes one trailing LF or CRLF.
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// nameIs reports whether a field name equals name, ASCII case-insensitive.
func nameIs(f []byte, name string) bool {
	if len(f) != len(name) {
		return false
	}
	for i := 0; i < len(f); i++ {
		a, b := f[i], name[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// NameIs reports whether a field's name is name (ASCII, any case).
func (f Field) NameIs(name string) bool { return nameIs(f.Name, name) }

// Unfold returns a field value on one line: each line break with the
// blanks after it becomes one space, as RFC 5322 2.2.3 unfolding does
// for display (a break followed by a non-blank also becomes a space).
func Unfold(v []byte) string {
	if bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0 {
		return string(v)
	}
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\r' && c != '\n' {
			out = append(out, c)
			continue
		}
		// Drop the break; the blank that follows it (if any) stays as
		// the separator.
		if c == '\r' && i+1 < len(v) && v[i+1] == '\n' {
			i++
		}
		if i+1 < len(v) && v[i+1] != ' ' && v[i+1] != '\t' {
			out = append(out, ' ')
		}
	}
	return string(out)
}

// CollapseSpace turns every run of blanks and line breaks into one space
// and trims both ends: header text "for humans" (ENVELOPE subject and
// names, as Dovecot writes them). NUL becomes U+FFFD.
func CollapseSpace(s string) string {
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\r', '\n':
			space = len(b) > 0
		case 0:
			if space {
				b = append(b, ' ')
				space = false
			}
			b = append(b, nulReplacement...)
		default:
			if space {
				b = append(b, ' ')
				space = false
			}
			b = append(b, c)
		}
	}
	return string(b)
}
