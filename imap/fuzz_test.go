package imap

import (
	"bytes"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/immp-mail/immp/internal/mimeparse"
)

// checkWritable fails on anything go-imap's BODYSTRUCTURE writer panics
// on (imapserver/fetch.go): a multipart without children, a part without
// extension data, a message/rfc822 part without a body, a nil node.
func checkWritable(t *testing.T, bs imap.BodyStructure, depth int) {
	if depth > 2*mimeparse.DefaultMaxDepth+2 {
		t.Fatal("structure deeper than the limits allow")
	}
	switch bs := bs.(type) {
	case *imap.BodyStructureSinglePart:
		if bs.Extended == nil {
			t.Fatal("single part without extension data")
		}
		if m := bs.MessageRFC822; m != nil {
			if m.BodyStructure == nil {
				t.Fatal("message/rfc822 without a body structure")
			}
			checkWritable(t, m.BodyStructure, depth+1)
		}
	case *imap.BodyStructureMultiPart:
		if bs.Extended == nil || len(bs.Children) == 0 {
			t.Fatal("multipart without extension data or children")
		}
		for _, c := range bs.Children {
			checkWritable(t, c, depth+1)
		}
	default:
		t.Fatalf("body structure of type %T", bs)
	}
}

// checkSections fetches every part of the tree the way a client walking
// BODYSTRUCTURE does and checks it against the structure: each leaf's
// BODY[path] is as long as BODYSTRUCTURE says and has as many lines.
func checkSections(t *testing.T, msg *message, bs imap.BodyStructure, path []int, budget *int) {
	if *budget <= 0 {
		return
	}
	*budget--
	item := &imap.FetchItemBodySection{Part: path}
	for _, spec := range []imap.PartSpecifier{imap.PartSpecifierNone, imap.PartSpecifierMIME, imap.PartSpecifierHeader, imap.PartSpecifierText} {
		if len(path) == 0 && spec == imap.PartSpecifierMIME {
			continue
		}
		item.Specifier = spec
		if b := msg.bodySection(item); len(b) > len(msg.raw)+2 {
			t.Fatalf("section %v %s longer than the message", path, spec)
		}
	}
	item.Specifier = imap.PartSpecifierHeader
	item.HeaderFieldsNot = []string{"Content-Type"}
	msg.bodySection(item)
	item.HeaderFieldsNot = nil
	if _, err := msg.binarySection(path, &imap.SectionPartial{Offset: 1, Size: 5}); err != nil && err != errUnknownCTE {
		t.Fatalf("binary %v: %v", path, err)
	}
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		for i, c := range bs.Children {
			checkSections(t, msg, c, append(path[:len(path):len(path)], i+1), budget)
		}
	case *imap.BodyStructureSinglePart:
		if len(path) > 0 {
			item.Specifier = imap.PartSpecifierNone
			body := msg.bodySection(item)
			if uint32(len(body)) != bs.Size {
				t.Fatalf("part %v: BODY is %d octets, BODYSTRUCTURE says %d", path, len(body), bs.Size)
			}
			if bs.Text != nil && bs.Text.NumLines != int64(bytes.Count(body, []byte("\n"))) {
				t.Fatalf("part %v: %d lines, BODYSTRUCTURE says %d", path, bytes.Count(body, []byte("\n")), bs.Text.NumLines)
			}
		}
		if m := bs.MessageRFC822; m != nil {
			p := path
			if len(p) == 0 {
				p = []int{1}
			}
			if _, ok := m.BodyStructure.(*imap.BodyStructureMultiPart); ok {
				checkSections(t, msg, m.BodyStructure, p, budget)
			} else {
				checkSections(t, msg, m.BodyStructure, append(p[:len(p):len(p)], 1), budget)
			}
		}
	}
}

func checkEnvelope(t *testing.T, env *imap.Envelope) {
	if env == nil {
		return
	}
	for _, l := range [][]imap.Address{env.From, env.Sender, env.ReplyTo, env.To, env.Cc, env.Bcc} {
		open := false
		for _, a := range l {
			for _, s := range []string{a.Mailbox, a.Host} {
				if strings.ContainsAny(s, "\r\n\x00") {
					t.Fatalf("address field %q", s)
				}
			}
			switch {
			case a.IsGroupStart():
				if open {
					t.Fatal("group in a group")
				}
				open = true
			case a.IsGroupEnd():
				if !open {
					t.Fatal("group end without start")
				}
				open = false
			}
		}
		if open {
			t.Fatal("unclosed group")
		}
	}
}

// FuzzBodyStructure runs the FETCH path of a message (ENVELOPE,
// BODYSTRUCTURE, every body section, BINARY) on arbitrary octets; its
// seeds (testdata/fuzz) are small versions of hostileMessages.
func FuzzBodyStructure(f *testing.F) {
	f.Add(crlf(mimeMessage))
	f.Add([]byte("Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nno boundary\r\n--x--\r\n"))
	f.Add([]byte("To: undisclosed-recipients:;, group: a@b, (c) d@e;\r\nFrom: <@route:x@y> (n)\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := parseMessage(raw)
		if p.size <= 0 {
			t.Fatal("no size estimate")
		}
		checkWritable(t, p.body, 0)
		checkEnvelope(t, p.envelope)
		msg := &message{raw: raw}
		budget := 200
		checkSections(t, msg, p.body, nil, &budget)
		var stack []imap.BodyStructure
		stack = append(stack, p.body)
		for len(stack) > 0 {
			bs := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			switch bs := bs.(type) {
			case *imap.BodyStructureSinglePart:
				if m := bs.MessageRFC822; m != nil {
					checkEnvelope(t, m.Envelope)
					stack = append(stack, m.BodyStructure)
				}
			case *imap.BodyStructureMultiPart:
				stack = append(stack, bs.Children...)
			}
		}
		c := &candidate{loaded: true, raw: raw}
		matchCriteria(c, &imap.SearchCriteria{
			Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "a"}, {Key: "Subject", Value: "b"}},
			Body:   []string{"x"}, Text: []string{"y"},
		})
	})
}
