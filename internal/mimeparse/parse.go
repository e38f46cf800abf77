package mimeparse

import "bytes"

// Limits bound what one message may cost. The zero value of a field means
// its default.
type Limits struct {
	// MaxDepth bounds the nesting of multiparts and message/rfc822
	// parts (the message itself is depth 0); a container deeper than
	// this is reported as an application/octet-stream leaf.
	MaxDepth int
	// MaxParts bounds the parts of one message, all levels counted;
	// once reached, no further boundary is recognized and the rest of
	// the message belongs to the part being read.
	MaxParts int
}

// Defaults: Dovecot's MESSAGE_PARSER_DEFAULT_MAX_NESTED_MIME_PARTS and
// MESSAGE_PARSER_DEFAULT_MAX_TOTAL_MIME_PARTS, and a cap on the addresses
// of one field.
const (
	DefaultMaxDepth     = 100
	DefaultMaxParts     = 10000
	DefaultMaxAddresses = 10000
	// MaxBoundary is the longest boundary used; longer ones are cut and
	// matched as a prefix (RFC 2046 5.1.1 allows 70; Dovecot keeps 80).
	MaxBoundary = 80
)

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultMaxParts
	}
	return l
}

// Kind is what a part contains.
type Kind uint8

const (
	// Leaf is a part with a body and no parts (text, image, ...).
	Leaf Kind = iota
	// Multipart has Parts, one per body part between boundaries
	// (possibly none, when the boundary is missing or never found).
	Multipart
	// Message is message/rfc822 (or message/global, or a part with no
	// Content-Type in multipart/digest): Parts holds exactly one part,
	// the encapsulated message, whose header starts at BodyStart.
	Message
)

// Part is one entity of a message: the message itself, a body part of a
// multipart, or a message encapsulated in a message/rfc822 part. Offsets
// are into the message as given to Parse.
type Part struct {
	// Start is where the header begins, HeaderEnd where the fields end
	// (the blank line, if any, is in [HeaderEnd, BodyStart)), End where
	// the body ends: the line break before a boundary belongs to the
	// boundary (RFC 2046 5.1.1).
	Start, HeaderEnd, BodyStart, End int
	// Lines is the number of line feeds in the body.
	Lines int
	// Type and Subtype in lower case; text/plain where the header has no
	// valid Content-Type (RFC 2045 5.2), message/rfc822 in a digest.
	Type, Subtype string
	// Params are the Content-Type parameters.
	Params []Param
	// MIME says whether Content-* fields apply (RFC 2045 4): always in a
	// body part of a multipart, else only with MIME-Version or
	// Content-Type.
	MIME bool
	Kind Kind
	// Truncated marks a multipart or message part that a limit kept from
	// being parsed into parts; it is a Leaf, reported as
	// application/octet-stream.
	Truncated bool
	Parts     []*Part
}

// Header returns the part's header fields (without the blank line).
func (p *Part) Header(msg []byte) []byte { return msg[p.Start:p.HeaderEnd] }

// Body returns the part's body.
func (p *Part) Body(msg []byte) []byte { return msg[p.BodyStart:p.End] }

// bound is an open multipart's boundary.
type bound struct {
	b    []byte // without the leading "--"
	part *Part
}

// stop is where a body ended: at a boundary line (at >= 0, the index of
// the boundary in the stack) or at the end of the message (at == -1).
type stop struct {
	at      int
	line    int  // start of the boundary line
	lf      int  // line feeds before line
	closing bool // "--boundary--"
	// first: the boundary was the first line read for this body (or
	// epilogue), so the line break before it ended the previous line
	// read (a boundary line or a header) and is not the boundary's.
	first bool
}

type parser struct {
	msg    []byte
	pos    int // always at the start of a line
	lf     int // line feeds before pos
	bounds []bound
	parts  int
	lim    Limits
}

// Parse builds the part tree of a message in one pass over it. It never
// fails: malformed structure gives a degraded tree (see Limits, Kind).
// Time is linear in len(msg) times the boundaries open at a time (at most
// MaxDepth); memory is the tree, at most MaxParts parts, plus the
// parameters of their Content-Type fields (at most MaxParams each).
func Parse(msg []byte, lim Limits) *Part {
	p := &parser{msg: msg, lim: lim.withDefaults(), parts: 1}
	root := &Part{}
	p.part(root, 0, false, false)
	return root
}

// part parses a part from its header on, p.pos at root.Start, and returns
// how its body ended.
func (p *parser) part(pt *Part, depth int, mimePart, inDigest bool) stop {
	pt.Start = p.pos
	if s, ended := p.header(pt); ended {
		// No body: a multipart without parts, or a message part with
		// no message in it (reported as a leaf).
		p.classify(pt, mimePart, inDigest)
		if pt.Kind == Message {
			pt.Kind, pt.Truncated = Leaf, true
		}
		return s
	}
	p.classify(pt, mimePart, inDigest)
	bodyLF := p.lf
	var s stop
	switch {
	case pt.Kind == Multipart && depth+1 >= p.lim.MaxDepth:
		pt.Kind, pt.Truncated = Leaf, true
		s = p.scan()
	case pt.Kind == Multipart:
		s = p.multipart(pt, depth)
	case pt.Kind == Message && (depth+1 >= p.lim.MaxDepth || p.parts >= p.lim.MaxParts):
		pt.Kind, pt.Truncated = Leaf, true
		s = p.scan()
	case pt.Kind == Message:
		child := &Part{}
		p.parts++
		pt.Parts = []*Part{child}
		s = p.part(child, depth+1, false, false)
	default:
		s = p.scan()
	}
	p.end(pt, s, bodyLF)
	return s
}

// header reads the header fields and the blank line after them. A
// boundary line of an enclosing multipart ends a header that has no
// blank line: the part then has no body (ended is true).
func (p *parser) header(pt *Part) (s stop, ended bool) {
	for p.pos < len(p.msg) {
		line := p.pos
		next, hasLF := p.lineEnd(line)
		if at, closing := p.boundary(line, next); at >= 0 {
			// The line break before the boundary line is the
			// boundary's, not the header's.
			s = stop{at: at, line: line, lf: p.lf, closing: closing}
			p.advance(next, hasLF)
			end := max(pt.Start, line-eolBefore(p.msg, line))
			pt.HeaderEnd, pt.BodyStart, pt.End = end, end, end
			return s, true
		}
		if isBlank(p.msg[line:next]) {
			pt.HeaderEnd = line
			p.advance(next, hasLF)
			pt.BodyStart = p.pos
			return stop{}, false
		}
		p.advance(next, hasLF)
	}
	pt.HeaderEnd, pt.BodyStart = p.pos, p.pos
	return stop{}, false
}

// classify reads Content-Type (the first one, as Dovecot) and MIME-Version
// and sets Type, Subtype, Params, MIME and Kind.
func (p *parser) classify(pt *Part, mimePart, inDigest bool) {
	var ct []byte
	hasCT, hasVersion := false, false
	for f := range Fields(pt.Header(p.msg)) {
		switch {
		case !hasCT && f.NameIs("Content-Type"):
			ct, hasCT = f.Value, true
		case f.NameIs("MIME-Version"):
			hasVersion = true
		}
	}
	pt.MIME = mimePart || hasVersion || hasCT
	ok := false
	if hasCT {
		pt.Type, pt.Subtype, pt.Params, ok = ParseContentType(string(ct))
	}
	if !ok {
		pt.Params = nil
		if inDigest && !hasCT {
			pt.Type, pt.Subtype = "message", "rfc822" // RFC 2046 5.1.5
		} else {
			pt.Type, pt.Subtype = "text", "plain"
		}
	}
	switch {
	case pt.Type == "multipart":
		pt.Kind = Multipart
	case pt.Type == "message" && (pt.Subtype == "rfc822" || pt.Subtype == "global"):
		pt.Kind = Message // RFC 9051 7.5.2 body-type-msg
	default:
		pt.Kind = Leaf
	}
}

// Param returns the value of a parameter, "" if absent.
func (p *Part) Param(name string) string {
	for _, pr := range p.Params {
		if pr.Name == name {
			return pr.Value
		}
	}
	return ""
}

// multipart reads a multipart body: preamble, body parts, epilogue.
func (p *parser) multipart(pt *Part, depth int) stop {
	b := pt.Param("boundary")
	if b == "" {
		// No boundary: no parts can be found; the body is opaque.
		return p.scan()
	}
	if len(b) > MaxBoundary {
		b = b[:MaxBoundary]
	}
	mine := len(p.bounds)
	p.bounds = append(p.bounds, bound{b: []byte(b), part: pt})
	digest := pt.Subtype == "digest"
	s := p.scan() // the preamble
	for s.at == mine && !s.closing {
		child := &Part{}
		p.parts++
		pt.Parts = append(pt.Parts, child)
		s = p.part(child, depth+1, true, digest)
	}
	if s.at == mine {
		// Closed: the epilogue runs to an outer boundary or the end.
		p.bounds = p.bounds[:mine]
		s = p.scan()
	}
	if len(p.bounds) > mine {
		p.bounds = p.bounds[:mine] // this one and any left open inside
	}
	return s
}

// end sets a part's End and Lines from where its body stopped.
func (p *parser) end(pt *Part, s stop, bodyLF int) {
	if s.at < 0 {
		pt.End = len(p.msg)
		pt.Lines = p.lf - bodyLF
		return
	}
	eol := eolBefore(p.msg, s.line)
	if s.first || s.line == pt.BodyStart {
		eol = 0
	}
	pt.End = s.line - eol
	pt.Lines = s.lf - bodyLF
	if eol > 0 {
		pt.Lines--
	}
}

// scan reads body lines until a boundary line of an open multipart.
func (p *parser) scan() stop {
	start := p.pos
	for p.pos < len(p.msg) {
		line := p.pos
		next, hasLF := p.lineEnd(line)
		at, closing := p.boundary(line, next)
		s := stop{at: at, line: line, lf: p.lf, closing: closing, first: line == start}
		p.advance(next, hasLF)
		if at >= 0 {
			return s
		}
	}
	return stop{at: -1}
}

func (p *parser) lineEnd(line int) (next int, hasLF bool) {
	if i := bytes.IndexByte(p.msg[line:], '\n'); i >= 0 {
		return line + i + 1, true
	}
	return len(p.msg), false
}

func (p *parser) advance(next int, hasLF bool) {
	p.pos = next
	if hasLF {
		p.lf++
	}
}

// boundary matches a line against the open boundaries, innermost first;
// the line only has to start with "--" and the boundary (RFC 2046 5.1.1
// allows trailing blanks; Dovecot and most readers accept any suffix),
// and the longest boundary that matches wins. Once MaxParts parts exist,
// nothing matches any more.
func (p *parser) boundary(line, next int) (at int, closing bool) {
	if len(p.bounds) == 0 || p.parts >= p.lim.MaxParts || next-line < 2 ||
		p.msg[line] != '-' || p.msg[line+1] != '-' {
		return -1, false
	}
	rest := trimEOL(p.msg[line+2 : next])
	dashes := len(rest) > 2 && rest[len(rest)-1] == '-' && rest[len(rest)-2] == '-'
	best := -1
	for i := len(p.bounds) - 1; i >= 0; i-- {
		b := p.bounds[i].b
		if len(b) > len(rest) || !bytes.HasPrefix(rest, b) {
			continue
		}
		if best < 0 || len(p.bounds[best].b) < len(b) {
			best = i
			if len(b) == len(rest) || (dashes && len(b)+2 == len(rest)) {
				break // exactly this one
			}
		}
	}
	if best < 0 {
		return -1, false
	}
	b := p.bounds[best].b
	closing = len(rest) >= len(b)+2 && rest[len(b)] == '-' && rest[len(b)+1] == '-'
	return best, closing
}

// eolBefore is the length of the line break that ends just before pos.
func eolBefore(msg []byte, pos int) int {
	if pos > 0 && msg[pos-1] == '\n' {
		if pos > 1 && msg[pos-2] == '\r' {
			return 2
		}
		return 1
	}
	return 0
}

func isBlank(line []byte) bool {
	return len(line) == 0 || string(line) == "\n" || string(line) == "\r\n"
}

// HeaderValue returns the value of the first field with this name in a
// header block, and whether there is one.
func HeaderValue(h []byte, name string) ([]byte, bool) {
	for f := range Fields(h) {
		if f.NameIs(name) {
			return f.Value, true
		}
	}
	return nil, false
}

// IsText says whether the part's body is text to search (RFC 9051 6.4.4
// BODY/TEXT): text/* and message/*, as Dovecot searches.
func (p *Part) IsText() bool {
	return p.Type == "text" || p.Type == "message"
}

// SplitHeader finds a message's header and body without parsing its
// parts: the returned Part has Start, HeaderEnd, BodyStart and End set
// and is a Leaf whatever its type (for BODY[HEADER], BODY[TEXT]).
func SplitHeader(msg []byte) *Part {
	p := &parser{msg: msg, lim: Limits{}.withDefaults(), parts: 1}
	pt := &Part{}
	p.header(pt)
	pt.End = len(msg)
	return pt
}
