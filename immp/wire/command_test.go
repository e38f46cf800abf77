package wire

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseDraftExamples(t *testing.T) {
	t.Parallel()
	want := []Command{
		{Tag: "A001", Name: CAPABILITY},
		{Tag: "A002", Name: NOOP},
		{Tag: "A003", Name: LOGOUT},
		{Tag: "A004", Name: AUTHENTICATE, Args: []string{"KERBEROS_V4"}},
		{Tag: "A005", Name: LOGIN, Args: []string{"SABARISH", "RAMAN"}},
		{Tag: "A006", Name: CREATE, Args: []string{"work/"}},
		{Tag: "A007", Name: CREATE, Args: []string{"office/work"}},
		{Tag: "A008", Name: DELETE, Args: []string{"work"}},
		{Tag: "A009", Name: RENAME, Args: []string{"worksabari", "offsabari"}},
		{Tag: "A010", Name: REPLACE, Args: []string{"worksabari", "offsabari"}},
		{Tag: "A011", Name: MOVE, Args: []string{"SABARISUBINBOX", "oldpath", "newpath"}},
		{Tag: "A012", Name: LIST, Args: []string{"inbox/Mail/", "%"}},
		{Tag: "A013", Name: SEARCHSPAMENTRY, Args: []string{"Sabarish"}, Criteria: []Criterion{{"EMAIL", "*Rubble"}}},
		{Tag: "A014", Name: STORESPAMENTRY, Args: []string{"SabariGuard", "mail@immp.pro"}},
		{Tag: "A015", Name: DELETESPAMENTRY, Args: []string{"SabariGuard", "mail@immp.pro"}},
		{Tag: "A016", Name: SEARCHSPAMGUARDAGENT, Args: []string{"*RubbleAgent"}},
		{Tag: "A017", Name: STORESPAMGUARDAGENT, Args: []string{"SabariGuard"}},
		{Tag: "A018", Name: DELETESPAMENTRY, Args: []string{"SabariGuard", "mail@immp.pro"}},
		{Untagged: true, Name: VERIFYINSPAMGUARDAGENT, Args: []string{"spammail@immp.pro", "mymail@immp.pro"}},
		{Untagged: true, Name: VERIFYSUBINBOX, Args: []string{"office/work", "mymail@immp.pro"}},
	}
	for i, line := range draftExamples {
		got, err := ParseCommand([]byte(line))
		if err != nil {
			t.Errorf("%q: %v", line, err)
			continue
		}
		if !reflect.DeepEqual(*got, want[i]) {
			t.Errorf("%q:\n got %+v\nwant %+v", line, *got, want[i])
		}
	}
}

func TestParseCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want *Command
	}{
		{"a1 login anonymous x", &Command{Tag: "a1", Name: LOGIN, Args: []string{"anonymous", "x"}}},
		{"a2 AUTHENTICATE plain AGFsaWNl=", &Command{Tag: "a2", Name: AUTHENTICATE, Args: []string{"PLAIN", "AGFsaWNl="}}},
		{"a3 AUTHENTICATE PLAIN =", &Command{Tag: "a3", Name: AUTHENTICATE, Args: []string{"PLAIN", "="}}},
		{`a5 LIST "" "*"`, &Command{Tag: "a5", Name: LIST, Args: []string{"", "*"}}},
		{`a6 LIST "" *`, &Command{Tag: "a6", Name: LIST, Args: []string{"", "*"}}},
		{`a8 LIST INBOX/ %`, &Command{Tag: "a8", Name: LIST, Args: []string{"INBOX/", "%"}}},
		{`a9 MOVE office ("work" "")`, &Command{Tag: "a9", Name: MOVE, Args: []string{"office", "work", ""}}},
		{`a10 MOVE office (INBOX/work,INBOX)`, &Command{Tag: "a10", Name: MOVE, Args: []string{"office", "INBOX/work", "INBOX"}}},
		{`a10 MOVE office ( "a" , "b" )`, &Command{Tag: "a10", Name: MOVE, Args: []string{"office", "a", "b"}}},
		{`a10 MOVE "a,b" ("c,d", e)`, &Command{Tag: "a10", Name: MOVE, Args: []string{"a,b", "c,d", "e"}}},
		{`a11 SEARCHSPAMENTRY agent MAIL "*@x" email "a*"`, &Command{Tag: "a11", Name: SEARCHSPAMENTRY, Args: []string{"agent"},
			Criteria: []Criterion{{"EMAIL", "*@x"}, {"EMAIL", "a*"}}}},
		{`a11 SEARCHSPAMENTRY agent`, &Command{Tag: "a11", Name: SEARCHSPAMENTRY, Args: []string{"agent"}}},
		{`a12 SEARCHSPAMGUARDAGENT`, &Command{Tag: "a12", Name: SEARCHSPAMGUARDAGENT}},
		{"a16 CREATE {5}\r\nb\xc3\xbcro", &Command{Tag: "a16", Name: CREATE, Args: []string{"b\xc3\xbcro"}}},
		{"a16 CREATE {5}\nb\xc3\xbcro\r\n", &Command{Tag: "a16", Name: CREATE, Args: []string{"b\xc3\xbcro"}}},
		{"a17 LOGIN {5+}\r\nalice {6+}\r\nsecret", &Command{Tag: "a17", Name: LOGIN, Args: []string{"alice", "secret"}}},
		{"a17 LOGIN {0}\r\n {0}\r\n", &Command{Tag: "a17", Name: LOGIN, Args: []string{"", ""}}},
		{`a18 CREATE "a \"q\" \\ n"`, &Command{Tag: "a18", Name: CREATE, Args: []string{`a "q" \ n`}}},
		{`a18 CREATE "b` + "\xc3\xbc" + `ro"`, &Command{Tag: "a18", Name: CREATE, Args: []string{"b\xc3\xbcro"}}},
		{"a19 DELETE nil", &Command{Tag: "a19", Name: DELETE, Args: []string{"NIL"}}},
		{"a20 NOOP\r\n", &Command{Tag: "a20", Name: NOOP}},
		{"A.1]x NOOP", &Command{Tag: "A.1]x", Name: NOOP}},
		// Tagged VERIFY, and a tag spelled like the command.
		{`t1 verifysubinbox work a@b`, &Command{Tag: "t1", Name: VERIFYSUBINBOX, Args: []string{"work", "a@b"}}},
		{`VERIFYSUBINBOX NOOP`, &Command{Tag: "VERIFYSUBINBOX", Name: NOOP}},
		{`verifyinspamguardagent "" a@b`, &Command{Untagged: true, Name: VERIFYINSPAMGUARDAGENT, Args: []string{"", "a@b"}}},
	}
	for _, tt := range tests {
		got, err := ParseCommand([]byte(tt.in))
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseCommandErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		tag      string
		untagged bool
		msg      string // substring
	}{
		{"", "", false, "Missing tag"},
		{"(", "", false, "Missing tag"},
		{"a+1 NOOP", "", false, "Invalid tag"},
		{"a*1 NOOP", "", false, "Invalid tag"},
		{"a1", "a1", false, "Missing command"},
		{"a1 ", "a1", false, "Missing command"},
		{"a1 FETCH 1", "a1", false, "Unknown command"},
		{"a1 NOOP x", "a1", false, "Invalid arguments"},
		{"a1 NOOP(", "a1", false, "Invalid command name"},
		{"a1 LOGIN alice", "a1", false, "Invalid arguments"},
		{"a1 LOGIN (a) b", "a1", false, "Invalid arguments"},
		{`a1 LOGIN "alice b`, "a1", false, "Unterminated"},
		{`a1 LOGIN "a\x" b`, "a1", false, "escape"},
		{"a1 LOGIN \"a\xff\" b", "a1", false, "UTF-8"},
		{"a1 LOGIN {5}\r\nabc", "a1", false, "Literal longer"},
		{"a1 LOGIN {5} x", "a1", false, "end the line"},
		{"a1 LOGIN {}\r\n", "a1", false, "Invalid literal"},
		{"a1 LOGIN {1}\r\n\x00 b", "a1", false, "NUL"},
		{"a1 LOGIN {99999999999999999999999}\r\n", "a1", false, "Literal longer"},
		{"a1 LOGIN a\"b c", "a1", false, "Missing space"},
		{"a1 MOVE x (a b c)", "a1", false, "Invalid arguments"},
		{"a1 MOVE x (a (b))", "a1", false, "Invalid arguments"},
		{"a1 MOVE x (a b", "a1", false, "Unterminated list"},
		{"a1 MOVE x " + strings.Repeat("(", 20) + strings.Repeat(")", 20), "a1", false, "nested"},
		{"a1 SEARCHSPAMENTRY agent NAME x", "a1", false, "criterion"},
		{"a1 SEARCHSPAMENTRY agent EMAIL", "a1", false, "Invalid arguments"},
		{"a1 SEARCHSPAMGUARDAGENT a b", "a1", false, "Invalid arguments"},
		{"a1 AUTHENTICATE \"PLAIN\"", "a1", false, "Invalid arguments"},
		{"a1 NOOP\r\nextra", "a1", false, ""},
		{"a1 CREATE a\rb", "a1", false, ""},
		{"VERIFYSUBINBOX onlyone", "", true, "Invalid arguments"},
		{"VERIFYSUBINBOX", "", true, "Invalid arguments"},
	}
	for _, tt := range tests {
		_, err := ParseCommand([]byte(tt.in))
		se, ok := err.(*SyntaxError)
		if !ok {
			t.Errorf("%q: error %v, want *SyntaxError", tt.in, err)
			continue
		}
		if se.Tag != tt.tag || se.Untagged != tt.untagged || !strings.Contains(se.Msg, tt.msg) {
			t.Errorf("%q: got %+v, want tag %q untagged %v msg ~%q", tt.in, se, tt.tag, tt.untagged, tt.msg)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range draftExamples {
		f.Add([]byte(s))
	}
	for _, s := range profileExamples {
		f.Add([]byte(s))
	}
	// Continuation lines of the draft's AUTHENTICATE example (6.2.1).
	f.Add([]byte("BAcAQU5EUkVXLfhASHFRFUAOCAsho84kLN3/IJmrMG+25a4DT+nZImJjnTNHJUtxAA+o0KPKfHEcAFs9a3CL5Oebe/ydHJUwYFdWwuQ1MWiy6IesKvjL5rL9WjXUb9MwT9bpObYLGOKi1Qh"))
	f.Add([]byte("DiAF5A4gA+oOIALuBkAAmw=="))
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, err := ParseCommand(b)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if cmd.Untagged == (cmd.Tag != "") {
			t.Fatalf("tag %q untagged %v", cmd.Tag, cmd.Untagged)
		}
		if cmd.Untagged && cmd.Name != VERIFYSUBINBOX && cmd.Name != VERIFYINSPAMGUARDAGENT {
			t.Fatalf("untagged %s", cmd.Name)
		}
		if !IsCommand(cmd.Name) {
			t.Fatalf("unknown name %q accepted", cmd.Name)
		}
		if !cmd.Untagged && !validTag(cmd.Tag) {
			t.Fatalf("invalid tag %q accepted", cmd.Tag)
		}
		// Re-encoding the arguments must give back the same command.
		line := encodeCommand(cmd)
		again, err := ParseCommand(line)
		if err != nil {
			t.Fatalf("re-encoded %q: %v", line, err)
		}
		if again.Tag != cmd.Tag || again.Name != cmd.Name || strings.Join(again.Args, "\x00") != strings.Join(cmd.Args, "\x00") ||
			len(again.Criteria) != len(cmd.Criteria) {
			t.Fatalf("round trip: %+v != %+v", again, cmd)
		}
	})
}

// encodeCommand writes cmd back in wire form (literals for what cannot be
// quoted), as a client would.
func encodeCommand(c *Command) []byte {
	var b []byte
	if !c.Untagged {
		b = append(b, c.Tag...)
		b = append(b, ' ')
	}
	b = append(b, c.Name...)
	args := c.Args
	if c.Name == MOVE {
		b = append(b, ' ')
		b = AppendString(b, args[0])
		b = append(b, " ("...)
		b = AppendString(b, args[1])
		b = append(b, ' ')
		b = AppendString(b, args[2])
		return append(b, ')')
	}
	for i, a := range args {
		b = append(b, ' ')
		if c.Name == AUTHENTICATE && i == 0 {
			b = append(b, a...)
			continue
		}
		b = AppendString(b, a)
	}
	for _, cr := range c.Criteria {
		b = append(b, ' ')
		b = append(b, cr.Key...)
		b = append(b, ' ')
		b = AppendString(b, cr.Pattern)
	}
	return b
}
