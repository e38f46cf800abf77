package smtp

// Differential tests for the immp fast paths in dataReader.Read and
// lineLimitReader.Read: each must give exactly what the original
// octet-at-a-time code gave (the same octets, the same errors, the same
// point where it stops), however the input is split; and both must match
// the specification in barecr_test.go.

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// refDataRead is the original dataReader.Read state machine, octet by
// octet, with the bare CR fix of data.go.
func refDataRead(r *bufio.Reader, state *int, b []byte) (n int, err error) {
	const (
		stateBeginLine = iota
		stateDot
		stateDotCR
		stateCR
		stateData
		stateEOF
	)
	for n < len(b) && *state != stateEOF {
		var c byte
		c, err = r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			break
		}
		switch *state {
		case stateBeginLine:
			if c == '.' {
				*state = stateDot
				continue
			}
			if c == '\r' {
				*state = stateCR
				break
			}
			*state = stateData
		case stateDot:
			if c == '\r' {
				*state = stateDotCR
				continue
			}
			*state = stateData
		case stateDotCR:
			if c == '\n' {
				*state = stateEOF
				continue
			}
			r.UnreadByte() // the bare CR fix (data.go)
			c = '\r'
			*state = stateCR
		case stateCR:
			if c == '\n' {
				*state = stateBeginLine
				break
			}
			if c != '\r' {
				*state = stateData
			}
		case stateData:
			if c == '\r' {
				*state = stateCR
			}
		}
		b[n] = c
		n++
	}
	if err == nil && *state == stateEOF {
		err = io.EOF
	}
	return
}

// readAllChunks reads with reads of random sizes; it returns what was
// read, the final error, and what remained in the buffer (the next
// command's octets).
func readAllChunks(rng *rand.Rand, read func([]byte) (int, error), rest *bufio.Reader) ([]byte, error, []byte) {
	var out []byte
	for {
		b := make([]byte, 1+rng.IntN(70))
		n, err := read(b)
		out = append(out, b[:n]...)
		if err != nil {
			after, _ := io.ReadAll(rest)
			return out, err, after
		}
	}
}

func dataInputs(rng *rand.Rand) [][]byte {
	ins := [][]byte{
		[]byte("a\r\n.\r\n"), []byte(".\r\n"), []byte("..x\r\n.\r\nMAIL"),
		[]byte("a\rb\r\n.\rx\r\n.\r\n"), []byte("no end"), []byte("\r\n\r\n.\r\n"),
		[]byte("a\n.\r\n.\r\n"), []byte(".\r.\r\n.\r\nQUIT\r\n"),
	}
	for _, tc := range bareCRCases {
		ins = append(ins, []byte(tc.in))
	}
	for range 500 {
		b := make([]byte, rng.IntN(400))
		for i := range b {
			b[i] = "ab.\r\n"[rng.IntN(5)]
		}
		ins = append(ins, b)
	}
	return ins
}

func TestDataReaderFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, in := range dataInputs(rng) {
		for _, wrap := range []func(io.Reader) io.Reader{
			func(r io.Reader) io.Reader { return r },
			iotest.OneByteReader, iotest.HalfReader,
		} {
			seed := rng.Uint64()
			size := 16 + rng.IntN(64)

			br := bufio.NewReaderSize(wrap(bytes.NewReader(in)), size)
			dr := &dataReader{r: br}
			got, gotErr, gotRest := readAllChunks(rand.New(rand.NewPCG(seed, 0)), dr.Read, br)

			rb := bufio.NewReaderSize(wrap(bytes.NewReader(in)), size)
			state := 0
			want, wantErr, wantRest := readAllChunks(rand.New(rand.NewPCG(seed, 0)),
				func(b []byte) (int, error) { return refDataRead(rb, &state, b) }, rb)

			if !bytes.Equal(got, want) || gotErr != wantErr || !bytes.Equal(gotRest, wantRest) {
				t.Fatalf("%q: got %q, %v, rest %q; want %q, %v, rest %q",
					in, got, gotErr, gotRest, want, wantErr, wantRest)
			}
			sb := bufio.NewReaderSize(wrap(bytes.NewReader(in)), size)
			checkSpec(t, in, &dataReader{r: sb}, sb)
		}
	}
}

// The limit counts the octets returned, and a reader that has returned
// all it may fails on its next Read, even if only the end line is left
// (as before the fast path).
func TestDataReaderFastPathLimited(t *testing.T) {
	in := []byte("0123456789abcdef\r\n.\r\n")
	for limit := 1; limit < len(in)+2; limit++ {
		br := bufio.NewReaderSize(bytes.NewReader(in), 16)
		dr := &dataReader{r: br, limited: true, n: int64(limit)}
		got, err := io.ReadAll(dr)
		switch {
		case limit <= 18 && err != ErrDataTooLarge:
			t.Errorf("limit %d: err %v, want ErrDataTooLarge", limit, err)
		case limit > 18 && (err != nil || string(got) != "0123456789abcdef\r\n"):
			t.Errorf("limit %d: %q, %v", limit, got, err)
		}
	}
}

// refLineLimit is the original lineLimitReader loop.
type refLineLimit struct {
	R         io.Reader
	LineLimit int
	cur       int
}

func (r *refLineLimit) Read(b []byte) (int, error) {
	if r.cur > r.LineLimit && r.LineLimit > 0 {
		return 0, ErrTooLongLine
	}
	n, err := r.R.Read(b)
	if err != nil {
		return n, err
	}
	if r.LineLimit == 0 {
		return n, nil
	}
	for _, chr := range b[:n] {
		if chr == '\n' {
			r.cur = 0
		}
		r.cur++
		if r.cur > r.LineLimit {
			return 0, ErrTooLongLine
		}
	}
	return n, nil
}

func TestLineLimitReaderFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		in := make([]byte, rng.IntN(200))
		for i := range in {
			in[i] = "ab\n"[rng.IntN(3)]
		}
		limit := rng.IntN(12)
		seed := rng.Uint64()
		run := func(r io.Reader) ([]byte, []error) {
			cr := rand.New(rand.NewPCG(seed, 1))
			var out []byte
			var errs []error
			for range 400 {
				b := make([]byte, 1+cr.IntN(30))
				n, err := r.Read(b)
				out = append(out, b[:n]...)
				errs = append(errs, err)
				if err != nil && !errors.Is(err, ErrTooLongLine) {
					break
				}
			}
			return out, errs
		}
		got, gotErrs := run(&lineLimitReader{R: iotest.HalfReader(bytes.NewReader(in)), LineLimit: limit})
		want, wantErrs := run(&refLineLimit{R: iotest.HalfReader(bytes.NewReader(in)), LineLimit: limit})
		if !bytes.Equal(got, want) || len(gotErrs) != len(wantErrs) {
			t.Fatalf("%q limit %d: got %q (%d reads), want %q (%d reads)", in, limit, got, len(gotErrs), want, len(wantErrs))
		}
		for i := range gotErrs {
			if gotErrs[i] != wantErrs[i] {
				t.Fatalf("%q limit %d: read %d: %v, want %v", in, limit, i, gotErrs[i], wantErrs[i])
			}
		}
	}
}

func FuzzDataReader(f *testing.F) {
	f.Add([]byte("a\r\n..b\r\n.\r\nNEXT"), uint8(16), uint8(7))
	for _, tc := range bareCRCases {
		f.Add([]byte(tc.in), uint8(0), uint8(0))
		f.Add([]byte(tc.in), uint8(3), uint8(2))
	}
	f.Fuzz(func(t *testing.T, in []byte, bufSize, readSize uint8) {
		size := 16 + int(bufSize)
		rs := 1 + int(readSize)
		sb := bufio.NewReaderSize(iotest.HalfReader(bytes.NewReader(in)), size)
		checkSpec(t, in, &dataReader{r: sb}, sb)
		br := bufio.NewReaderSize(iotest.HalfReader(bytes.NewReader(in)), size)
		dr := &dataReader{r: br}
		rb := bufio.NewReaderSize(iotest.HalfReader(bytes.NewReader(in)), size)
		state := 0
		for {
			b1, b2 := make([]byte, rs), make([]byte, rs)
			n1, e1 := dr.Read(b1)
			n2, e2 := refDataRead(rb, &state, b2)
			if n1 != n2 || e1 != e2 || !bytes.Equal(b1[:n1], b2[:n2]) {
				t.Fatalf("%q: read %d %q %v, want %d %q %v", in, n1, b1[:n1], e1, n2, b2[:n2], e2)
			}
			if e1 != nil {
				break
			}
		}
		r1, _ := io.ReadAll(br)
		r2, _ := io.ReadAll(rb)
		if !bytes.Equal(r1, r2) {
			t.Fatalf("%q: left %q, want %q", in, r1, r2)
		}
	})
}
