package migrate

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// msgKey identifies a message for the duplicate check: the SHA-256 of its
// header block, its size and its INTERNALDATE (to the second), all with
// CRLF line ends as the store keeps them, so a message read from a
// source with LF line ends and the same message read back from the store
// give the same key.
type msgKey struct {
	hdr  [32]byte
	size int64 // octets with CRLF line ends
	date int64 // Unix seconds
}

func (k msgKey) String() string {
	return fmt.Sprintf("%s/%d/%d", hex.EncodeToString(k.hdr[:8]), k.size, k.date)
}

// keyOf reads r whole and returns its key (date given by the caller).
func keyOf(r io.Reader, date time.Time) (msgKey, []byte, error) {
	br := bufio.NewReaderSize(r, 32*1024)
	h := sha256.New()
	var (
		size   int64
		prev   byte
		inHdr  = true
		lineN  int // octets of the current line (CRLF form)
		hdrBuf []byte
	)
	put := func(b byte) {
		size++
		if inHdr {
			h.Write([]byte{b})
			if len(hdrBuf) < 64*1024 {
				hdrBuf = append(hdrBuf, b)
			}
		}
	}
	for {
		b, err := br.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return msgKey{}, nil, err
		}
		if b == '\n' && prev != '\r' {
			put('\r')
			lineN++
		}
		put(b)
		lineN++
		if b == '\n' {
			if lineN == 2 { // an empty line ends the header
				inHdr = false
			}
			lineN = 0
		}
		prev = b
	}
	var k msgKey
	copy(k.hdr[:], h.Sum(nil))
	k.size = size
	k.date = date.Unix()
	return k, hdrBuf, nil
}
