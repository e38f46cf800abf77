package wire

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// countingReader counts how many octets were pulled from it, to prove
// over-limit data is discarded as it streams rather than kept.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestReadCommandFraming(t *testing.T) {
	t.Parallel()
	in := "a1 NOOP\r\n\r\na2 LOGIN {5}\r\nalice {6}\nsecret\r\na3 CREATE \"x {3}\"\r\nVERIFYSUBINBOX work a@b\n"
	r := NewReader(strings.NewReader(in), Limits{})
	conts := 0
	cont := func() error { conts++; return nil }
	want := []string{
		"a1 NOOP",
		"a2 LOGIN {5}\r\nalice {6}\r\nsecret",
		`a3 CREATE "x {3}"`,
		"VERIFYSUBINBOX work a@b",
	}
	for _, w := range want {
		got, err := r.ReadCommand(cont)
		if err != nil {
			t.Fatalf("want %q: %v", w, err)
		}
		if string(got) != w {
			t.Fatalf("got %q, want %q", got, w)
		}
		if _, err := ParseCommand(got); err != nil {
			t.Fatalf("parse %q: %v", got, err)
		}
	}
	if conts != 2 {
		t.Fatalf("%d continuation requests, want 2", conts)
	}
	if _, err := r.ReadCommand(cont); err != io.EOF {
		t.Fatalf("at end: %v, want io.EOF", err)
	}
}

func TestReadCommandLiteralPlusNoContinuation(t *testing.T) {
	t.Parallel()
	r := NewReader(strings.NewReader("a1 LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n"), Limits{})
	got, err := r.ReadCommand(func() error { t.Fatal("continuation for LITERAL+"); return nil })
	if err != nil || string(got) != "a1 LOGIN {5+}\r\nalice {6+}\r\nsecret" {
		t.Fatalf("%q %v", got, err)
	}
}

func TestReadCommandTruncated(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"a1 NOOP", "a1 LOGIN {5}\r\nal"} {
		r := NewReader(strings.NewReader(in), Limits{})
		if _, err := r.ReadCommand(nil); err != io.ErrUnexpectedEOF {
			t.Errorf("%q: %v, want unexpected EOF", in, err)
		}
	}
}

func TestLongLineDiscarded(t *testing.T) {
	t.Parallel()
	long := "a1 CREATE " + strings.Repeat("x", 1<<20) + "\r\na2 NOOP\r\n"
	cr := &countingReader{r: strings.NewReader(long)}
	r := NewReader(cr, Limits{})
	_, err := r.ReadCommand(nil)
	var le *LimitError
	if !errors.As(err, &le) || le.Tag != "a1" || le.Literal {
		t.Fatalf("err %v (%+v)", err, le)
	}
	if cap(r.buf) > 3*DefaultMaxLine {
		t.Fatalf("reader kept %d octets", cap(r.buf))
	}
	got, err := r.ReadCommand(nil)
	if err != nil || string(got) != "a2 NOOP" {
		t.Fatalf("next command %q %v", got, err)
	}
}

func TestLongLineWithLiteralPlusTail(t *testing.T) {
	t.Parallel()
	// The over-long line ends in a LITERAL+ announcement: its octets and
	// the line after them belong to the refused command.
	in := "a1 X " + strings.Repeat("y", 9000) + " {4+}\r\nAAAA more {3+}\r\nBBB end\r\na2 NOOP\r\n"
	r := NewReader(strings.NewReader(in), Limits{})
	if _, err := r.ReadCommand(nil); !isLimit(err) {
		t.Fatalf("err %v", err)
	}
	got, err := r.ReadCommand(nil)
	if err != nil || string(got) != "a2 NOOP" {
		t.Fatalf("next command %q %v", got, err)
	}
}

func TestTextLimitAcrossLiterals(t *testing.T) {
	t.Parallel()
	// Line text is counted across all lines of one command.
	in := "a1 LOGIN {1+}\r\nx " + strings.Repeat("z", DefaultMaxLine) + "\r\na2 NOOP\r\n"
	r := NewReader(strings.NewReader(in), Limits{})
	if _, err := r.ReadCommand(nil); !isLimit(err) {
		t.Fatalf("err %v", err)
	}
	if got, err := r.ReadCommand(nil); err != nil || string(got) != "a2 NOOP" {
		t.Fatalf("next command %q %v", got, err)
	}
}

func TestLiteralLimits(t *testing.T) {
	t.Parallel()
	big := DefaultMaxLiteral + 1
	t.Run("sync", func(t *testing.T) {
		t.Parallel()
		// No "+" is sent; the client sends the next command instead.
		r := NewReader(strings.NewReader("a1 CREATE {65537}\r\na2 NOOP\r\n"), Limits{})
		_, err := r.ReadCommand(func() error { t.Fatal("continuation sent for over-size literal"); return nil })
		var le *LimitError
		if !errors.As(err, &le) || !le.Literal || le.Tag != "a1" {
			t.Fatalf("err %v", err)
		}
		if got, err := r.ReadCommand(nil); err != nil || string(got) != "a2 NOOP" {
			t.Fatalf("next %q %v", got, err)
		}
	})
	t.Run("plus", func(t *testing.T) {
		t.Parallel()
		in := "a1 CREATE {65537+}\r\n" + strings.Repeat("q", big) + " tail\r\na2 NOOP\r\n"
		r := NewReader(strings.NewReader(in), Limits{})
		_, err := r.ReadCommand(nil)
		var le *LimitError
		if !errors.As(err, &le) || !le.Literal || le.Tag != "a1" {
			t.Fatalf("err %v", err)
		}
		if cap(r.buf) > 3*DefaultMaxLine {
			t.Fatalf("reader kept %d octets", cap(r.buf))
		}
		if got, err := r.ReadCommand(nil); err != nil || string(got) != "a2 NOOP" {
			t.Fatalf("next %q %v", got, err)
		}
	})
	t.Run("total", func(t *testing.T) {
		t.Parallel()
		half := strings.Repeat("h", DefaultMaxLiteral/2+1)
		in := "a1 LOGIN {32769+}\r\n" + half + " {32769+}\r\n" + half + "\r\na2 NOOP\r\n"
		r := NewReader(strings.NewReader(in), Limits{})
		if _, err := r.ReadCommand(nil); !isLimit(err) {
			t.Fatalf("err %v", err)
		}
		if got, err := r.ReadCommand(nil); err != nil || string(got) != "a2 NOOP" {
			t.Fatalf("next %q %v", got, err)
		}
	})
	t.Run("absurd", func(t *testing.T) {
		t.Parallel()
		r := NewReader(strings.NewReader("a1 CREATE {104857601+}\r\nxx"), Limits{})
		if _, err := r.ReadCommand(nil); err != ErrTooLarge {
			t.Fatalf("err %v, want ErrTooLarge", err)
		}
		r = NewReader(strings.NewReader("a1 CREATE {99999999999999999999999999+}\r\n"), Limits{})
		if _, err := r.ReadCommand(nil); err != ErrTooLarge {
			t.Fatalf("err %v, want ErrTooLarge", err)
		}
	})
	t.Run("endless line", func(t *testing.T) {
		t.Parallel()
		r := NewReader(io.MultiReader(strings.NewReader("a1 "), zeros{}), Limits{MaxSkip: 1 << 20})
		if _, err := r.ReadCommand(nil); err != ErrTooLarge {
			t.Fatalf("err %v, want ErrTooLarge", err)
		}
	})
}

// zeros is an endless stream of 'x' without a line end.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func isLimit(err error) bool {
	var le *LimitError
	return errors.As(err, &le)
}

func TestUntaggedLimitError(t *testing.T) {
	t.Parallel()
	r := NewReader(strings.NewReader("VERIFYSUBINBOX "+strings.Repeat("w", 9000)+"\r\n"), Limits{})
	_, err := r.ReadCommand(nil)
	var le *LimitError
	if !errors.As(err, &le) || le.Tag != "" || !le.Untagged {
		t.Fatalf("err %v %+v", err, le)
	}
}

func TestReadLine(t *testing.T) {
	t.Parallel()
	r := NewReader(strings.NewReader("AGFsaWNl\r\n"+strings.Repeat("a", 9000)+"\r\n*\r\n"), Limits{})
	if l, err := r.ReadLine(); err != nil || string(l) != "AGFsaWNl" {
		t.Fatalf("%q %v", l, err)
	}
	if _, err := r.ReadLine(); !isLimit(err) {
		t.Fatalf("err %v", err)
	}
	if l, err := r.ReadLine(); err != nil || string(l) != "*" {
		t.Fatalf("%q %v", l, err)
	}
}

func TestLineState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		n    uint64
		plus bool
		ok   bool
	}{
		{"a1 LOGIN {5}", 5, false, true},
		{"a1 LOGIN {5+}", 5, true, true},
		{"a1 LOGIN {5}\r", 5, false, true},
		{"a1 LOGIN {}", 0, false, false},
		{"a1 LOGIN {+}", 0, false, false},
		{"a1 LOGIN {5", 0, false, false},
		{`a1 LOGIN "{5}`, 0, false, false},
		{`a1 LOGIN "\"{5}`, 0, false, false},
		{`a1 LOGIN "\\" {5}`, 5, false, true},
		{"a1 LOGIN {5} ", 0, false, false},
		{"a1 X {" + strings.Repeat("9", 40) + "}", ^uint64(0), false, true},
	}
	for _, tt := range tests {
		var s lineState
		// Feed in two parts to exercise state across fragments.
		h := len(tt.line) / 2
		s.feed([]byte(tt.line[:h]))
		s.feed([]byte(tt.line[h:]))
		n, plus, ok := s.literal()
		if n != tt.n || plus != tt.plus || ok != tt.ok {
			t.Errorf("%q: %d %v %v, want %d %v %v", tt.line, n, plus, ok, tt.n, tt.plus, tt.ok)
		}
	}
}

func TestWriter(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := NewWriter(&out)
	w.Status("*", OK, "CAPABILITY IMMP LITERAL+", "IMMP server ready")
	w.Continue("Ready for literal data")
	w.Data("LIST", List{Atom(`\HasNoChildren`)}, Quoted("/"), AString("inbox/Mail/foo"))
	w.Data("LIST", List{}, Quoted("/"), AString(""))
	w.Data("LIST", List{}, Quoted("/"), AString("nil"))
	w.Data("LIST", List{}, Quoted("/"), AString("a b"))
	w.Data("SEARCHSPAMENTRY", Quoted(`*Rubble`))
	w.Data("X", Quoted("b\xc3\xbcro"), Quoted(`q"\`))
	w.Status("A1", NO, "NONEXISTENT", "no\r\nsuch")
	w.Status("", OK, "", "VERIFYSUBINBOX completed")
	if out.Len() != 0 {
		t.Fatal("wrote before Flush")
	}
	w.Flush()
	want := "* OK [CAPABILITY IMMP LITERAL+] IMMP server ready\r\n" +
		"+ Ready for literal data\r\n" +
		"* LIST (\\HasNoChildren) \"/\" inbox/Mail/foo\r\n" +
		"* LIST () \"/\" \"\"\r\n" +
		"* LIST () \"/\" \"nil\"\r\n" +
		"* LIST () \"/\" \"a b\"\r\n" +
		"* SEARCHSPAMENTRY \"*Rubble\"\r\n" +
		"* X {5}\r\nb\xc3\xbcro \"q\\\"\\\\\"\r\n" +
		"A1 NO [NONEXISTENT] no  such\r\n" +
		"OK VERIFYSUBINBOX completed\r\n"
	if out.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", out.String(), want)
	}
}

func TestParseResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Response
	}{
		{"* OK [CAPABILITY IMMP LITERAL+] IMMP server ready", Response{Tag: "*", Status: OK, Code: "CAPABILITY", CodeArg: "IMMP LITERAL+", Text: "IMMP server ready"}},
		{"+ Ready for literal data", Response{Tag: "+", Text: "Ready for literal data"}},
		{"+ ", Response{Tag: "+"}},
		{"+", Response{Tag: "+"}},
		{"A1 NO [NONEXISTENT] No such subinbox", Response{Tag: "A1", Status: NO, Code: "NONEXISTENT", Text: "No such subinbox"}},
		{"A1 OK LIST completed\r\n", Response{Tag: "A1", Status: OK, Text: "LIST completed"}},
		{"OK VERIFYSUBINBOX completed", Response{Tag: "", Status: OK, Text: "VERIFYSUBINBOX completed"}},
		{"NO [BLOCKED] Blocked", Response{Tag: "", Status: NO, Code: "BLOCKED", Text: "Blocked"}},
		{"OK OK done", Response{Tag: "OK", Status: OK, Text: "done"}},
		{"* BYE IMMP Server logging out", Response{Tag: "*", Status: BYE, Text: "IMMP Server logging out"}},
		{`* LIST (\HasNoChildren) "/" inbox/Mail/foo`, Response{Tag: "*", Name: "LIST", Fields: []Value{
			{Kind: KindList, List: []Value{{Kind: KindAtom, Str: `\HasNoChildren`}}},
			{Kind: KindQuoted, Str: "/"}, {Kind: KindAtom, Str: "inbox/Mail/foo"}}}},
		{"* LIST () \"/\" {5}\r\nb\xc3\xbcro", Response{Tag: "*", Name: "LIST", Fields: []Value{
			{Kind: KindList, List: []Value{}}, {Kind: KindQuoted, Str: "/"}, {Kind: KindLiteral, Str: "b\xc3\xbcro"}}}},
	}
	for _, tt := range tests {
		got, err := ParseResponse([]byte(tt.in))
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if got.Fields == nil && tt.want.Fields == nil {
			got.Fields = nil
		}
		if !equalResponse(got, &tt.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", "A1", "A1 LIST x", "* OK [CODE", "* LIST (a"} {
		if _, err := ParseResponse([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func equalResponse(a, b *Response) bool {
	if a.Tag != b.Tag || a.Status != b.Status || a.Code != b.Code || a.CodeArg != b.CodeArg ||
		a.Text != b.Text || a.Name != b.Name || len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if !equalValue(a.Fields[i], b.Fields[i]) {
			return false
		}
	}
	return true
}

func equalValue(a, b Value) bool {
	if a.Kind != b.Kind || a.Str != b.Str || len(a.List) != len(b.List) {
		return false
	}
	for i := range a.List {
		if !equalValue(a.List[i], b.List[i]) {
			return false
		}
	}
	return true
}

func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		"* OK [CAPABILITY IMMP LITERAL+] IMMP server ready", "+ Ready", "A1 NO [NONEXISTENT] x",
		"OK VERIFYSUBINBOX completed", `* LIST (\HasNoChildren) "/" inbox/Mail/foo`,
		"* LIST () \"/\" {5}\r\nb\xc3\xbcro", `* SEARCHSPAMENTRY "*Rubble"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResponse(b)
		if err == nil && r.Tag == "" && r.Status == "" {
			t.Fatalf("untagged completion without status: %q", b)
		}
	})
}

func TestLineLimitBoundary(t *testing.T) {
	t.Parallel()
	head := "a1 CREATE "
	exact := head + strings.Repeat("x", DefaultMaxLine-len(head))
	r := NewReader(strings.NewReader(exact+"\r\n"+exact+"x\r\na2 NOOP\n"), Limits{})
	if got, err := r.ReadCommand(nil); err != nil || len(got) != DefaultMaxLine {
		t.Fatalf("line of exactly %d octets: %d %v", DefaultMaxLine, len(got), err)
	}
	if _, err := r.ReadCommand(nil); !isLimit(err) {
		t.Fatalf("line of %d octets: %v", DefaultMaxLine+1, err)
	}
	if got, err := r.ReadCommand(nil); err != nil || string(got) != "a2 NOOP" {
		t.Fatalf("next %q %v", got, err)
	}
}

// FuzzReadCommand feeds arbitrary streams through the framing and the
// parser: no panic, no command over the limits, progress on every call.
func FuzzReadCommand(f *testing.F) {
	for _, s := range draftExamples {
		f.Add([]byte(s + "\r\n"))
	}
	for _, s := range profileExamples {
		f.Add([]byte(s + "\n"))
	}
	f.Add([]byte("a1 CREATE {70000+}\r\nxx\r\na2 NOOP\r\n"))
	f.Add([]byte("a1 X \"{3}\r\na2 NOOP\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := Limits{MaxLine: 64, MaxLiteral: 32, MaxSkip: 256}
		r := NewReader(bytes.NewReader(b), lim)
		for i := 0; i <= len(b)+1; i++ {
			cmd, err := r.ReadCommand(func() error { return nil })
			if err != nil {
				if isLimit(err) {
					continue
				}
				return
			}
			if len(cmd) > lim.MaxLine+int(lim.MaxLiteral)+8*4 {
				t.Fatalf("command of %d octets passed the limits", len(cmd))
			}
			ParseCommand(cmd)
		}
		t.Fatalf("no progress")
	})
}
