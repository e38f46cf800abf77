package imap

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/immp-mail/immp/maildir"
)

// Names with "&" and any valid modified UTF-7 work in every command that
// takes a mailbox (RFC 3501 5.1.3); a name that is not valid modified
// UTF-7 is refused with NO [CANNOT], never NO [SERVERBUG]; a LIST pattern that
// is not valid modified UTF-7 is matched as written.
func TestModifiedUTF7Names(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	acct := e.account("alice@example.org")
	c := e.raw("alice@example.org")
	names := map[string]string{ // wire -> stored
		`a&-b`:          "a&b",
		`&AOk-t&AOk-`:   "été",
		`x&-&AOk-`:      "x&é",
		`&Jjo-!`:        "☺!",
		`&2D3eAA-`:      "😀",
		`INBOX/R&-D`:    "INBOX/R&D",
		`INBOX/R&-D/&-`: "INBOX/R&D/&",
		`Tom &- Jerry`:  "Tom & Jerry",
	}
	wire := slices.Sorted(func(yield func(string) bool) {
		for w := range names {
			if !yield(w) {
				return
			}
		}
	})
	for _, w := range wire {
		c.ok(`CREATE "` + w + `"`)
	}
	listed := c.ok(`LIST "" "*"`)
	for _, w := range wire {
		if !slices.ContainsFunc(listed, func(l string) bool { return strings.HasSuffix(l, ` "`+w+`"`) }) {
			t.Errorf("LIST * lacks %q: %q", w, listed)
		}
	}
	folders, err := e.store.Folders(context.Background(), acct)
	if err != nil {
		t.Fatal(err)
	}
	for _, stored := range names {
		if !slices.ContainsFunc(folders, func(f maildir.FolderInfo) bool { return f.Name == stored }) {
			t.Errorf("the store has no %q", stored)
		}
	}
	for _, w := range wire {
		c.ok(`SELECT "` + w + `"`)
		c.ok(`STATUS "` + w + `" (MESSAGES)`)
		c.ok(`SUBSCRIBE "` + w + `"`)
	}
	c.ok(`UNSELECT`)
	if l := c.ok(`LIST "" "a&-*"`); len(l) != 1 || !strings.HasSuffix(l[0], `"a&-b"`) {
		t.Errorf(`LIST "" "a&-*" = %q`, l)
	}
	if l := c.ok(`LIST "INBOX/R&-D/" "%"`); len(l) != 1 || !strings.HasSuffix(l[0], `"INBOX/R&-D/&-"`) {
		t.Errorf(`LIST "INBOX/R&-D/" "%%" = %q`, l)
	}
	c.ok(`RENAME "a&-b" "c&-d"`)
	c.ok(`RENAME "INBOX/R&-D" "INBOX/&AOk-"`)
	listed = c.ok(`LIST "" "*"`)
	for _, want := range []string{`"c&-d"`, `"INBOX/&AOk-"`, `"INBOX/&AOk-/&-"`} {
		if !slices.ContainsFunc(listed, func(l string) bool { return strings.HasSuffix(l, " "+want) }) {
			t.Errorf("after RENAME, LIST * lacks %s: %q", want, listed)
		}
	}
	c.ok(`DELETE "c&-d"`)
	c.ok(`DELETE "INBOX/&AOk-/&-"`)

	// Not valid modified UTF-7: NO [CANNOT], whatever the command.
	for _, cmd := range []string{
		`CREATE "a&b"`, `CREATE "&AGE-"`, `CREATE "&AOk"`, `CREATE "&Jjo"`,
		`SELECT "a&b"`, `EXAMINE "a&b"`, `DELETE "a&b"`, `RENAME "x&-&AOk-" "a&b"`, `RENAME "a&b" "x"`,
		`STATUS "a&b" (MESSAGES)`, `SUBSCRIBE "a&b"`, `UNSUBSCRIBE "a&b"`, `LIST "a&b" "*"`,
	} {
		if st, _ := c.do(cmd); !strings.HasPrefix(st, "NO [CANNOT]") {
			t.Errorf("%s: %s, want NO [CANNOT]", cmd, st)
		}
	}
	// Valid modified UTF-7 of a name the mailbox layer refuses (a control
	// character): NO [CANNOT].
	if st, _ := c.do(`CREATE "INBOX/&AAE-"`); !strings.HasPrefix(st, "NO [CANNOT]") {
		t.Errorf("CREATE of a control character: %s", st)
	}
	// Patterns that are not valid modified UTF-7 are matched as written
	// (Dovecot's imaptest sends the last one).
	for _, cmd := range []string{`LIST "" "a&b*"`, `LIST "" "&*"`, `LSUB "" "&*"`, "LIST \"\" !#$$&'+,-.0123456789:;<=>?@^_`|[}%*"} {
		if st, _ := c.do(cmd); !strings.HasPrefix(st, "OK") {
			t.Errorf("%s: %s", cmd, st)
		}
	}
	if l := c.ok(`LIST "" "Tom & Jerry"`); len(l) != 1 || !strings.HasSuffix(l[0], `"Tom &- Jerry"`) {
		t.Errorf(`a raw "&" in a pattern matches as written: %q`, l)
	}
	// The session still works; COPY and MOVE take names the same way.
	c.ok(`SELECT "x&-&AOk-"`)
	for _, cmd := range []string{`COPY 1:* "a&b"`, `MOVE 1:* "a&b"`, `UID COPY 1:* "&AOk"`} {
		if st, _ := c.do(cmd); !strings.HasPrefix(st, "NO [CANNOT]") {
			t.Errorf("%s: %s, want NO [CANNOT]", cmd, st)
		}
	}
	c.ok(`COPY 1:* "Tom &- Jerry"`)
	// A pattern past maxPattern is refused before any matching.
	long := strings.Repeat("%*", maxPattern/2+1)
	for _, cmd := range []string{`LIST "" "` + long + `"`, `LSUB "" "` + long + `"`, `LIST "" ("INBOX" "` + long + `")`} {
		if st, _ := c.do(cmd); !strings.HasPrefix(st, "BAD [LIMIT]") {
			t.Errorf("LIST with a %d-octet pattern: %s", len(long), st)
		}
	}
}

// listed runs a raw LIST or LSUB and returns name -> attributes and
// extended data, for the names under prefix.
func listed(t *testing.T, c *rawConn, cmd, prefix string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range c.ok(cmd) {
		l = strings.TrimPrefix(strings.TrimPrefix(l, "* LIST "), "* LSUB ")
		// (attrs) "/" name [ext]
		end := strings.IndexByte(l, ')')
		if end < 0 {
			t.Fatalf("%s: %q", cmd, l)
		}
		attrs := strings.ToLower(l[1:end])
		rest := strings.TrimPrefix(l[end+1:], ` "/" `)
		name, ext, _ := strings.Cut(rest, " ")
		name = strings.Trim(name, `"`)
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		if ext != "" {
			attrs += " " + strings.ToLower(ext)
		}
		out[name] = strings.TrimSpace(attrs)
	}
	return out
}

// has reports whether attrs holds every attribute of want.
func has(attrs string, want ...string) bool {
	f := strings.Fields(attrs)
	for _, w := range want {
		if !slices.Contains(f, w) {
			return false
		}
	}
	return true
}

// childInfo reports whether LIST's extended data says a child is
// subscribed (RFC 5258 CHILDINFO).
func childInfo(attrs string) bool { return strings.Contains(attrs, `childinfo ("subscribed")`) }

// TestListExtended follows what Dovecot's imaptest checks for LIST-EXTENDED
// (RFC 5258): multiple patterns, option errors, SUBSCRIBED with
// \NonExistent, RECURSIVEMATCH with CHILDINFO, RETURN (CHILDREN
// SUBSCRIBED).
func TestListExtended(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.account("alice@example.org")
	c := e.raw("alice@example.org")
	for _, n := range []string{"box/test1", "box/test2/", "box/test2/test1", "box/test3", "box/test4/test5",
		"box/test4/test52", "box/test6", "box/test7/test7", "box/test8/test8", "box/test8/test9"} {
		c.ok("CREATE " + n)
	}
	for _, n := range []string{"box/test1", "box/test2/test1", "box/test6", "box/test7/test7", "box/test8/test8", "box/test8/test9"} {
		c.ok("SUBSCRIBE " + n)
	}
	c.ok("DELETE box/test6")

	got := listed(t, c, `LIST "" (box/*2 box/test3)`, "box")
	if want := []string{"box/test2", "box/test3", "box/test4/test52"}; !reflect.DeepEqual(slices.Sorted(keys(got)), want) {
		t.Errorf("two patterns: %v, want %v", got, want)
	}
	for _, cmd := range []string{`LIST (imaptest) "" ""`, `LIST (recursivematch) "" ""`, `LIST (recursivematch remote) "" ""`, `LIST "" "" return (imaptest)`} {
		if st, _ := c.do(cmd); !strings.HasPrefix(st, "BAD") {
			t.Errorf("%s: %s, want BAD", cmd, st)
		}
	}
	c.ok(`LIST (remote) "" %`)

	got = listed(t, c, `LIST (subscribed) "" box/*`, "box")
	for _, n := range []string{"box/test1", "box/test2/test1", "box/test7/test7", "box/test8/test8", "box/test8/test9"} {
		if !has(got[n], `\subscribed`) {
			t.Errorf("SUBSCRIBED: %s is %q", n, got[n])
		}
	}
	if a := got["box/test6"]; !has(a, `\subscribed`, `\nonexistent`) || has(a, `\noselect`) {
		t.Errorf("SUBSCRIBED: deleted box/test6 is %q, want \\Subscribed \\NonExistent", a)
	}
	if len(got) != 6 {
		t.Errorf("SUBSCRIBED lists %v", got)
	}

	got = listed(t, c, `LIST (subscribed recursivematch) "" box/test2% return (children)`, "box")
	if a := got["box/test2"]; !has(a, `\haschildren`) || !childInfo(a) || has(a, `\subscribed`) {
		t.Errorf("RECURSIVEMATCH: box/test2 is %q, want \\HasChildren and CHILDINFO", a)
	}
	if len(got) != 1 {
		t.Errorf("RECURSIVEMATCH box/test2%%: %v", got)
	}

	got = listed(t, c, `LIST "" box/% return (children subscribed)`, "box")
	want := map[string][]string{"box/test1": {`\subscribed`, `\hasnochildren`}, "box/test2": {`\haschildren`},
		"box/test3": {`\hasnochildren`}, "box/test4": {`\haschildren`}, "box/test7": {`\haschildren`}, "box/test8": {`\haschildren`}}
	for n, w := range want {
		if !has(got[n], w...) || (n != "box/test1" && has(got[n], `\subscribed`)) {
			t.Errorf("RETURN (CHILDREN SUBSCRIBED): %s is %q, want %v", n, got[n], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("RETURN (CHILDREN SUBSCRIBED) lists %v", got)
	}

	// The subscribed child matches: no CHILDINFO for its parent.
	got = listed(t, c, `LIST (subscribed recursivematch) "" *test7`, "box")
	if _, ok := got["box/test7"]; ok || !has(got["box/test7/test7"], `\subscribed`) {
		t.Errorf("RECURSIVEMATCH *test7: %v", got)
	}
	// box/test8/test9 does not match *test8: CHILDINFO for box/test8.
	got = listed(t, c, `LIST (subscribed recursivematch) "" *test8`, "box")
	if !childInfo(got["box/test8"]) || has(got["box/test8"], `\subscribed`) || !has(got["box/test8/test8"], `\subscribed`) {
		t.Errorf("RECURSIVEMATCH *test8: %v", got)
	}
	got = listed(t, c, `LIST (subscribed recursivematch) "" (box/test2)`, "box")
	if !childInfo(got["box/test2"]) || len(got) != 1 {
		t.Errorf("RECURSIVEMATCH (box/test2): %v", got)
	}
	got = listed(t, c, `LIST (subscribed recursivematch) "" (box/test2 box/test2/test1)`, "box")
	if _, ok := got["box/test2"]; ok || !has(got["box/test2/test1"], `\subscribed`) {
		t.Errorf("RECURSIVEMATCH (box/test2 box/test2/test1): %v", got)
	}
	got = listed(t, c, `LIST "" (box/test7 box/test7/test7)`, "box")
	if has(got["box/test7"], `\nonexistent`) || len(got) != 2 {
		t.Errorf("LIST (box/test7 box/test7/test7): %v", got)
	}
}

// TestLSUB follows what Dovecot's imaptest checks for LSUB (RFC 3501
// 6.3.9): "%" returns the unsubscribed parent of a subscribed name as
// \Noselect.
func TestLSUB(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.account("alice@example.org")
	c := e.raw("alice@example.org")
	for _, n := range []string{"box/", "box/test", "box/test2/", "box/test3/", "box/test2/test", "box/test3/test3", "box/test2"} {
		c.do("CREATE " + n) // box/test2 exists already: NO is fine
	}
	for _, n := range []string{"box/test", "box/test2/test", "box/test3/test3"} {
		c.ok("SUBSCRIBE " + n)
	}
	got := listed(t, c, `LSUB "" box/%`, "box")
	want := map[string]string{"box/test": "", "box/test2": `\noselect`, "box/test3": `\noselect`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf(`LSUB "" box/%% = %v, want %v`, got, want)
	}
	got = listed(t, c, `LSUB "" *test`, "box")
	if want := map[string]string{"box/test": "", "box/test2/test": ""}; !reflect.DeepEqual(got, want) {
		t.Errorf(`LSUB "" *test = %v, want %v`, got, want)
	}
	c.ok("UNSUBSCRIBE box/test")
	if got := listed(t, c, `LSUB "" box/%`, "box"); got["box/test"] != "" || len(got) != 2 {
		t.Errorf("after UNSUBSCRIBE: %v", got)
	}
	c.ok("UNSUBSCRIBE box/test2/test")
	if got := listed(t, c, `LSUB "" box/*`, "box"); !reflect.DeepEqual(got, map[string]string{"box/test3/test3": ""}) {
		t.Errorf(`LSUB "" box/* = %v`, got)
	}
	c.ok("UNSUBSCRIBE box/test3/test3")
	if got := listed(t, c, `LSUB "" box/%`, "box"); len(got) != 0 {
		t.Errorf("all unsubscribed: %v", got)
	}
	// LIST (SUBSCRIBED) is not LSUB: no \Noselect parents.
	c.ok("SUBSCRIBE box/test2/test")
	if got := listed(t, c, `LIST (SUBSCRIBED) "" box/%`, "box"); len(got) != 0 {
		t.Errorf(`LIST (SUBSCRIBED) "" box/%% = %v`, got)
	}
}

// TestListHierarchy follows what Dovecot's imaptest checks for LIST: "%"
// stops at "/", "*" does not, the pattern follows the reference as written.
func TestListHierarchy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.account("alice@example.org")
	c := e.raw("alice@example.org")
	for _, n := range []string{"box/", "box/test", "box/test2", "box/test3/", "box/test3/test4/", "box/test3/test4/test5"} {
		c.ok("CREATE " + n)
	}
	for _, tc := range []struct {
		cmd  string
		want []string
	}{
		{`LIST "" box/%`, []string{"box/test", "box/test2", "box/test3"}},
		{`LIST "" box/%/%`, []string{"box/test3/test4"}},
		{`LIST "" box/*`, []string{"box/test", "box/test2", "box/test3", "box/test3/test4", "box/test3/test4/test5"}},
		{`LIST box/ *`, []string{"box/test", "box/test2", "box/test3", "box/test3/test4", "box/test3/test4/test5"}},
		{`LIST box *`, []string{"box", "box/test", "box/test2", "box/test3", "box/test3/test4", "box/test3/test4/test5"}},
		{`LIST box /%`, []string{"box/test", "box/test2", "box/test3"}},
		{`LIST "" box/*test4`, []string{"box/test3/test4"}},
		{`LIST "" box/%3/%`, []string{"box/test3/test4"}},
		{`LIST "" box/%3/%4`, []string{"box/test3/test4"}},
		{`LIST "" box/%t*4`, []string{"box/test3/test4"}},
		{`LIST "" BOX/*`, nil}, // case matters outside INBOX
	} {
		if got := slices.Sorted(keys(listed(t, c, tc.cmd, "box"))); !slices.Equal(got, tc.want) {
			t.Errorf("%s = %v, want %v", tc.cmd, got, tc.want)
		}
	}
	c.ok("DELETE box/test2")
	if _, ok := listed(t, c, `LIST "" box/*`, "box")["box/test2"]; ok {
		t.Error("deleted box/test2 still listed")
	}
	if got := listed(t, c, `LIST "" inbox`, ""); len(got) != 1 || got["INBOX"] == "" {
		t.Errorf(`LIST "" inbox = %v`, got)
	}
}

// TestSubscribedFolders: INBOX, subinboxes and special-use folders are
// subscribed whoever makes them, so a client syncing subscribed folders
// sees them; an IMAP CREATE beside INBOX is not; RENAME and DELETE carry
// the subscriptions along.
func TestSubscribedFolders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	acct := e.account("alice@example.org")
	c := e.raw("alice@example.org")
	c.ok("CREATE INBOX/work")
	c.ok("CREATE Projects")
	if err := e.store.CreateFolder(context.Background(), acct, "INBOX/home"); err != nil { // as IMMP does
		t.Fatal(err)
	}
	got := slices.Sorted(keys(listed(t, c, `LSUB "" *`, "")))
	if want := []string{"Archive", "Drafts", "INBOX", "INBOX/home", "INBOX/work", "Junk", "Sent", "Trash"}; !slices.Equal(got, want) {
		t.Errorf("LSUB * = %v, want %v", got, want)
	}
	c.ok("RENAME INBOX/work INBOX/job")
	c.ok("DELETE INBOX/home")
	got = slices.Sorted(keys(listed(t, c, `LIST (SUBSCRIBED) "" INBOX*`, "")))
	if want := []string{"INBOX", "INBOX/job"}; !slices.Equal(got, want) {
		t.Errorf("after RENAME and DELETE: %v, want %v", got, want)
	}
}

// TestIsLSUBTracksImapserver: isLSUB reads an unexported field of
// imapserver.ListWriter; this fails loudly if go-imap renames it.
func TestIsLSUBTracksImapserver(t *testing.T) {
	f, ok := reflect.TypeOf(imapserver.ListWriter{}).FieldByName("lsub")
	if !ok || f.Type.Kind() != reflect.Bool {
		t.Fatal("imapserver.ListWriter has no lsub bool: isLSUB must be revisited")
	}
	if isLSUB(&imapserver.ListWriter{}) || isLSUB(nil) {
		t.Error("a LIST writer taken for LSUB")
	}
}

// TestListSelect checks the selection rules without a connection.
func TestListSelect(t *testing.T) {
	t.Parallel()
	folders := []maildir.FolderInfo{
		{Name: "INBOX", Subscribed: true}, {Name: "INBOX/Work", Subscribed: true}, {Name: "INBOX/Work/a/b"},
		{Name: "Sent", SpecialUse: `\Sent`, Subscribed: true}, {Name: "Lists/go"},
	}
	subs := []string{"INBOX", "INBOX/work", "Sent", "Gone/x", "Lists/go"}
	names := func(o *imap.ListOptions, lsub bool, ref string, pats ...string) []string {
		var out []string
		for _, d := range listSelect(folders, subs, ref, pats, o, lsub) {
			s := d.Mailbox
			for _, a := range d.Attrs {
				s += " " + string(a)
			}
			if d.ChildInfo != nil {
				s += " CHILDINFO"
			}
			out = append(out, s)
		}
		return out
	}
	for _, tc := range []struct {
		got, want []string
	}{
		{names(&imap.ListOptions{}, false, "", "*"), []string{
			`INBOX \HasChildren`, `INBOX/Work \HasChildren`, `INBOX/Work/a \Noselect \HasChildren`,
			`INBOX/Work/a/b \HasNoChildren`, `Lists \Noselect \HasChildren`, `Lists/go \HasNoChildren`, `Sent \HasNoChildren \Sent`,
		}},
		{names(&imap.ListOptions{}, false, "inbox/", "w%"), []string{`INBOX/Work \HasChildren`}},
		{names(&imap.ListOptions{}, false, "inbox", "w%"), nil},
		{names(&imap.ListOptions{SelectSubscribed: true}, true, "", "Gone/*"), []string{`Gone/x`}},
		// Extended commands give children attributes only when asked.
		{names(&imap.ListOptions{SelectSpecialUse: true}, false, "", "*"), []string{`Sent \Sent`}},
		{names(&imap.ListOptions{SelectSubscribed: true}, false, "", "%"), []string{`INBOX \Subscribed`, `Sent \Subscribed \Sent`}},
		{names(&imap.ListOptions{}, false, "", "INBOX", "Sent"), []string{`INBOX`, `Sent \Sent`}},
		{names(&imap.ListOptions{SelectSubscribed: true, ReturnChildren: true}, false, "", "*"), []string{
			`INBOX \HasChildren \Subscribed`, `INBOX/Work \HasChildren \Subscribed`,
			`Gone/x \NonExistent \HasNoChildren \Subscribed`, `Lists/go \HasNoChildren \Subscribed`,
			`Sent \HasNoChildren \Subscribed \Sent`,
		}},
		{names(&imap.ListOptions{SelectSubscribed: true, SelectRecursiveMatch: true, ReturnChildren: true}, false, "", "%"), []string{
			`INBOX \HasChildren \Subscribed CHILDINFO`, `Gone \NonExistent \HasChildren CHILDINFO`,
			`Lists \NonExistent \HasChildren CHILDINFO`, `Sent \HasNoChildren \Subscribed \Sent`,
		}},
		{names(&imap.ListOptions{SelectSubscribed: true}, true, "", "%"), []string{
			`INBOX`, `Gone \Noselect`, `Lists \Noselect`, `Sent`,
		}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("got  %q\nwant %q", tc.got, tc.want)
		}
	}
}

func keys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
