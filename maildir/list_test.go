package maildir

import (
	"context"
	"reflect"
	"testing"
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
