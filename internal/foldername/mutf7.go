package foldername

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Modified UTF-7 (RFC 3501 5.1.3), the encoding of mailbox names on the
// IMAP wire (go-imap applies it there) and the one Dovecot 2.3 uses for
// folder names on disk unless told otherwise: printable US-ASCII stands for
// itself except "&", written "&-"; anything else is UTF-16BE in modified
// BASE64 (with "," for "/") between "&" and "-".

var mb64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding).Strict()

// ErrMUTF7: a string is not valid modified UTF-7.
var ErrMUTF7 = errors.New("invalid modified UTF-7")

// EncodeMUTF7 writes UTF-8 s in modified UTF-7.
func EncodeMUTF7(s string) string {
	var b strings.Builder
	var pending []rune
	flush := func() {
		if len(pending) == 0 {
			return
		}
		u := utf16.Encode(pending)
		buf := make([]byte, 2*len(u))
		for i, c := range u {
			buf[2*i], buf[2*i+1] = byte(c>>8), byte(c)
		}
		b.WriteByte('&')
		b.WriteString(mb64.EncodeToString(buf))
		b.WriteByte('-')
		pending = pending[:0]
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				b.WriteString("&-")
			} else {
				b.WriteRune(r)
			}
			continue
		}
		pending = append(pending, r)
	}
	flush()
	return b.String()
}

// DecodeMUTF7 reads modified UTF-7 into UTF-8. It refuses what RFC 3501
// 5.1.3 forbids, so that every name has one spelling: octets outside
// printable US-ASCII, a shift without its "-", bad BASE64, a shifted run
// holding printable US-ASCII, and two shifted runs in a row.
func DecodeMUTF7(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", ErrMUTF7
		}
		if c != '&' {
			b.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", ErrMUTF7
		}
		enc := s[i+1 : i+1+end]
		i += end + 2
		if enc == "" {
			b.WriteByte('&')
			continue
		}
		raw, err := mb64.DecodeString(enc)
		if err != nil || len(raw)%2 != 0 {
			return "", ErrMUTF7
		}
		u := make([]uint16, len(raw)/2)
		for j := range u {
			u[j] = uint16(raw[2*j])<<8 | uint16(raw[2*j+1])
		}
		for _, r := range utf16.Decode(u) {
			// A shifted run may not hold what could be written directly.
			if r == utf8.RuneError || (r >= 0x20 && r <= 0x7e) {
				return "", ErrMUTF7
			}
			b.WriteRune(r)
		}
		// RFC 3501: "&" runs must not be adjacent ("&AAA-&BBB-").
		if i < len(s) && s[i] == '&' && i+1 < len(s) && s[i+1] != '-' {
			return "", ErrMUTF7
		}
	}
	return b.String(), nil
}
