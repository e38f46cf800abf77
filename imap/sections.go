package imap

import (
	"errors"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/immp-mail/immp/internal/mimeparse"
)

// message is one message's octets with its part tree, parsed on first
// use: BODY[] and BODY[HEADER] need no tree, numbered sections do.
type message struct {
	raw  []byte
	root *mimeparse.Part
}

func (m *message) tree() *mimeparse.Part {
	if m.root == nil {
		m.root = mimeparse.Parse(m.raw, mimeparse.Limits{})
	}
	return m.root
}

// top is the message's own header and body split, without the tree.
func (m *message) top() *mimeparse.Part {
	if m.root != nil {
		return m.root
	}
	return mimeparse.SplitHeader(m.raw)
}

// findPart resolves a section's part numbers (RFC 9051 6.4.5) as Dovecot
// does: in a multipart, n is its n-th body part; any other part has only
// part 1, itself; numbers after a message/rfc822 part go into the message
// it encapsulates. nil when there is no such part.
func findPart(root *mimeparse.Part, path []int) *mimeparse.Part {
	pt := root
	for i, n := range path {
		if pt.Kind == mimeparse.Multipart {
			if n < 1 || n > len(pt.Parts) {
				return nil
			}
			pt = pt.Parts[n-1]
		} else if n != 1 || (i+1 < len(path) && pt.Kind != mimeparse.Message) {
			return nil
		}
		if pt.Kind == mimeparse.Message && i+1 < len(path) {
			pt = pt.Parts[0]
		}
	}
	return pt
}

// bodySection returns the octets of BODY[section]<partial> (RFC 9051
// 6.4.5); a section that does not exist is empty, as in Dovecot.
func (m *message) bodySection(bs *imap.FetchItemBodySection) []byte {
	var out []byte
	if len(bs.Part) == 0 {
		out = m.entitySection(m.top(), bs)
	} else if pt := findPart(m.tree(), bs.Part); pt != nil {
		switch {
		case bs.Specifier == imap.PartSpecifierNone:
			out = pt.Body(m.raw)
		case bs.Specifier == imap.PartSpecifierMIME:
			out = m.raw[pt.Start:pt.BodyStart]
		case pt.Kind == mimeparse.Message:
			// HEADER and TEXT of a message/rfc822 part are those of
			// the message inside it.
			out = m.entitySection(pt.Parts[0], bs)
		}
	}
	return partial(out, bs.Partial)
}

// entitySection is HEADER, HEADER.FIELDS[.NOT], TEXT or the whole of a
// message (the top one or one inside a message/rfc822 part).
func (m *message) entitySection(e *mimeparse.Part, bs *imap.FetchItemBodySection) []byte {
	switch bs.Specifier {
	case imap.PartSpecifierHeader:
		if len(bs.HeaderFields) > 0 || len(bs.HeaderFieldsNot) > 0 {
			return filterHeader(e.Header(m.raw), bs.HeaderFields, bs.HeaderFieldsNot)
		}
		return m.raw[e.Start:e.BodyStart]
	case imap.PartSpecifierText:
		return e.Body(m.raw)
	case imap.PartSpecifierNone:
		return m.raw[e.Start:e.End]
	}
	return nil
}

// filterHeader keeps the fields named in keep (or all but those in drop),
// as they are in the message, and ends with the blank line.
func filterHeader(h []byte, keep, drop []string) []byte {
	in := func(name []byte, list []string) bool {
		for _, k := range list {
			if strings.EqualFold(string(name), k) {
				return true
			}
		}
		return false
	}
	var out []byte
	for f := range mimeparse.Fields(h) {
		if (len(keep) > 0 && !in(f.Name, keep)) || in(f.Name, drop) {
			continue
		}
		out = append(out, f.Raw...)
		if n := len(f.Raw); n == 0 || f.Raw[n-1] != '\n' {
			out = append(out, '\r', '\n')
		}
	}
	return append(out, '\r', '\n')
}

func partial(b []byte, p *imap.SectionPartial) []byte {
	if p == nil {
		return b
	}
	if p.Offset >= int64(len(b)) || p.Offset < 0 {
		return nil
	}
	b = b[p.Offset:]
	if p.Size >= 0 && p.Size < int64(len(b)) {
		b = b[:p.Size]
	}
	return b
}

var errUnknownCTE = &imap.Error{
	Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnknownCTE,
	Text: "Unknown Content-Transfer-Encoding",
}

// binarySection returns BINARY[section]<partial> (RFC 3516 4.2): a leaf's
// body with its transfer encoding undone; a multipart or message part as
// it is; BINARY[] the whole message with a single-part body decoded. An
// encoding not in RFC 2045 is NO [UNKNOWN-CTE] (RFC 3516 4.3).
func (m *message) binarySection(part []int, p *imap.SectionPartial) ([]byte, error) {
	var out []byte
	if len(part) == 0 {
		root := m.tree()
		if root.Kind != mimeparse.Leaf {
			return partial(m.raw, p), nil
		}
		body, err := mimeparse.Decode(root.Encoding(m.raw), root.Body(m.raw))
		if err != nil {
			return nil, cteError(err)
		}
		out = append(append(out, m.raw[:root.BodyStart]...), body...)
	} else if pt := findPart(m.tree(), part); pt != nil {
		out = pt.Body(m.raw)
		if pt.Kind == mimeparse.Leaf {
			var err error
			if out, err = mimeparse.Decode(pt.Encoding(m.raw), out); err != nil {
				return nil, cteError(err)
			}
		}
	}
	return partial(out, p), nil
}

func cteError(err error) error {
	if errors.Is(err, mimeparse.ErrUnknownEncoding) {
		return errUnknownCTE
	}
	return err
}
