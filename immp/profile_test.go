package immp

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// step is one command and the start of its completion (after the tag).
type step struct {
	cmd  string
	want string   // "OK", "NO [NONEXISTENT]", "BAD", ...
	data []string // untagged replies expected, exactly, in order (nil: not checked)
}

// run sends each step's command with a fresh tag and checks the outcome.
func run(t *testing.T, c *rawConn, steps []step) {
	t.Helper()
	for i, s := range steps {
		tag := fmt.Sprintf("T%d", i)
		out := c.cmd(tag + " " + s.cmd)
		last := strings.TrimPrefix(out[len(out)-1], tag+" ")
		if !strings.HasPrefix(last, s.want) {
			t.Errorf("%s: got %q, want %q...", s.cmd, last, s.want)
		}
		if s.data != nil {
			got := out[:len(out)-1]
			if len(got) == 0 {
				got = []string{}
			}
			if !reflect.DeepEqual(got, s.data) {
				t.Errorf("%s: data\n got %q\nwant %q", s.cmd, got, s.data)
			}
		}
	}
}

// TestSubinboxCommands covers every OK/NO/BAD case of profile 6.
func TestSubinboxCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	c.login("alice")
	run(t, c, []step{
		// CREATE
		{"CREATE work", "OK", nil},
		{"CREATE work", "NO [ALREADYEXISTS]", nil},
		{"CREATE WORK", "NO [ALREADYEXISTS]", nil}, // siblings may not differ only in case
		{"CREATE INBOX/work", "NO [ALREADYEXISTS]", nil},
		{"CREATE office/work/", "OK", nil}, // trailing "/" ignored (draft 6.3.1)
		{"CREATE INBOX/work/office", "NO [ALREADYEXISTS]", nil},
		{"CREATE a/missing", "NO [NONEXISTENT]", nil},
		{"CREATE INBOX", "NO [ALREADYEXISTS]", nil},
		{"CREATE inbox", "NO [ALREADYEXISTS]", nil},
		{"CREATE ../work", "NO [CANNOT]", nil},
		{"CREATE", "BAD", nil},
		{"CREATE a b", "BAD", nil},
		{"CREATE {10}\r\nb\xc3\xbcro/work", "OK", nil},
		// DELETE
		{"DELETE INBOX", "NO", nil},
		{"DELETE work", "NO [INUSE]", nil},
		{"DELETE nothere", "NO [NONEXISTENT]", nil},
		{"DELETE büro/work", "BAD", nil}, // 8-bit outside a literal or quoted string
		{`DELETE "büro/work"`, "OK", nil},
		// RENAME: new parent must exist; children move along.
		{"CREATE home", "OK", nil},
		{"RENAME work home", "NO [ALREADYEXISTS]", nil},
		{"RENAME nothere x", "NO [NONEXISTENT]", nil},
		{"RENAME work job/missing", "NO [NONEXISTENT]", nil},
		{"RENAME work job/home", "OK", nil},
		{`LIST "" "*"`, "OK", []string{
			`* LIST (\HasChildren) "/" home`,
			`* LIST (\HasChildren) "/" job/home`,
			`* LIST (\HasNoChildren) "/" office/job/home`,
		}},
		{"RENAME job/home work", "OK", nil},
		// REPLACE
		{"CREATE private", "OK", nil},
		{"REPLACE private nothere", "NO [NONEXISTENT]", nil},
		{"REPLACE nothere private", "NO [NONEXISTENT]", nil},
		{"REPLACE private private", "NO", nil},
		{"REPLACE work office/work", "NO", nil}, // new inside old / old has children
		{"REPLACE INBOX private", "NO", nil},
		{"REPLACE private home", "OK", nil},
		{"VERIFYSUBINBOX private alice@example.org", "OK", nil},
		{"VERIFYSUBINBOX INBOX/Private alice@example.org", "OK", nil},
		{"CREATE private", "OK", nil}, // the name is free again for a real subinbox
		{"DELETE private", "OK", nil},
		// MOVE: leaf (from to), either form, "" or INBOX the root.
		{"MOVE office (work, home)", "OK", nil},
		{`MOVE office ("home" "")`, "OK", nil},
		{"MOVE office (INBOX, INBOX/work)", "OK", nil},
		{"MOVE office (work home)", "OK", nil},
		{"MOVE office (work home)", "NO [NONEXISTENT]", nil},
		{"MOVE office (home nothere)", "NO [NONEXISTENT]", nil},
		{"MOVE office (home)", "BAD", nil},
		{"MOVE office home", "BAD", nil},
		{`LIST "" "*"`, "OK", []string{
			`* LIST (\HasChildren) "/" home`,
			`* LIST (\HasNoChildren) "/" office/home`,
			`* LIST (\HasNoChildren) "/" work`,
		}},
		// RENAME INBOX: its messages move, INBOX stays (draft 6.3.3).
		{"RENAME INBOX oldinbox", "OK", nil},
		{"VERIFYSUBINBOX oldinbox alice@example.org", "OK", nil},
		{"VERIFYSUBINBOX INBOX alice@example.org", "OK", nil},
		{"RENAME", "BAD", nil},
	})
}

// TestList covers profile 6's LIST rules.
func TestList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.account("alice@" + testDomain)
	for _, f := range []string{"INBOX/work", "INBOX/work/office", "INBOX/work/office/desk", "INBOX/Mail",
		"INBOX/Mail/foo", "INBOX/Mail/meetings", "Sent2", "Sent2/sub"} {
		if err := e.store.CreateFolder(e.ctx, alice, f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	c := e.dial()
	c.login("alice@example.org")
	run(t, c, []step{
		{`LIST "" ""`, "OK", []string{`* LIST (\Noselect) "/" ""`}},
		{`LIST "" "*"`, "OK", []string{
			`* LIST (\HasChildren) "/" Mail`,
			`* LIST (\HasNoChildren) "/" desk/office/work`,
			`* LIST (\HasNoChildren) "/" foo/Mail`,
			`* LIST (\HasNoChildren) "/" meetings/Mail`,
			`* LIST (\HasChildren) "/" office/work`,
			`* LIST (\HasChildren) "/" work`,
		}},
		{`LIST "" "%"`, "OK", []string{`* LIST (\HasChildren) "/" Mail`, `* LIST (\HasChildren) "/" work`}},
		{`LIST "" "%/work"`, "OK", []string{`* LIST (\HasChildren) "/" office/work`}},
		{`LIST "work" "%"`, "OK", []string{`* LIST (\HasChildren) "/" office/work`}},
		{`LIST "WORK/" "*"`, "OK", []string{`* LIST (\HasNoChildren) "/" desk/office/WORK`, `* LIST (\HasChildren) "/" office/WORK`}},
		{`LIST "office/work" "%"`, "OK", []string{`* LIST (\HasNoChildren) "/" desk/office/work`}},
		{`LIST "nothere" "*"`, "OK", []string{}},
		{`LIST "inbox/Mail/" "%"`, "OK", []string{`* LIST (\HasNoChildren) "/" inbox/Mail/foo`, `* LIST (\HasNoChildren) "/" inbox/Mail/meetings`}},
		{`LIST "INBOX/" "%"`, "OK", []string{`* LIST (\HasChildren) "/" INBOX/Mail`, `* LIST (\HasChildren) "/" INBOX/work`}},
		{`LIST "" "INBOX"`, "OK", []string{`* LIST (\HasChildren) "/" INBOX`}},
		{`LIST "" "inbox/w*"`, "OK", []string{
			`* LIST (\HasChildren) "/" INBOX/work`,
			`* LIST (\HasChildren) "/" INBOX/work/office`,
			`* LIST (\HasNoChildren) "/" INBOX/work/office/desk`,
		}},
		{`LIST "" "Sent*"`, "OK", []string{}}, // folders beside INBOX are not subinboxes
		{`LIST ""`, "BAD", nil},
	})
}

// TestSpamGuardCommands covers profile 7.
func TestSpamGuardCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	c.login("alice@example.org")
	run(t, c, []step{
		// The agent named after the login user exists from the start.
		{"SEARCHSPAMGUARDAGENT", "OK", []string{`* SEARCHSPAMGUARDAGENT "alice@example.org"`}},
		{"STORESPAMGUARDAGENT Work", "OK", nil},
		{"STORESPAMGUARDAGENT work", "NO [ALREADYEXISTS]", nil},
		{"STORESPAMGUARDAGENT news", "OK", nil},
		{`SEARCHSPAMGUARDAGENT "w*"`, "OK", []string{`* SEARCHSPAMGUARDAGENT "Work"`}},
		{`SEARCHSPAMGUARDAGENT "*"`, "OK", []string{`* SEARCHSPAMGUARDAGENT "alice@example.org"`,
			`* SEARCHSPAMGUARDAGENT "news"`, `* SEARCHSPAMGUARDAGENT "Work"`}},
		{`STORESPAMENTRY nothere "a@b.example"`, "NO [NONEXISTENT]", nil},
		{`STORESPAMENTRY work "*@spam.example"`, "OK", nil},
		{`STORESPAMENTRY WORK "*@SPAM.example"`, "NO [ALREADYEXISTS]", nil},
		{`STORESPAMENTRY work "*@*.spam.example"`, "OK", nil},
		{`STORESPAMENTRY work "mail@immp.pro"`, "OK", nil},
		{`STORESPAMENTRY work "a b"`, "NO [CANNOT]", nil},
		{`STORESPAMENTRY work ""`, "NO [CANNOT]", nil},
		{`STORESPAMENTRY work "` + strings.Repeat("x", 321) + `"`, "NO [CANNOT]", nil},
		{`SEARCHSPAMENTRY work`, "OK", []string{`* SEARCHSPAMENTRY "*@*.spam.example"`,
			`* SEARCHSPAMENTRY "*@spam.example"`, `* SEARCHSPAMENTRY "mail@immp.pro"`}},
		{`SEARCHSPAMENTRY work EMAIL "*spam*" mail "*@s*"`, "OK", []string{`* SEARCHSPAMENTRY "*@spam.example"`}},
		{`SEARCHSPAMENTRY work email "nomatch"`, "OK", []string{}},
		{`SEARCHSPAMENTRY nothere`, "NO [NONEXISTENT]", nil},
		{`SEARCHSPAMENTRY work NAME x`, "BAD", nil},
		{`VERIFYINSPAMGUARDAGENT "x@spam.example" "alice@example.org"`, "NO [BLOCKED]", nil},
		{`VERIFYINSPAMGUARDAGENT "x@a.spam.example" "work/alice@example.org"`, "NO [BLOCKED]", nil},
		{`VERIFYINSPAMGUARDAGENT "MAIL@IMMP.PRO" "alice+work@example.org"`, "NO [BLOCKED]", nil},
		{`VERIFYINSPAMGUARDAGENT "" "alice@example.org"`, "OK", nil},
		{`VERIFYINSPAMGUARDAGENT "x@spam.example" "bob@example.org"`, "OK", nil},
		{`VERIFYINSPAMGUARDAGENT "x@spam.example" "nobody@example.org"`, "NO [NONEXISTENT]", nil},
		{`VERIFYINSPAMGUARDAGENT "x@spam.example" "alice@elsewhere.example"`, "NO [NONEXISTENT]", nil},
		{`DELETESPAMENTRY work "*@spam.example"`, "OK", nil},
		{`DELETESPAMENTRY work "*@spam.example"`, "NO [NONEXISTENT]", nil},
		{`DELETESPAMENTRY nothere "*@spam.example"`, "NO [NONEXISTENT]", nil},
		{`VERIFYINSPAMGUARDAGENT "x@spam.example" "alice@example.org"`, "OK", nil},
		{`DELETESPAMGUARDAGENT WORK`, "OK", nil},
		{`DELETESPAMGUARDAGENT work`, "NO [NONEXISTENT]", nil},
		{`VERIFYINSPAMGUARDAGENT "x@a.spam.example" "alice@example.org"`, "OK", nil},
		{`STORESPAMGUARDAGENT work`, "OK", nil},
		{`SEARCHSPAMENTRY work`, "OK", []string{}}, // entries went with the agent
		{`STORESPAMGUARDAGENT`, "BAD", nil},
	})
}

// TestVerifySubinbox covers profile 8's VERIFYSUBINBOX answers.
func TestVerifySubinbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.account("alice@" + testDomain)
	for _, f := range []string{"INBOX/work", "INBOX/work/office"} {
		if err := e.store.CreateFolder(e.ctx, alice, f); err != nil {
			t.Fatal(err)
		}
	}
	c := e.dial()
	run(t, c, []step{
		{`VERIFYSUBINBOX "office/work" "alice@example.org"`, "OK", nil},
		{`VERIFYSUBINBOX "OFFICE/Work" "alice@example.org"`, "OK", nil},
		{`VERIFYSUBINBOX "inbox/work/office" "alice@example.org"`, "OK", nil},
		{`VERIFYSUBINBOX "work" "x/alice@example.org"`, "OK", nil},
		{`VERIFYSUBINBOX "work" "alice+x@example.org"`, "OK", nil},
		{`VERIFYSUBINBOX "home" "alice@example.org"`, "NO [NONEXISTENT]", nil},
		{`VERIFYSUBINBOX "work" "bob@example.org"`, "NO [NONEXISTENT]", nil},
		{`VERIFYSUBINBOX "work" "nobody@example.org"`, "NO [NONEXISTENT]", nil},
		{`VERIFYSUBINBOX "../x" "alice@example.org"`, "NO [NONEXISTENT]", nil},
		{`VERIFYSUBINBOX "work"`, "BAD", nil},
	})
	// Untagged forms get untagged completions, in order.
	c.send(`VERIFYSUBINBOX "home" "alice@example.org"`, `VERIFYSUBINBOX work alice@example.org`,
		`VERIFYINSPAMGUARDAGENT a@b.example nobody@example.org`, `VERIFYSUBINBOX onlyone`)
	c.expect("NO [NONEXISTENT] No such subinbox", "OK VERIFYSUBINBOX completed",
		"NO [NONEXISTENT] No such account", "BAD Invalid arguments")
}

// TestStates covers profile 3: what each state may do.
func TestStates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	run(t, c, []step{
		{"CREATE work", "BAD", nil},
		{"LIST \"\" *", "BAD", nil},
		{"SEARCHSPAMGUARDAGENT", "BAD", nil},
		{"FROB", "BAD", nil},
		{"NOOP", "OK", nil},
		{"VERIFYSUBINBOX INBOX alice@example.org", "OK", nil},
		{"LOGIN anonymous whatever", "OK", nil},
		{"LOGIN alice@example.org secret", "BAD", nil}, // no way back to not-authenticated
		{"AUTHENTICATE PLAIN", "BAD", nil},
		{"CREATE work", "BAD", nil},
		{"STORESPAMGUARDAGENT x", "BAD", nil},
		{"STARTTLS", "BAD", nil},
		{"CAPABILITY", "OK", []string{"* CAPABILITY IMMP LITERAL+ SASL-IR"}},
		{"NOOP", "OK", nil},
		{"VERIFYSUBINBOX INBOX alice@example.org", "OK", nil},
		{`VERIFYINSPAMGUARDAGENT "" alice@example.org`, "OK", nil},
	})
	c2 := e.dial()
	c2.login("alice@example.org")
	run(t, c2, []step{
		{"LOGIN bob@example.org secret", "BAD", nil},
		{"STARTTLS", "BAD", nil},
		{"CAPABILITY", "OK", []string{"* CAPABILITY IMMP LITERAL+ SASL-IR"}},
	})
	c2.send("Z LOGOUT")
	c2.expect("* BYE IMMP Server logging out", "Z OK LOGOUT completed")
}
