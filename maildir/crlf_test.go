package maildir

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"testing"
)

// crlfReference is the obvious byte-at-a-time form of crlfWriter.
func crlfReference(in []byte) []byte {
	var out []byte
	prevCR := false
	for _, b := range in {
		if b == '\n' && !prevCR {
			out = append(out, '\r')
		}
		out = append(out, b)
		prevCR = b == '\r'
	}
	return out
}

// TestCRLFWriter checks that every bare LF becomes CRLF, nothing else
// changes, and the count is right, however the input is split into
// writes (a CR at the end of one write and its LF at the start of the
// next is not a bare LF).
func TestCRLFWriter(t *testing.T) {
	cases := []string{
		"", "\n", "\r\n", "\r", "\n\n", "\r\r\n", "\n\r", "a\nb\r\nc\rd\n",
		"Subject: x\n\nbody\n", "line\r\n.\r\n", "\r\n\r\n\n\r\r",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b := make([]byte, rng.IntN(300))
		for i := range b {
			b[i] = "ab\r\n"[rng.IntN(4)]
		}
		cases = append(cases, string(b))
	}
	for _, in := range cases {
		want := crlfReference([]byte(in))
		for split := range 4 {
			var buf bytes.Buffer
			bw := bufio.NewWriterSize(&buf, 16)
			cw := &crlfWriter{w: bw}
			rest := []byte(in)
			for len(rest) > 0 {
				n := len(rest)
				if split > 0 {
					n = min(n, 1+rng.IntN(split*3))
				}
				if got, err := cw.Write(rest[:n]); err != nil || got != n {
					t.Fatalf("Write(%q) = %d, %v", rest[:n], got, err)
				}
				rest = rest[n:]
			}
			bw.Flush()
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("split %d: %q became %q, want %q", split, in, buf.Bytes(), want)
			}
			if cw.n != int64(len(want)) {
				t.Fatalf("split %d: %q: counted %d, wrote %d", split, in, cw.n, len(want))
			}
		}
	}
}
