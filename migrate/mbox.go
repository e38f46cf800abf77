package migrate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/immp-mail/immp/maildir"
)

// Mbox variants (RFC 4155 and the escaping conventions it describes).
type MboxVariant int

const (
	// MboxRD: a body line matching ^>*From  was written with one more
	// '>'; reading removes one from every such line.
	MboxRD MboxVariant = iota
	// MboxO: only ^From  was escaped (to ">From "); reading turns
	// ">From " back and leaves ">>From " alone.
	MboxO
)

// MaxMessageSize bounds one message read from an mbox (hostile input
// costs bounded memory); a larger one is reported and skipped.
const MaxMessageSize = 64 << 20

// MboxMessage is one message of an mbox.
type MboxMessage struct {
	N    int       // 1-based position in the file
	Line int       // line of its "From " separator
	Date time.Time // from the separator line; zero if it had none
	Body []byte    // unescaped, line ends as in the file (ReadMbox only)
	// Start and End delimit the message's raw lines in the input (after
	// its separator line, before the format's empty line): what
	// OpenMboxMessage unescapes.
	Start, End int64
	Size       int64 // octets of the unescaped message
	Err        error // set for a part that could not be read as a message
}

// ErrNotMbox: the input has no "From " separator line at all.
var ErrNotMbox = errors.New("not an mbox file: no line starts with \"From \"")

// ReadMbox calls fn for every message of r in order, with its Body. A
// separator is a line beginning "From " that starts the file, follows an
// empty line, or carries an asctime date as RFC 4155 writes it; the empty
// line before a separator belongs to the format, not to the message. Text
// before the first separator and messages over MaxMessageSize are passed
// with Err set. fn returning an error stops the reading.
func ReadMbox(r io.Reader, v MboxVariant, fn func(MboxMessage) error) error {
	return scanMbox(r, v, true, fn)
}

// ScanMbox is ReadMbox without the bodies: each message's Start and End
// let OpenMboxMessage read it again, so memory stays bounded whatever
// the file's size.
func ScanMbox(r io.Reader, v MboxVariant, fn func(MboxMessage) error) error {
	return scanMbox(r, v, false, fn)
}

func scanMbox(r io.Reader, v MboxVariant, keep bool, fn func(MboxMessage) error) error {
	br := bufio.NewReaderSize(r, 64*1024)
	var (
		cur     *MboxMessage
		buf     bytes.Buffer
		tail    []byte // the message's last octets (up to 4), unescaped
		lastLen int64  // raw octets of the message's last line
		lines   int    // lines in the current message
		prelude int64  // octets before the first separator
		pos     int64  // octets consumed
		lineNo  int
		prevNL  = true // previous line was empty (or start of file)
		seen    bool
	)
	flush := func() error {
		if cur == nil {
			return nil
		}
		m := *cur
		m.End = pos
		// The format's empty line before the next separator: a last line
		// that is empty, after another line.
		if lines >= 2 && (bytes.HasSuffix(tail, []byte("\r\n\r\n")) || bytes.HasSuffix(tail, []byte("\n\n"))) {
			m.End -= lastLen
			m.Size -= lastLen
		}
		switch {
		case m.Size > MaxMessageSize:
			m.Err = fmt.Errorf("message %d (line %d) is larger than %d octets: skipped", m.N, m.Line, MaxMessageSize)
		case keep:
			m.Body = bytes.Clone(buf.Bytes()[:m.Size])
		}
		buf.Reset()
		return fn(m)
	}
	n := 0
	for {
		line, err := br.ReadSlice('\n')
		raw := int64(len(line))
		if errors.Is(err, bufio.ErrBufferFull) {
			// A very long line: gather it (what is kept is bounded).
			long := bytes.Clone(line)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				raw += int64(len(line))
				if len(long) <= 1024 || (keep && len(long) <= MaxMessageSize) {
					long = append(long, line...)
				}
			}
			line = long
		}
		if raw == 0 && err != nil {
			break
		}
		lineNo++
		bare := bytes.TrimRight(line, "\r\n")
		if bytes.HasPrefix(bare, []byte("From ")) && (prevNL || lineNo == 1 || fromLineDate(bare) != (time.Time{})) {
			if err := flush(); err != nil {
				return err
			}
			pos += raw
			n++
			seen = true
			cur = &MboxMessage{N: n, Line: lineNo, Date: fromLineDate(bare), Start: pos}
			prevNL, tail, lines = false, nil, 0
			continue
		}
		pos += raw
		prevNL = len(bare) == 0
		if cur == nil {
			prelude += raw
			continue
		}
		un := unescapeFrom(line, v)
		size := raw - int64(len(line)-len(un))
		cur.Size += size
		lastLen, lines = size, lines+1
		tail = append(tail, un[max(0, len(un)-4):]...)
		tail = tail[max(0, len(tail)-4):]
		if keep && cur.Size <= MaxMessageSize {
			buf.Write(un)
		}
		if err != nil {
			break
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if !seen {
		return ErrNotMbox
	}
	if prelude > 0 {
		return fn(MboxMessage{N: 0, Line: 1, Err: fmt.Errorf("%d octets before the first \"From \" line are not a message: skipped", prelude)})
	}
	return nil
}

// OpenMboxMessage reads message m (from ScanMbox) of the mbox in ra
// again, unescaped.
func OpenMboxMessage(ra io.ReaderAt, m MboxMessage, v MboxVariant) io.Reader {
	br := bufio.NewReader(io.NewSectionReader(ra, m.Start, m.End-m.Start))
	var pending []byte
	return readerFunc(func(p []byte) (int, error) {
		for len(pending) == 0 {
			line, err := br.ReadBytes('\n')
			if len(line) == 0 && err != nil {
				return 0, err
			}
			pending = unescapeFrom(line, v)
		}
		n := copy(p, pending)
		pending = pending[n:]
		return n, nil
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// unescapeFrom undoes the From-quoting of one body line.
func unescapeFrom(line []byte, v MboxVariant) []byte {
	if len(line) < 6 || line[0] != '>' {
		return line
	}
	i := 0
	for i < len(line) && line[i] == '>' {
		i++
	}
	if !bytes.HasPrefix(line[i:], []byte("From ")) {
		return line
	}
	if v == MboxO && i != 1 {
		return line
	}
	return line[1:]
}

// fromLineDate reads the date of "From addr Wed Dec  2 10:00:00 2026"
// (asctime, RFC 4155), also with a zone or a trailing field as some
// writers add; zero when there is none.
func fromLineDate(line []byte) time.Time {
	f := strings.Fields(string(line))
	if len(f) < 7 {
		return time.Time{}
	}
	rest := f[2:]
	for _, layout := range []string{"Mon Jan 2 15:04:05 2006", "Mon Jan 2 15:04:05 MST 2006", "Mon Jan 2 15:04:05 -0700 2006"} {
		n := len(strings.Fields(layout))
		if len(rest) < n {
			continue
		}
		if t, err := time.Parse(layout, strings.Join(rest[:n], " ")); err == nil {
			return t
		}
	}
	return time.Time{}
}

// mboxFlags reads the flags mbox writers keep in headers: Status (R
// seen), X-Status (A answered, F flagged, T draft, D deleted) and
// X-Keywords (Dovecot's keywords, separated by spaces or commas).
func mboxFlags(hdr []byte) []string {
	var out []string
	add := func(f string) {
		for _, x := range out {
			if x == f {
				return
			}
		}
		out = append(out, f)
	}
	for _, line := range headerFields(hdr) {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "status":
			if strings.ContainsRune(val, 'R') {
				add(`\Seen`)
			}
		case "x-status":
			for _, c := range val {
				switch c {
				case 'A':
					add(`\Answered`)
				case 'F':
					add(`\Flagged`)
				case 'T':
					add(`\Draft`)
				case 'D':
					add(`\Deleted`)
				}
			}
		case "x-keywords":
			for _, k := range strings.FieldsFunc(val, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
				if validKeyword(k) {
					add(k)
				}
			}
		}
	}
	return out
}

// headerFields returns the unfolded header fields of a header block.
func headerFields(hdr []byte) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(string(hdr), "\r\n", "\n"), "\n") {
		if l == "" {
			continue
		}
		if (l[0] == ' ' || l[0] == '\t') && len(out) > 0 {
			out[len(out)-1] += " " + strings.TrimSpace(l)
			continue
		}
		out = append(out, l)
	}
	return out
}

// validKeyword: a keyword the store takes (maildir.ValidKeyword) that is
// not a system flag's name.
func validKeyword(k string) bool { return maildir.ValidKeyword(k) && k[0] != '\\' }
