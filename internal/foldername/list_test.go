package foldername

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p, n string
		want bool
	}{
		{"*", "a/b/c", true},
		{"%", "a", true},
		{"%", "a/b", false},
		{"a/%", "a/b", true},
		{"a/%", "a/b/c", false},
		{"a/*", "a/b/c", true},
		{"*c", "a/b/c", true},
		{"%/%", "a/b", true},
		{"a%c", "abc", true},
		{"a%c", "a/c", false},
		{"", "", true},
		{"", "a", false},
		{"%%", "a/b", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		// Case: ignored inside INBOX, kept outside (RFC 9051 5.1, profile 5).
		{"inbox", "INBOX", true},
		{"INBOX/WORK", "INBOX/work", true},
		{"inbox/w*", "INBOX/Work/office", true},
		{"Inbox*", "INBOX", true},
		{"sent", "Sent", false},
		{"Sent", "Sent", true},
		{"inbox*", "INBOXes", false}, // a folder beside INBOX
		{"INBOX*", "INBOXes", true},
		// Names with "&" and non-ASCII are matched as UTF-8.
		{"INBOX/a&*", "INBOX/a&b", true},
		{"*&*", "Ünïcode & co", true},
		{"ü*", "INBOX", false},
		{"inbox/Ü*", "INBOX/ünï", true},
		{"inbox/\u212a*", "INBOX/kelvin", true}, // Kelvin sign folds with k
		{"ſent", "Sent", false},                 // exact outside INBOX
		{"INBOX/ſ", "INBOX/S", true},            // long s folds with s
	}
	for _, tt := range tests {
		if got := Match(tt.p, tt.n); got != tt.want {
			t.Errorf("Match(%q, %q) = %v", tt.p, tt.n, got)
		}
	}
}

func TestJoin(t *testing.T) {
	t.Parallel()
	for _, tt := range [][3]string{
		{"", "*", "*"},
		{"inbox/Mail/", "%", "inbox/Mail/%"},
		{"inbox/Mail", "%", "inbox/Mail%"},
		{"INBOX", "*", "INBOX*"},
		{"INBOX", "/*", "INBOX/*"},
		{"a/", "/b", "a//b"},
	} {
		if got := Join(tt[0], tt[1]); got != tt[2] {
			t.Errorf("Join(%q, %q) = %q, want %q", tt[0], tt[1], got, tt[2])
		}
	}
}

// TestFoldAgreesWithEqualFold: Fold is the key of strings.EqualFold.
func TestFoldAgreesWithEqualFold(t *testing.T) {
	t.Parallel()
	words := []string{"k", "K", "\u212a", "s", "S", "ſ", "ß", "ẞ", "Σ", "σ", "ς", "é", "É", "INBOX", "inbox", "İ", "i", "ı", "I", "Ünï", "ünÏ", "&", "%", "*", "/"}
	for _, a := range words {
		for _, b := range words {
			if got, want := Fold(a) == Fold(b), strings.EqualFold(a, b); got != want {
				t.Errorf("Fold(%q) == Fold(%q) is %v, EqualFold %v", a, b, got, want)
			}
		}
	}
}

// TestMatchIsNotExponential: runs of wildcards, which a client controls,
// cost time linear in their length (a backtracking matcher took minutes
// on this input).
func TestMatchIsNotExponential(t *testing.T) {
	name := "INBOX/" + strings.Repeat("work", 60) + "\x7f"
	pattern := "INBOX/work" + strings.Repeat("%", 4000) + "00000000\x7f"
	start := time.Now()
	if Match(pattern, name) {
		t.Error("matched a name that lacks the pattern's literal tail")
	}
	if !Match(strings.Repeat("%*", 2000)+"\x7f", name) {
		t.Error("did not match a name ending in the pattern's literal tail")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

// tree is the folder set the table tests list: subinboxes in mixed case,
// names with "&", and folders beside INBOX.
var tree = []string{
	"INBOX", "INBOX/Mail", "INBOX/Mail/foo", "INBOX/Mail/meetings",
	"INBOX/work", "INBOX/work/office", "INBOX/work/office/desk",
	"INBOX/a&b", "INBOX/a&b/c&-d", "INBOX/inboxes",
	"Sent", "Sent/2024", "Ünïcode & co",
}

func TestListSubinboxes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ref, pat string
		want     []string // name, "+" with children, "-" without
	}{
		// Address form.
		{"", "*", []string{"Mail+", "a&b+", "c&-d/a&b-", "desk/office/work-", "foo/Mail-", "inboxes-", "meetings/Mail-", "office/work+", "work+"}},
		{"", "%", []string{"Mail+", "a&b+", "inboxes-", "work+"}},
		{"", "%/work", []string{"office/work+"}},
		{"work", "%", []string{"office/work+"}},
		{"WORK/", "*", []string{"desk/office/WORK-", "office/WORK+"}},
		{"office/work", "%", []string{"desk/office/work-"}},
		{"office/WORK", "DESK", []string{"desk/office/WORK-"}},
		{"work", "desk/%", []string{"desk/office/work-"}}, // leaf first
		{"work", "office/%", nil},
		{"a&b", "*", []string{"c&-d/a&b-"}},
		{"", "a&*", []string{"a&b+"}},
		{"", "inboxes", []string{"inboxes-"}}, // a subinbox, not INBOX
		{"nothere", "*", nil},
		{"a//b", "*", nil}, // cannot be a subinbox
		{"", "Sent*", nil}, // folders beside INBOX are not subinboxes
		// Absolute form.
		{"inbox/Mail/", "%", []string{"inbox/Mail/foo-", "inbox/Mail/meetings-"}},
		{"inbox/mail/", "%", []string{"inbox/mail/foo-", "inbox/mail/meetings-"}},
		{"inbox/mail", "%", []string{"inbox/mail+"}}, // reference + pattern: "inbox/mail%"
		{"inbox/work", "*", []string{"inbox/work+", "inbox/work/office+", "inbox/work/office/desk-"}},
		{"INBOX/", "%", []string{"INBOX/Mail+", "INBOX/a&b+", "INBOX/inboxes-", "INBOX/work+"}},
		{"INBOX", "%", []string{"INBOX+"}},
		{"INBOX", "/%", []string{"INBOX/Mail+", "INBOX/a&b+", "INBOX/inboxes-", "INBOX/work+"}},
		{"", "INBOX", []string{"INBOX+"}},
		{"", "inbox", []string{"INBOX+"}},
		{"", "inbox/w*", []string{"INBOX/work+", "INBOX/work/office+", "INBOX/work/office/desk-"}},
		{"", "INBOX/%/%", []string{"INBOX/Mail/foo-", "INBOX/Mail/meetings-", "INBOX/a&b/c&-d-", "INBOX/work/office+"}},
		{"", "INBOX%", []string{"INBOX+"}},
		{"", "Inbox*", []string{"INBOX+", "INBOX/Mail+", "INBOX/Mail/foo-", "INBOX/Mail/meetings-", "INBOX/a&b+", "INBOX/a&b/c&-d-", "INBOX/inboxes-", "INBOX/work+", "INBOX/work/office+", "INBOX/work/office/desk-"}},
		{"inbox/WORK/office/", "*", []string{"inbox/WORK/office/desk-"}},
		{"inbox/WORK/office", "*", []string{"inbox/WORK/office+", "inbox/WORK/office/desk-"}},
		{"INBOX/nothere/", "*", nil},
		{"", "", nil}, // the separator query is the wire's
	}
	for _, tt := range tests {
		var names []string
		for _, e := range ListSubinboxes(tree, tt.ref, tt.pat) {
			mark := "-"
			if e.HasChildren {
				mark = "+"
			}
			names = append(names, e.Name+mark)
			// Every answer names the folder it stands for.
			if abs, err := SubinboxName(e.Name); err != nil || !strings.EqualFold(abs, e.Folder) {
				t.Errorf("LIST %q %q: %q names %q, not %q (%v)", tt.ref, tt.pat, e.Name, abs, e.Folder, err)
			}
		}
		if !reflect.DeepEqual(names, tt.want) {
			t.Errorf("LIST %q %q = %q, want %q", tt.ref, tt.pat, names, tt.want)
		}
	}
}

// matchSlow is the definition of LIST matching, by backtracking (for
// short inputs only).
func matchSlow(p, n string) bool {
	if p == "" {
		return n == ""
	}
	switch p[0] {
	case '*', '%':
		for i := 0; i <= len(n); i++ {
			if matchSlow(p[1:], n[i:]) {
				return true
			}
			if i < len(n) && p[0] == '%' && n[i] == '/' {
				return false
			}
		}
		return false
	}
	return n != "" && n[0] == p[0] && matchSlow(p[1:], n[1:])
}

// FuzzMatch: the linear matcher agrees with the backtracking definition.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{{"*", "a/b"}, {"%/%", "a/b"}, {"a%c", "a/c"}, {"INBOX/w*", "inbox/Work"}, {"%*%", "//"}, {"*&*", "a&b"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, p, n string) {
		if len(p) > 24 || len(n) > 24 {
			return
		}
		if got, want := match(p, n), matchSlow(p, n); got != want {
			t.Fatalf("match(%q, %q) = %v, definition says %v", p, n, got, want)
		}
		if got, want := Match(p, n), matchSlow(Fold(p), Fold(n)); IsSubinbox(n) && got != want {
			t.Fatalf("Match(%q, %q) = %v on a subinbox, folded definition says %v", p, n, got, want)
		}
	})
}

// FuzzListSubinboxes: any reference and pattern give answers that name a
// listed folder, in the form the query asked for, matching the pattern.
func FuzzListSubinboxes(f *testing.F) {
	for _, s := range [][2]string{{"", "*"}, {"work", "%"}, {"inbox/", "%"}, {"INBOX", "*"}, {"a/b", "*%"}, {"", "INBOX"}, {"", "inbox/x*"}, {"a&b", "%"}, {"", "inboxes"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, ref, pat string) {
		abs := AbsoluteList(ref, pat)
		for _, e := range ListSubinboxes(tree, ref, pat) {
			if !utf8.ValidString(e.Name) && utf8.ValidString(ref) {
				t.Fatalf("LIST %q %q gave %q", ref, pat, e.Name)
			}
			n, err := SubinboxName(e.Name)
			if err != nil || !strings.EqualFold(n, e.Folder) {
				t.Fatalf("LIST %q %q: %q is not folder %q (%v)", ref, pat, e.Name, e.Folder, err)
			}
			if abs != isAbsolute(e.Name) {
				t.Fatalf("LIST %q %q: %q in the wrong form", ref, pat, e.Name)
			}
			if !abs && e.Folder == "INBOX" {
				t.Fatalf("LIST %q %q lists INBOX in address form", ref, pat)
			}
			if abs && !Match(Join(ref, pat), e.Folder) {
				t.Fatalf("LIST %q %q: %q does not match", ref, pat, e.Folder)
			}
		}
	})
}
