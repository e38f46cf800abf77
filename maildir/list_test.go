package maildir

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMatchPattern(t *testing.T) {
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
		{"INBOX", "inbox", true},
	}
	for _, tt := range tests {
		if got := MatchPattern(tt.p, tt.n, true); got != tt.want {
			t.Errorf("MatchPattern(%q, %q) = %v", tt.p, tt.n, got)
		}
	}
}

func TestListSubinboxes(t *testing.T) {
	t.Parallel()
	s, a := treeStore(t)
	ctx := context.Background()
	if err := s.CreateFolder(ctx, a, "INBOX/Mail"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFolder(ctx, a, "INBOX/Mail/foo"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref, pat string
		want     []string
	}{
		{"inbox/Mail/", "%", []string{"inbox/Mail/foo-"}},
		{"", "*", []string{"Mail+", "foo/Mail-", "home-", "work+", "office/work-"}},
		{"", "%", []string{"Mail+", "home-", "work+"}},
		{"work", "%", []string{"office/work-"}},
		{"WORK", "*", []string{"office/work-"}},
		{"", "INBOX/%", []string{"INBOX/Mail+", "INBOX/home-", "INBOX/work+"}},
		{"", "inbox/w*", []string{"inbox/work+", "inbox/work/office-"}},
		{"", "INBOX", []string{"INBOX+"}},
		{"INBOX/", "*", []string{"INBOX/Mail+", "INBOX/Mail/foo-", "INBOX/home-", "INBOX/work+", "INBOX/work/office-"}},
		{"nope", "*", nil},
		{"", "", nil},
	}
	for _, tt := range tests {
		got, err := s.ListSubinboxes(ctx, a, tt.ref, tt.pat)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range got {
			mark := "-"
			if e.HasChildren {
				mark = "+"
			}
			names = append(names, e.Name+mark)
		}
		if !reflect.DeepEqual(names, tt.want) {
			t.Errorf("LIST %q %q = %q, want %q", tt.ref, tt.pat, names, tt.want)
		}
	}
}

// TestMatchPatternIsNotExponential: runs of wildcards, which a client
// controls, cost time linear in their length (a backtracking matcher took
// minutes on this input).
func TestMatchPatternIsNotExponential(t *testing.T) {
	name := strings.Repeat("work", 60) + "\x7f"
	pattern := "work" + strings.Repeat("%", 4000) + "00000000\x7f"
	start := time.Now()
	if MatchPattern(pattern, name, true) {
		t.Error("matched a name that lacks the pattern's literal tail")
	}
	if !MatchPattern(strings.Repeat("%*", 2000)+"\x7f", name, false) {
		t.Error("did not match a name ending in the pattern's literal tail")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		{"%", "work", true}, {"%", "work/office", false}, {"*", "work/office", true},
		{"work/%", "work/office", true}, {"%/office", "work/office", true},
		{"w%k", "work", true}, {"w%k", "wo/rk", false}, {"", "", true}, {"", "a", false},
		{"a*b*c", "aXbYc", true}, {"a*b*c", "aXbY", false}, {"%%", "a/b", false},
	} {
		if got := MatchPattern(c.pattern, c.name, false); got != c.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}
