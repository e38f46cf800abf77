package immp

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p, s string
		hier bool
		want bool
	}{
		{"*", "", true, true},
		{"*", "a/b/c", true, true},
		{"%", "a/b", true, false},
		{"%", "abc", true, true},
		{"%/work", "office/work", true, true},
		{"%/work", "x/office/work", true, false},
		{"*/work", "x/office/work", true, true},
		{"inbox/mail/%", "INBOX/Mail/foo", true, true},
		{"inbox/mail/%", "INBOX/Mail/foo/bar", true, false},
		{"inbox/%", "INBOX", true, false},
		{"INBOX*", "INBOX", true, true},
		{"foo.*", "foo.bar", true, true},
		{"", "", true, true},
		{"", "a", true, false},
		{"a", "", true, false},
		{"*rubble", "Barney@RUBBLE", false, true},
		{"*rubble", "Barney@RUBBLE.x", false, false},
		{"%@x", "a/b@x", false, true},
		{"a*b*c", "aXXbYYc", false, true},
		{"a*b*c", "aXXbYY", false, false},
		{"?", "a", false, false}, // "?" is not a search wildcard
	}
	for _, tt := range tests {
		if got := match(tt.p, tt.s, tt.hier); got != tt.want {
			t.Errorf("match(%q, %q, %v) = %v", tt.p, tt.s, tt.hier, got)
		}
	}
	// No exponential blow-up.
	long := strings.Repeat("a", 2000)
	if match(strings.Repeat("*a", 500)+"b", long, false) {
		t.Error("matched")
	}
}
