package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"
)

// maxHeaderBytes bounds the header section read ahead of delivery on
// submission to check the sender fields; a longer one is refused.
const maxHeaderBytes = 1 << 20

// senderFields are the header fields that say who sent the message (RFC
// 5322 3.6.2 originator fields, 3.6.6 resent fields). Every address in
// them must be one of the logged-in account's (RFC 6409 8.1).
var senderFields = []string{"From", "Sender", "Resent-From", "Resent-Sender"}

// senderProblem is why a header section fails the sender check.
type senderProblem int

const (
	senderOK            senderProblem = iota
	senderHeaderTooLong               // over maxHeaderBytes
	senderMalformed                   // not an RFC 5322 header section
	senderNoFrom                      // RFC 5322 3.6: exactly one From
	senderManyFrom
	senderManySender // RFC 5322 3.6: at most one Sender
	senderBadList    // a field that is not an address list
	senderNoAddress  // a field naming no address (an empty group)
	senderNotOwned   // an address that is not the account's
)

// senderError is a failed sender check: the problem and the field it is
// in. reply.go turns it into the wire reply.
type senderError struct {
	problem senderProblem
	field   string // canonical field name; "" for the whole section
	addr    string // senderNotOwned: the address, for the log only
}

func (e *senderError) Error() string {
	s := "sender check: " + e.problem.String()
	if e.field != "" {
		s += " in " + e.field
	}
	if e.addr != "" {
		s += ": " + e.addr
	}
	return s
}

func (p senderProblem) String() string {
	return [...]string{"ok", "header section too long", "malformed header section", "no From field",
		"more than one From field", "more than one Sender field", "not an address list",
		"no address", "address not owned"}[p]
}

// checkSenders reads the header section of the message being submitted,
// checks its sender fields (checkHeaderSenders) against the logged-in
// account, and returns a reader giving the whole message again, with a
// Date and a Message-ID ahead of it if it had none (missingFields).
func (s *session) checkSenders(r io.Reader, txnID string) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	hdr, err := readHeader(br, maxHeaderBytes)
	if errors.Is(err, errHeaderTooLong) {
		err = &senderError{problem: senderHeaderTooLong}
	}
	var header textproto.Header
	if err == nil {
		acct := *s.auth
		header, err = checkHeaderSenders(hdr, func(a string) bool { return s.srv.opts.Deliverer.Owns(s.srv.ctx, acct, a) })
	}
	var se *senderError
	if errors.As(err, &se) {
		s.log.Info("sender fields refused", "problem", se.problem.String(), "field", se.field, "addr", se.addr) // then "smtp rejected" (Data)
		return nil, err
	}
	if err != nil {
		return nil, err // from the client side: too large, timeout...
	}
	added := missingFields(header, txnID+"@"+s.srv.opts.Hostname, time.Now())
	if len(added) > 0 {
		s.log.Debug("header fields added", "fields", strings.TrimSpace(string(added)))
	}
	return io.MultiReader(bytes.NewReader(added), bytes.NewReader(hdr), br), nil
}

// missingFields is what the submission server adds to a message that
// lacks it (RFC 6409 8.2, 8.3, as Postfix and mox do): a Date field and a
// Message-ID. RFC 5322 3.6 requires the Date and asks for the
// Message-ID, and large receivers refuse mail without one, so a script
// that submits a bare message would otherwise see it bounce. It is pure.
func missingFields(header textproto.Header, msgID string, now time.Time) []byte {
	var b []byte
	if !header.Has("Date") {
		b = append(b, "Date: "+now.Format(time.RFC1123Z)+"\r\n"...)
	}
	if !header.Has("Message-Id") {
		b = append(b, "Message-ID: <"+msgID+">\r\n"...)
	}
	return b
}

var errHeaderTooLong = errors.New("header section too long")

// readHeader reads up to and including the empty line that ends the
// header section (or to the end of a message without a body). Only a
// line that is empty from its start is the end: a long line read in
// pieces never is, whatever its last piece looks like.
func readHeader(br *bufio.Reader, max int) ([]byte, error) {
	var hdr []byte
	lineStart := true
	for {
		piece, err := br.ReadSlice('\n')
		hdr = append(hdr, piece...)
		if len(hdr) > max {
			return nil, errHeaderTooLong
		}
		switch {
		case err == bufio.ErrBufferFull:
			lineStart = false
			continue
		case err == io.EOF:
			return hdr, nil
		case err != nil:
			return nil, err
		}
		if lineStart && (string(piece) == "\r\n" || string(piece) == "\n") {
			return hdr, nil
		}
		lineStart = true
	}
}

// headerOf is the header section of a whole message: up to and
// including the empty line, or all of it when there is none.
func headerOf(msg []byte) []byte {
	for i := 0; i < len(msg); {
		j := bytes.IndexByte(msg[i:], '\n')
		if j < 0 {
			break
		}
		line := msg[i : i+j+1]
		i += j + 1
		if string(line) == "\r\n" || string(line) == "\n" {
			return msg[:i]
		}
	}
	return msg
}

// parseHeaderSection parses a header section as readHeader returns it
// (which lacks the empty line when the message has no body).
func parseHeaderSection(hdr []byte) (textproto.Header, error) {
	h := hdr
	if !bytes.HasSuffix(h, []byte("\n\n")) && !bytes.HasSuffix(h, []byte("\r\n\r\n")) {
		h = append(append([]byte(nil), h...), "\r\n\r\n"...)
	}
	return textproto.ReadHeader(bufio.NewReader(bytes.NewReader(h)))
}

// checkHeaderSenders checks a header section (as readHeader returns it)
// with a real RFC 5322 parser, so that obsolete syntax (4.5: space before
// the colon, folding, comments, encoded words in display names, groups)
// is read the way a mail reader reads it: exactly one From field, at most
// one Sender, any number of Resent-From and Resent-Sender; each an
// address list naming at least one address, every one of which owns
// accepts. Display names are free. It is pure; problems are
// *senderError. The parsed header comes back for what follows the check
// (missingFields), so that the section is parsed once.
func checkHeaderSenders(hdr []byte, owns func(addr string) bool) (textproto.Header, error) {
	header, err := parseHeaderSection(hdr)
	if err != nil {
		return header, &senderError{problem: senderMalformed}
	}
	switch n := len(header.Values("From")); {
	case n == 0:
		return header, &senderError{problem: senderNoFrom, field: "From"}
	case n > 1:
		return header, &senderError{problem: senderManyFrom, field: "From"}
	}
	if len(header.Values("Sender")) > 1 {
		return header, &senderError{problem: senderManySender, field: "Sender"}
	}
	// An unknown charset in an encoded word must not hide the address:
	// display names are decoded leniently, and not looked at.
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{
		CharsetReader: func(_ string, in io.Reader) (io.Reader, error) { return in, nil },
	}}
	for _, field := range senderFields {
		for _, v := range header.Values(field) {
			if strings.TrimSpace(v) == "" {
				return header, &senderError{problem: senderNoAddress, field: field}
			}
			list, err := p.ParseList(v)
			if err != nil {
				return header, &senderError{problem: senderBadList, field: field}
			}
			if len(list) == 0 {
				return header, &senderError{problem: senderNoAddress, field: field}
			}
			for _, a := range list {
				spec := addrSpec(a.Address)
				if !owns(spec) {
					return header, &senderError{problem: senderNotOwned, field: field, addr: spec}
				}
			}
		}
	}
	return header, nil
}

// addrSpec writes an address net/mail has parsed back as an addr-spec:
// net/mail returns a quoted local part unquoted ("a@b"@c gives a@b@c),
// which must not be read again as another address.
func addrSpec(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr
	}
	local, domain := addr[:at], addr[at+1:]
	if dotAtom(local) {
		return addr
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(local); i++ {
		if c := local[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(local[i])
	}
	b.WriteString(`"@`)
	b.WriteString(domain)
	return b.String()
}

// dotAtom reports whether s is an RFC 5322 3.2.3 dot-atom-text (UTF-8
// allowed, RFC 6532 3.2).
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80, c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
