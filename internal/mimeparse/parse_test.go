package mimeparse

import (
	"fmt"
	"strings"
	"testing"
)

func crlf(s string) []byte {
	return []byte(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n"))
}

// checkTree verifies the invariants doc.go states and returns the depth
// and part count of the tree.
func checkTree(t testing.TB, msg []byte, root *Part, lim Limits) {
	t.Helper()
	lim = lim.withDefaults()
	parts, maxDepth := 0, 0
	type item struct {
		p     *Part
		depth int
	}
	stack := []item{{root, 0}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		p := it.p
		parts++
		maxDepth = max(maxDepth, it.depth)
		if !(0 <= p.Start && p.Start <= p.HeaderEnd && p.HeaderEnd <= p.BodyStart && p.BodyStart <= p.End && p.End <= len(msg)) {
			t.Fatalf("bad offsets %d %d %d %d (len %d)", p.Start, p.HeaderEnd, p.BodyStart, p.End, len(msg))
		}
		if p.Lines < 0 || p.Lines > strings.Count(string(p.Body(msg)), "\n") {
			t.Fatalf("lines %d, body has %d LFs", p.Lines, strings.Count(string(p.Body(msg)), "\n"))
		}
		if p.Lines != strings.Count(string(p.Body(msg)), "\n") {
			t.Fatalf("lines %d, body has %d LFs", p.Lines, strings.Count(string(p.Body(msg)), "\n"))
		}
		switch p.Kind {
		case Message:
			if len(p.Parts) != 1 || p.Parts[0].Start != p.BodyStart || p.Parts[0].End != p.End {
				t.Fatalf("message part: %d children", len(p.Parts))
			}
		case Leaf:
			if len(p.Parts) != 0 {
				t.Fatal("leaf with parts")
			}
		}
		prev := p.BodyStart
		for _, c := range p.Parts {
			if c.Start < prev || c.End > p.End {
				t.Fatalf("child [%d,%d) outside parent body [%d,%d) or out of order (prev %d)", c.Start, c.End, p.BodyStart, p.End, prev)
			}
			prev = c.End
			stack = append(stack, item{c, it.depth + 1})
		}
	}
	if maxDepth >= lim.MaxDepth || parts > lim.MaxParts {
		t.Fatalf("limits passed: depth %d parts %d", maxDepth, parts)
	}
}

const mimeMsg = `From: user@domain.org
Date: Sat, 24 Mar 2007 23:00:00 +0200
Mime-Version: 1.0
Content-Type: multipart/mixed; boundary="foo
 bar"

Root MIME prologue

--foo bar
Content-Type: text/x-myown; charset=us-ascii

hello

--foo bar
Content-Type: message/rfc822

From: sub@domain.org
Date: Sun, 12 Aug 2012 12:34:56 +0300
Subject: submsg
Content-Type: multipart/alternative; boundary="sub1"

Sub MIME prologue
--sub1
Content-Type: text/html

<p>Hello world</p>

--sub1
Content-Type: text/plain

Hello another world

--sub1--
Sub MIME epilogue

--foo bar--
Root MIME epilogue

`

func TestParseTree(t *testing.T) {
	msg := crlf(mimeMsg)
	root := Parse(msg, Limits{})
	checkTree(t, msg, root, Limits{})
	body := func(p *Part) string { return string(p.Body(msg)) }
	if root.Kind != Multipart || len(root.Parts) != 2 || root.Param("boundary") != "foo bar" {
		t.Fatalf("root: %+v", root)
	}
	p1, p2 := root.Parts[0], root.Parts[1]
	if p1.Type != "text" || p1.Subtype != "x-myown" || body(p1) != "hello\r\n" || p1.Lines != 1 {
		t.Errorf("part 1: %s/%s %q lines %d", p1.Type, p1.Subtype, body(p1), p1.Lines)
	}
	if p2.Kind != Message || !strings.HasSuffix(body(p2), "Sub MIME epilogue\r\n") || p2.Lines != 18 {
		t.Errorf("part 2: %q lines %d", body(p2), p2.Lines)
	}
	sub := p2.Parts[0]
	if sub.Kind != Multipart || len(sub.Parts) != 2 || body(sub.Parts[0]) != "<p>Hello world</p>\r\n" || body(sub.Parts[1]) != "Hello another world\r\n" {
		t.Errorf("encapsulated: %+v", sub)
	}
	if got := string(msg[p1.Start:p1.BodyStart]); got != "Content-Type: text/x-myown; charset=us-ascii\r\n\r\n" {
		t.Errorf("part 1 MIME header %q", got)
	}
}

func TestParseMalformed(t *testing.T) {
	for _, tc := range []struct {
		name, msg string
		check     func(t *testing.T, msg []byte, root *Part)
	}{
		{"multipart without boundary", "Content-Type: multipart/mixed\n\n--x\nContent-Type: text/plain\n\nhi\n--x--\n",
			func(t *testing.T, msg []byte, r *Part) {
				if r.Kind != Multipart || len(r.Parts) != 0 || r.End != len(msg) {
					t.Errorf("%+v", r)
				}
			}},
		{"boundary never found", "Content-Type: multipart/mixed; boundary=b\n\nno parts here\n",
			func(t *testing.T, msg []byte, r *Part) {
				if r.Kind != Multipart || len(r.Parts) != 0 {
					t.Errorf("%+v", r)
				}
			}},
		{"no closing boundary", "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n",
			func(t *testing.T, msg []byte, r *Part) {
				if len(r.Parts) != 2 || string(r.Parts[1].Body(msg)) != "two\r\n" {
					t.Errorf("%d parts", len(r.Parts))
				}
			}},
		{"invalid content-type is text/plain", "Content-Type: garbage\n\nx\n",
			func(t *testing.T, msg []byte, r *Part) {
				if r.Type != "text" || r.Subtype != "plain" || r.Kind != Leaf {
					t.Errorf("%s/%s", r.Type, r.Subtype)
				}
			}},
		{"digest default is message/rfc822", "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: inner\n\nbody\n--d--\n",
			func(t *testing.T, msg []byte, r *Part) {
				if len(r.Parts) != 1 || r.Parts[0].Kind != Message {
					t.Errorf("%+v", r.Parts)
				}
			}},
		{"header ended by a boundary", "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n--b--\n",
			func(t *testing.T, msg []byte, r *Part) {
				if len(r.Parts) != 1 || r.Parts[0].BodyStart != r.Parts[0].End {
					t.Errorf("%+v", r.Parts[0])
				}
			}},
		{"outer boundary closes inner parts", "Content-Type: multipart/mixed; boundary=out\n\n--out\nContent-Type: multipart/mixed; boundary=in\n\n--in\n\ninner\n--out\n\nsecond\n--out--\n",
			func(t *testing.T, msg []byte, r *Part) {
				if len(r.Parts) != 2 || string(r.Parts[1].Body(msg)) != "second" {
					t.Errorf("%d parts", len(r.Parts))
				}
			}},
		{"longest boundary prefix wins", "Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=aa\n\n--aa\n\nx\n--aa--\n--a--\n",
			func(t *testing.T, msg []byte, r *Part) {
				if len(r.Parts) != 1 || len(r.Parts[0].Parts) != 1 {
					t.Errorf("%+v", r.Parts)
				}
				// The line break after "--aa--" is the inner
				// multipart's (its empty epilogue), as in Dovecot.
				if got := string(r.Parts[0].Body(msg)); got != "--aa\r\n\r\nx\r\n--aa--\r\n" {
					t.Errorf("inner multipart body %q", got)
				}
			}},
		{"empty message", "", func(t *testing.T, msg []byte, r *Part) {
			if r.Kind != Leaf || r.End != 0 {
				t.Errorf("%+v", r)
			}
		}},
		{"no line ends", "Subject: x", func(t *testing.T, msg []byte, r *Part) {
			if r.HeaderEnd != len(msg) {
				t.Errorf("%+v", r)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := crlf(tc.msg)
			root := Parse(msg, Limits{})
			checkTree(t, msg, root, Limits{})
			tc.check(t, msg, root)
		})
	}
}

// TestParseLimits: nesting and part counts stop at the limits, and the
// parts beyond are leaves, not errors.
func TestParseLimits(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 500; i++ {
		b.WriteString("Content-Type: message/rfc822\r\n\r\n")
	}
	b.WriteString("Subject: deepest\r\n\r\nx\r\n")
	msg := []byte(b.String())
	root := Parse(msg, Limits{})
	checkTree(t, msg, root, Limits{})
	depth, p := 0, root
	for p.Kind == Message {
		p, depth = p.Parts[0], depth+1
	}
	if depth != DefaultMaxDepth-1 || !p.Truncated {
		t.Errorf("nested message/rfc822 stopped at depth %d (truncated %v), want %d", depth, p.Truncated, DefaultMaxDepth-1)
	}

	b.Reset()
	b.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n")
	for i := 0; i < 20000; i++ {
		b.WriteString("--b\r\n\r\nx\r\n")
	}
	b.WriteString("--b--\r\n")
	msg = []byte(b.String())
	root = Parse(msg, Limits{})
	checkTree(t, msg, root, Limits{})
	if len(root.Parts) != DefaultMaxParts-1 {
		t.Errorf("%d parts, want %d", len(root.Parts), DefaultMaxParts-1)
	}
	small := Limits{MaxDepth: 3, MaxParts: 5}
	root = Parse(msg, small)
	checkTree(t, msg, root, small)
}

func FuzzParse(f *testing.F) {
	f.Add(crlf(mimeMsg))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\nx\r\n--a--\r\n"))
	f.Add([]byte("To: g: a@b, (c) <d@e>;, \"q\\\"\" <@r,@s:t@[u]>\r\nContent-Type: text/plain; a*0*=utf-8''%41; a*1=b\r\n\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		lim := Limits{MaxDepth: 8, MaxParts: 64}
		root := Parse(msg, lim)
		checkTree(t, msg, root, lim)
		for f := range Fields(root.Header(msg)) {
			list := ParseAddressList(string(f.Value), 50)
			if len(list) > 50 {
				t.Fatalf("%d addresses", len(list))
			}
			open := false
			for _, a := range list {
				switch a.Kind {
				case KindGroupStart:
					if open {
						t.Fatal("nested group")
					}
					open = true
				case KindGroupEnd:
					if !open {
						t.Fatal("group end without start")
					}
					open = false
				default:
					if a.Mailbox == "" && a.Domain == "" {
						t.Fatalf("mailbox that looks like a group marker: %+v", a)
					}
				}
			}
			if open {
				t.Fatal("group not closed")
			}
			_ = FormatAddressList(list)
			ParseContentType(string(f.Value))
			ParseDisposition(string(f.Value))
			ParseLanguage(string(f.Value))
		}
		if d, err := Decode("base64", msg); err != nil || len(d) > len(msg) {
			t.Fatal("base64")
		}
		if d, _ := Decode("quoted-printable", msg); len(d) > len(msg) {
			t.Fatal("qp")
		}
		_ = fmt.Sprint(DecodeHeader(string(msg)))
	})
}
