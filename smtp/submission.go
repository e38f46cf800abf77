package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"net/mail"
	"strings"
)

// maxHeaderBytes bounds the header section read ahead of delivery on
// submission to find From; a header section longer than this is refused.
const maxHeaderBytes = 1 << 20

var errHeaderTooLong = errors.New("header section too long")

// checkFrom reads the header section, checks that every From address
// belongs to the logged-in account (RFC 6409 8.1), and returns a reader
// giving the whole message again.
func (s *session) checkFrom(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	hdr, err := readHeader(br, maxHeaderBytes)
	if err != nil {
		if errors.Is(err, errHeaderTooLong) {
			return nil, errFromNotOwned
		}
		return nil, err // from the client side: too large, timeout...
	}
	from, err := fromAddresses(hdr)
	if err != nil || len(from) == 0 {
		s.log.Info("From refused", "err", err)
		return nil, errFromNotOwned
	}
	for _, a := range from {
		if !s.srv.opts.Deliverer.Owns(*s.auth, a) {
			s.log.Info("From refused", "from", a)
			return nil, errFromNotOwned
		}
	}
	return io.MultiReader(bytes.NewReader(hdr), br), nil
}

// readHeader reads up to and including the empty line that ends the
// header section (or to the end of a message without a body).
func readHeader(br *bufio.Reader, max int) ([]byte, error) {
	var hdr []byte
	for {
		line, err := br.ReadSlice('\n')
		hdr = append(hdr, line...)
		if len(hdr) > max {
			return nil, errHeaderTooLong
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			return hdr, nil
		case err != nil:
			return nil, err
		}
		if len(line) <= 2 && strings.TrimRight(string(line), "\r\n") == "" {
			return hdr, nil
		}
	}
}

// fromAddresses returns the addresses of the one From field of a header
// section (RFC 5322 3.6.2). Display names are not decoded strictly: an
// unknown charset in an encoded word must not hide the address.
func fromAddresses(hdr []byte) ([]string, error) {
	h := hdr
	if !bytes.HasSuffix(h, []byte("\n\n")) && !bytes.HasSuffix(h, []byte("\r\n\r\n")) {
		h = append(append([]byte(nil), h...), "\r\n\r\n"...)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(h))
	if err != nil {
		return nil, err
	}
	fields := msg.Header["From"]
	if len(fields) != 1 {
		return nil, errors.New("want exactly one From field")
	}
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{
		CharsetReader: func(_ string, in io.Reader) (io.Reader, error) { return in, nil },
	}}
	list, err := p.ParseList(fields[0])
	if err != nil {
		return nil, err
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Address
	}
	return out, nil
}
