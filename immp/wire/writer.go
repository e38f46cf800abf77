package wire

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// Status words of status responses (draft 2.3.2).
const (
	OK      = "OK"
	NO      = "NO"
	BAD     = "BAD"
	BYE     = "BYE"
	PREAUTH = "PREAUTH"
)

// Token is one data item of a response.
type Token interface{ appendTo(b []byte) []byte }

// Atom is sent as is; the caller guarantees it is a valid atom (a flag,
// a capability, a keyword).
type Atom string

// Quoted is a string sent quoted when it is printable ASCII, else as a
// literal (RFC 9051 4.3).
type Quoted string

// AString is a string sent as an atom when it is one (and not NIL), else
// as Quoted. Names in LIST replies use it, as the draft's 6.3.6 example.
type AString string

// List is a parenthesized list.
type List []Token

func (a Atom) appendTo(b []byte) []byte { return append(b, a...) }

func (q Quoted) appendTo(b []byte) []byte { return AppendString(b, string(q)) }

func (a AString) appendTo(b []byte) []byte {
	s := string(a)
	if s != "" && !strings.EqualFold(s, "NIL") {
		atom := true
		for i := 0; i < len(s); i++ {
			if !isAtomChar(s[i]) || s[i] == '%' || s[i] == '*' || s[i] == '\\' || s[i] == ',' {
				atom = false
				break
			}
		}
		if atom {
			return append(b, s...)
		}
	}
	return AppendString(b, s)
}

func (l List) appendTo(b []byte) []byte {
	b = append(b, '(')
	for i, t := range l {
		if i > 0 {
			b = append(b, ' ')
		}
		b = t.appendTo(b)
	}
	return append(b, ')')
}

// AppendString appends s as a quoted string if it is printable ASCII,
// else as a literal "{n}" CRLF octets.
func AppendString(b []byte, s string) []byte {
	if NeedsLiteral(s) {
		b = append(b, '{')
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, "}\r\n"...)
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// NeedsLiteral reports whether s cannot be sent as a quoted string by a
// conservative sender: anything but printable ASCII, or very long.
func NeedsLiteral(s string) bool {
	if len(s) > 1024 {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return true
		}
	}
	return false
}

// Writer writes responses (server) or commands (client) into a buffer;
// nothing reaches the connection before Flush.
type Writer struct {
	bw  *bufio.Writer
	buf []byte
}

// NewWriter returns a Writer over w.
func NewWriter(w io.Writer) *Writer { return &Writer{bw: bufio.NewWriterSize(w, 4096)} }

// Flush sends what was written.
func (w *Writer) Flush() error { return w.bw.Flush() }

// Buffered is the number of octets written but not flushed.
func (w *Writer) Buffered() int { return w.bw.Buffered() }

func (w *Writer) line(b []byte) error {
	b = append(b, '\r', '\n')
	_, err := w.bw.Write(b)
	w.buf = b[:0]
	return err
}

// cleanText keeps human-readable text on one line.
func cleanText(b []byte, text string) []byte {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c < 0x20 || c == 0x7f {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

// Continue writes a continuation request "+ text" (draft 2.3.1).
func (w *Writer) Continue(text string) error {
	b := append(w.buf[:0], '+', ' ')
	return w.line(cleanText(b, text))
}

// Status writes a status response: "tag STATUS [CODE] text". tag "*" makes
// it untagged ("* OK ...", "* BYE ..."); tag "" writes the completion of
// an untagged command, which has no tag at all (draft 6.5, profile 8).
// code may carry arguments ("CAPABILITY IMMP LITERAL+"); "" means none.
func (w *Writer) Status(tag, status, code, text string) error {
	b := w.buf[:0]
	if tag != "" {
		b = append(b, tag...)
		b = append(b, ' ')
	}
	b = append(b, status...)
	if code != "" {
		b = append(b, " ["...)
		b = cleanText(b, code)
		b = append(b, ']')
	}
	if text != "" {
		b = append(b, ' ')
		b = cleanText(b, text)
	}
	return w.line(b)
}

// Data writes an untagged data response "* NAME tok tok ...".
func (w *Writer) Data(name string, toks ...Token) error {
	b := append(w.buf[:0], '*', ' ')
	b = append(b, name...)
	for _, t := range toks {
		b = append(b, ' ')
		b = t.appendTo(b)
	}
	return w.line(b)
}

// Raw writes one line as is (plus CRLF); the client uses it for
// AUTHENTICATE responses.
func (w *Writer) Raw(line string) error {
	return w.line(append(w.buf[:0], line...))
}

// RawBytes writes b as is (the client's command lines, line ends included).
func (w *Writer) RawBytes(b []byte) (int, error) { return w.bw.Write(b) }
