package immp

import (
	"slices"
	"testing"
)

// Subinbox names with "&", non-ASCII and strings that look like modified
// UTF-7 are plain UTF-8 over IMMP: CREATE, LIST, RENAME, MOVE and DELETE
// take them, the mailbox layer stores them as given (IMAP shows them in
// modified UTF-7), and each one made is subscribed.
func TestNamesWithAmpersand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.account("alice@" + testDomain)
	c := e.dial()
	c.login("alice@example.org")
	run(t, c, []step{
		{"CREATE a&b", "OK", nil},
		{`CREATE "c&d/a&b"`, "OK", nil},
		{`CREATE "&AOk-"`, "OK", nil}, // the name is these five characters
		{`CREATE "INBOX/R&D"`, "OK", nil},
		{`CREATE "A&B"`, "NO [ALREADYEXISTS]", nil},
		{`LIST "" "*&*"`, "OK", []string{
			`* LIST (\HasNoChildren) "/" &AOk-`,
			`* LIST (\HasNoChildren) "/" R&D`,
			`* LIST (\HasChildren) "/" a&b`,
			`* LIST (\HasNoChildren) "/" c&d/a&b`,
		}},
		{`LIST "A&B" "%"`, "OK", []string{`* LIST (\HasNoChildren) "/" c&d/A&B`}},
		{`LIST "inbox/a&b/" "*"`, "OK", []string{`* LIST (\HasNoChildren) "/" inbox/a&b/c&d`}},
		{`LIST "" "INBOX/&*"`, "OK", []string{`* LIST (\HasNoChildren) "/" INBOX/&AOk-`}},
		{`RENAME "c&d/a&b" "x&y/a&b"`, "OK", nil},
		{`MOVE "x&y" (a&b "R&D")`, "OK", nil},
		{`LIST "R&D" "*"`, "OK", []string{`* LIST (\HasNoChildren) "/" x&y/R&D`}},
		{`DELETE "x&y/r&d"`, "OK", nil},
		{`DELETE "&AOk-"`, "OK", nil},
	})
	folders, err := e.store.Folders(e.ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range folders {
		if f.Name == "INBOX/a&b" || f.Name == "INBOX/R&D" {
			if !f.Subscribed {
				t.Errorf("%s not subscribed", f.Name)
			}
		}
		names = append(names, f.Name)
	}
	for _, want := range []string{"INBOX/a&b", "INBOX/R&D"} {
		if !slices.Contains(names, want) {
			t.Errorf("store lacks %s: %q", want, names)
		}
	}
	for _, gone := range []string{"INBOX/&AOk-", "INBOX/R&D/x&y", "INBOX/a&b/c&d"} {
		if slices.Contains(names, gone) {
			t.Errorf("store still has %s", gone)
		}
	}
	subs, err := e.store.Subscriptions(e.ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(subs, "INBOX/&AOk-") || slices.Contains(subs, "INBOX/R&D/x&y") {
		t.Errorf("deleted subinboxes still subscribed: %q", subs)
	}
}

// LIST reads the reference followed by the pattern as written (profile 6:
// reference + pattern), as IMAP LIST does (internal/foldername's Join).
func TestListReferencePlusPattern(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.account("alice@" + testDomain)
	for _, f := range []string{"INBOX/work", "INBOX/work/office", "INBOX/workshop", "INBOX/inboxes", "INBOXes"} {
		if err := e.store.CreateFolder(e.ctx, alice, f); err != nil {
			t.Fatal(err)
		}
	}
	c := e.dial()
	c.login("alice@example.org")
	run(t, c, []step{
		{`LIST "INBOX/work/" "%"`, "OK", []string{`* LIST (\HasNoChildren) "/" INBOX/work/office`}},
		{`LIST "INBOX/work" "%"`, "OK", []string{
			`* LIST (\HasChildren) "/" INBOX/work`,
			`* LIST (\HasNoChildren) "/" INBOX/workshop`,
		}},
		{`LIST "inbox/" "w*"`, "OK", []string{
			`* LIST (\HasChildren) "/" inbox/work`,
			`* LIST (\HasNoChildren) "/" inbox/work/office`,
			`* LIST (\HasNoChildren) "/" inbox/workshop`,
		}},
		{`LIST "inbox" "w*"`, "OK", []string{}},
		{`LIST "" "INBOX%"`, "OK", []string{`* LIST (\HasChildren) "/" INBOX`}},
		{`LIST "" "inboxes"`, "OK", []string{`* LIST (\HasNoChildren) "/" inboxes`}},
		{`LIST "" "inbox*s"`, "OK", []string{`* LIST (\HasNoChildren) "/" INBOX/inboxes`}},
	})
}
