package wire

import (
	"bufio"
	"errors"
	"io"
)

// Default limits (profile 1).
const (
	DefaultMaxLine    = 8 << 10
	DefaultMaxLiteral = 64 << 10
	DefaultMaxSkip    = 100 << 20
)

// Limits bound what a Reader accepts; zero fields take the defaults.
type Limits struct {
	MaxLine    int   // octets of command text per command, literal data excluded
	MaxLiteral int64 // octets of literal data per command
	MaxSkip    int64 // most octets discarded for one over-limit command before giving up
}

func (l Limits) withDefaults() Limits {
	if l.MaxLine <= 0 {
		l.MaxLine = DefaultMaxLine
	}
	if l.MaxLiteral <= 0 {
		l.MaxLiteral = DefaultMaxLiteral
	}
	if l.MaxSkip <= 0 {
		l.MaxSkip = DefaultMaxSkip
	}
	return l
}

// LimitError says a command went over a limit and was refused without
// being kept; the rest of it has been discarded (or, for a synchronizing
// literal, will not be sent), so the connection can go on. Answer BAD.
type LimitError struct {
	Tag      string // the command's tag when it could be read, else ""
	Untagged bool   // the command looked like an untagged VERIFY command
	Literal  bool   // a literal was too large (else the command line was)
}

func (e *LimitError) Error() string {
	if e.Literal {
		return "literal too large"
	}
	return "command line too long"
}

// ErrTooLarge means a client announced or sent more than Limits.MaxSkip
// octets of over-limit data: it is not worth reading; send BYE and close.
var ErrTooLarge = errors.New("wire: over-limit data too large to discard")

// Reader reads client commands (see the package doc for framing).
type Reader struct {
	br  *bufio.Reader
	lim Limits
	buf []byte
}

// NewReader returns a Reader over r.
func NewReader(r io.Reader, lim Limits) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 4096), lim: lim.withDefaults()}
}

// Buffered is the number of octets already read from the connection but
// not yet consumed: a server flushes its replies when this is zero, and
// refuses STARTTLS when it is not (plaintext injection, RFC 9051 11.1).
func (r *Reader) Buffered() int { return r.br.Buffered() }

// ReadCommand reads one command (blank lines are skipped) and returns its
// octets: the lines without their final line end, each literal preceded by
// its announcement and CRLF, ready for ParseCommand. The slice is valid
// until the next call. cont is called before a synchronizing literal is
// read and must send "+ Ready for literal data" (flushed).
//
// Errors: *LimitError (answer BAD, go on), ErrTooLarge (BYE, close), or
// the connection's read error.
func (r *Reader) ReadCommand(cont func() error) ([]byte, error) {
	r.buf = r.buf[:0]
	var litTotal int64
	textLen := 0
	skip := r.lim.MaxSkip
	for {
		start := len(r.buf)
		st, over, err := r.readLine(r.lim.MaxLine-textLen, &skip)
		if err != nil {
			return nil, err
		}
		textLen += len(r.buf) - start
		if over {
			le := r.limitError(false)
			if err := r.discardCommand(st, &skip); err != nil {
				return nil, err
			}
			return nil, le
		}
		if start == 0 && len(r.buf) == 0 {
			continue // blank line between commands
		}
		n, plus, ok := st.literal()
		if !ok {
			return r.buf, nil
		}
		if n > uint64(r.lim.MaxLiteral-litTotal) {
			le := r.limitError(true)
			if !plus {
				// No "+": the client gives up the command (RFC 9051 7.5).
				return nil, le
			}
			if err := r.discardCommand(st, &skip); err != nil {
				return nil, err
			}
			return nil, le
		}
		if !plus && cont != nil {
			if err := cont(); err != nil {
				return nil, err
			}
		}
		r.buf = append(r.buf, '\r', '\n')
		m := int(n)
		if cap(r.buf)-len(r.buf) < m {
			nb := make([]byte, len(r.buf), len(r.buf)+m+256)
			copy(nb, r.buf)
			r.buf = nb
		}
		if _, err := io.ReadFull(r.br, r.buf[len(r.buf):len(r.buf)+m]); err != nil {
			return nil, noEOF(err)
		}
		r.buf = r.buf[:len(r.buf)+m]
		litTotal += int64(n)
	}
}

// ReadLine reads one line that is not a command, such as an AUTHENTICATE
// response (RFC 9051 6.2.2), without its line end and without literal
// processing. Over MaxLine it returns a *LimitError after discarding the
// rest of the line.
func (r *Reader) ReadLine() ([]byte, error) {
	r.buf = r.buf[:0]
	skip := r.lim.MaxSkip
	_, over, err := r.readLine(r.lim.MaxLine, &skip)
	if err != nil {
		return nil, err
	}
	if over {
		return nil, &LimitError{}
	}
	return r.buf, nil
}

// readLine appends one line (without its line end) to r.buf, keeping at
// most limit octets; past that it discards up to the line end, charged to
// *skip, and reports over.
func (r *Reader) readLine(limit int, skip *int64) (st lineState, over bool, err error) {
	start := len(r.buf)
	maxKeep := limit
	limit++ // room for the CR of the line end, checked at the end
	for {
		frag, err := r.br.ReadSlice('\n')
		complete := err == nil
		if err != nil && err != bufio.ErrBufferFull {
			if err == io.EOF && (len(frag) > 0 || len(r.buf) > 0) {
				err = io.ErrUnexpectedEOF
			}
			return st, over, err
		}
		body := frag
		if complete {
			body = frag[:len(frag)-1]
		}
		st.feed(body)
		if !over && len(body) > limit {
			over = true
			// Keep what fits: the tag is at the start.
			r.buf = append(r.buf, body[:max(limit, 0)]...)
			*skip -= int64(len(body) - max(limit, 0))
		} else if over {
			*skip -= int64(len(body))
		} else {
			r.buf = append(r.buf, body...)
			limit -= len(body)
		}
		if *skip < 0 {
			return st, over, ErrTooLarge
		}
		if complete {
			if !over && len(r.buf) > start && r.buf[len(r.buf)-1] == '\r' {
				r.buf = r.buf[:len(r.buf)-1]
			}
			if !over && len(r.buf)-start > maxKeep {
				over = true
				r.buf = r.buf[:start+max(maxKeep, 0)]
			}
			return st, over, nil
		}
	}
}

// discardCommand throws away the rest of a refused command whose last
// line had state st: the octets of each non-synchronizing literal and the
// line after it. A synchronizing literal ends it: without a "+" the client
// sends no more.
func (r *Reader) discardCommand(st lineState, skip *int64) error {
	for {
		n, plus, ok := st.literal()
		if !ok || !plus {
			return nil
		}
		if n > uint64(*skip) {
			return ErrTooLarge
		}
		*skip -= int64(n)
		if _, err := r.br.Discard(int(n)); err != nil {
			return noEOF(err)
		}
		mark := len(r.buf)
		var err error
		st, _, err = r.readLine(0, skip)
		r.buf = r.buf[:mark]
		if err != nil {
			return err
		}
	}
}

// limitError builds the error for the command whose first line is at the
// start of r.buf.
func (r *Reader) limitError(literal bool) *LimitError {
	tag, untagged := peekTag(r.buf)
	return &LimitError{Tag: tag, Untagged: untagged, Literal: literal}
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// lineState follows one line's quoting as it streams by, and whether it
// ends in a literal announcement "{n}" or "{n+}" outside a quoted string.
type lineState struct {
	inQuote, esc bool
	lit          uint8 // 0 none, 1 in "{digits", 2 after "+", 3 after "}", 4 after "}\r"
	digits       int
	plus         bool
	n            uint64 // saturates at the largest uint64
}

func (s *lineState) feed(b []byte) {
	for _, c := range b {
		if s.inQuote {
			switch {
			case s.esc:
				s.esc = false
			case c == '\\':
				s.esc = true
			case c == '"':
				s.inQuote = false
			}
			continue
		}
		switch {
		case c == '"':
			s.inQuote, s.lit = true, 0
		case c == '{':
			s.lit, s.digits, s.n, s.plus = 1, 0, 0, false
		case s.lit == 1 && c >= '0' && c <= '9':
			s.digits++
			d := uint64(c - '0')
			if s.n > (^uint64(0)-d)/10 {
				s.n = ^uint64(0)
			} else {
				s.n = s.n*10 + d
			}
		case s.lit == 1 && c == '+' && s.digits > 0:
			s.lit, s.plus = 2, true
		case (s.lit == 1 && s.digits > 0 || s.lit == 2) && c == '}':
			s.lit = 3
		case s.lit == 3 && c == '\r':
			s.lit = 4
		default:
			s.lit = 0
		}
	}
}

// literal reports the literal announced at the end of the line, if any.
func (s *lineState) literal() (n uint64, plus, ok bool) {
	if s.inQuote || (s.lit != 3 && s.lit != 4) {
		return 0, false, false
	}
	return s.n, s.plus, true
}
