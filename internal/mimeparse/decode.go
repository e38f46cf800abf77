package mimeparse

import (
	"errors"
	"mime"
	"strings"

	"github.com/emersion/go-message/charset"
)

// ErrUnknownEncoding is returned for a Content-Transfer-Encoding that is
// not one of RFC 2045's (IMAP BINARY answers it with UNKNOWN-CTE, RFC
// 3516 4.3).
var ErrUnknownEncoding = errors.New("mimeparse: unknown content-transfer-encoding")

// Decode undoes a Content-Transfer-Encoding (RFC 2045 6): identity for
// 7bit, 8bit, binary and none, lenient base64 and quoted-printable
// decoders that skip what they cannot read rather than fail, as mail
// readers do. The result is never longer than body.
func Decode(enc string, body []byte) ([]byte, error) {
	switch strings.ToLower(enc) {
	case "", "7bit", "8bit", "binary":
		return body, nil
	case "base64":
		return decodeBase64(body), nil
	case "quoted-printable":
		return decodeQP(body), nil
	}
	return nil, ErrUnknownEncoding
}

var b64val = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

// decodeBase64 skips octets outside the alphabet (line breaks, junk) and
// stops at the first "=" pad.
func decodeBase64(in []byte) []byte {
	out := make([]byte, 0, len(in)*3/4+3)
	var acc uint32
	n := 0
	for _, c := range in {
		if c == '=' {
			break
		}
		v := b64val[c]
		if v < 0 {
			continue
		}
		acc = acc<<6 | uint32(v)
		n++
		if n == 4 {
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	switch n {
	case 2:
		out = append(out, byte(acc>>4))
	case 3:
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return out
}

// decodeQP decodes quoted-printable (RFC 2045 6.7): "=XX" escapes, soft
// line breaks ("=" at the end of a line), trailing blanks of a line
// dropped; an "=" that starts neither is kept as it is.
func decodeQP(in []byte) []byte {
	out := make([]byte, 0, len(in))
	lineStart := 0 // in out: where the current line began
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '=':
			// Soft break: "=" then blanks then (CR)LF or the end.
			j := i + 1
			for j < len(in) && (in[j] == ' ' || in[j] == '\t') {
				j++
			}
			if j == len(in) {
				i = j
				continue
			}
			if in[j] == '\n' || (in[j] == '\r' && j+1 < len(in) && in[j+1] == '\n') {
				if in[j] == '\r' {
					j++
				}
				i = j
				lineStart = len(out)
				continue
			}
			if i+2 < len(in) {
				if h, ok := unhex(in[i+1]); ok {
					if l, ok := unhex(in[i+2]); ok {
						out = append(out, h<<4|l)
						i += 2
						continue
					}
				}
			}
			out = append(out, c)
		case c == '\n' || (c == '\r' && i+1 < len(in) && in[i+1] == '\n'):
			// Trailing blanks before a hard break are padding.
			k := len(out)
			for k > lineStart && (out[k-1] == ' ' || out[k-1] == '\t') {
				k--
			}
			out = out[:k]
			if c == '\r' {
				out = append(out, '\r')
				i++
			}
			out = append(out, '\n')
			lineStart = len(out)
		default:
			out = append(out, c)
		}
	}
	return out
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// DecodeHeader decodes RFC 2047 encoded-words in header text; text that
// does not decode is returned as it is.
func DecodeHeader(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// Encoding is the part's Content-Transfer-Encoding in lower case, "" when
// absent or when Content-* fields do not apply (not MIME).
func (p *Part) Encoding(msg []byte) string {
	if !p.MIME {
		return ""
	}
	v, ok := HeaderValue(p.Header(msg), "Content-Transfer-Encoding")
	if !ok {
		return ""
	}
	return ParseEncoding(string(v))
}

// Text returns a leaf's body decoded for reading: transfer encoding
// undone (an unknown one leaves the body as it is) and, for text/*,
// converted to UTF-8 from its charset where that is known.
func (p *Part) Text(msg []byte) []byte {
	body := p.Body(msg)
	if d, err := Decode(p.Encoding(msg), body); err == nil {
		body = d
	}
	if p.Type == "text" {
		if cs := p.Param("charset"); cs != "" {
			if s, ok := toUTF8(cs, body); ok {
				return []byte(s)
			}
		}
	}
	return body
}
