package smtp

// The DATA reader against its specification (immp): the data is a
// sequence of lines, each ended by CRLF (RFC 5321 2.3.8); a line that is
// exactly "." ends the data (4.1.1.4), any other line that starts with
// "." loses that dot (4.5.2). A bare CR or a bare LF is an ordinary
// octet of the line it is in, wherever it is, so the end of the data is
// only CRLF "." CRLF (or "." CRLF as the very first line).

import (
	"bufio"
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// specData is that specification written as a split into CRLF lines: what
// the reader must return, its final error and the input left after it.
func specData(in []byte) (out []byte, err error, rest []byte) {
	for {
		i := bytes.Index(in, []byte("\r\n"))
		if i < 0 { // no complete line: the client went away
			if len(in) > 0 && in[0] == '.' {
				// A "." or ".\r" that may have been the start of the
				// end line is held back; the message is lost anyway.
				if in = in[1:]; string(in) == "\r" {
					in = nil
				}
			}
			return append(out, in...), io.ErrUnexpectedEOF, nil
		}
		line := in[:i+2]
		in = in[i+2:]
		if string(line) == ".\r\n" {
			return out, io.EOF, in
		}
		if line[0] == '.' {
			line = line[1:]
		}
		out = append(out, line...)
	}
}

// bareCRCases are the bare CR inputs seen to break the reader before the
// fix, with what must come out of them; open: the input has no end of
// data.
var bareCRCases = []struct {
	in, out, rest string
	open          bool
}{
	{"a\r\r\n.\r\nQUIT\r\n", "a\r\r\n", "QUIT\r\n", false},
	{"\r\r\n.\r\nQUIT\r\n", "\r\r\n", "QUIT\r\n", false},
	{"a\r\n\r\r\n.\r\nNOOP\r\n", "a\r\n\r\r\n", "NOOP\r\n", false},
	{".\r\r\n.\r\nQUIT\r\n", "\r\r\n", "QUIT\r\n", false}, // a stuffed line that is a bare CR
	{"x\r\n.\r\r\n.\r\nQUIT\r\n", "x\r\n\r\r\n", "QUIT\r\n", false},
	{".\rX\r\n.\r\n", "\rX\r\n", "", false},                 // the CR after a stuffed dot was lost
	{"a\r\r\r\n..b\r\n.\r\n", "a\r\r\r\n.b\r\n", "", false}, // unstuffing after CR CR CRLF
	{"a\r.\r\n.\r\n", "a\r.\r\n", "", false},                // "\r." is no line start
	{"a\n.\n.\r\n.\r\n", "a\n.\n.\r\n", "", false},          // nor is a bare LF
	{"a\r\n.\r\r\n", "a\r\n\r\r\n", "", true},               // ".\r\r\n" is not the end line: no end yet
}

func TestDataReaderBareCR(t *testing.T) {
	for _, tc := range bareCRCases {
		out, err, rest := specData([]byte(tc.in))
		wantErr := io.EOF
		if tc.open {
			wantErr = io.ErrUnexpectedEOF
		}
		if string(out) != tc.out || err != wantErr || string(rest) != tc.rest {
			t.Fatalf("spec %q: %q %v rest %q; the table says %q rest %q", tc.in, out, err, rest, tc.out, tc.rest)
		}
		for size := 16; size < 20; size++ {
			for _, wrap := range []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return r }, iotest.OneByteReader,
			} {
				br := bufio.NewReaderSize(wrap(bytes.NewReader([]byte(tc.in))), size)
				got, gotErr := io.ReadAll(&dataReader{r: br})
				if gotErr == nil {
					gotErr = io.EOF
				}
				left, _ := io.ReadAll(br)
				if string(got) != tc.out || gotErr != wantErr || string(left) != tc.rest {
					t.Errorf("%q: got %q %v, rest %q; want %q %v, rest %q",
						tc.in, got, gotErr, left, tc.out, wantErr, tc.rest)
				}
			}
		}
	}
}

// checkSpec reads in whole with dr and compares with specData.
func checkSpec(t *testing.T, in []byte, dr *dataReader, br *bufio.Reader) {
	t.Helper()
	got, err := io.ReadAll(dr)
	if err == nil {
		err = io.EOF
	}
	left, _ := io.ReadAll(br)
	want, wantErr, wantRest := specData(in)
	if !bytes.Equal(got, want) || err != wantErr || !bytes.Equal(left, wantRest) {
		t.Fatalf("%q: got %q %v rest %q; spec %q %v rest %q", in, got, err, left, want, wantErr, wantRest)
	}
}
