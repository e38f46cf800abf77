package guard

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// refMatch is the textbook dynamic-programming wildcard matcher over runes,
// the reference the fast matcher is checked against.
func refMatch(pattern, s string) bool {
	p, t := []rune(strings.ToLower(pattern)), []rune(strings.ToLower(s))
	// dp[j]: p[:i] matches t[:j]
	dp := make([]bool, len(t)+1)
	dp[0] = true
	for i := range p {
		next := make([]bool, len(t)+1)
		switch p[i] {
		case '*':
			next[0] = dp[0]
			for j := 1; j <= len(t); j++ {
				next[j] = dp[j] || next[j-1]
			}
		default:
			for j := 1; j <= len(t); j++ {
				next[j] = dp[j-1] && (p[i] == '?' || p[i] == t[j-1])
			}
		}
		dp = next
	}
	return dp[len(t)]
}

func TestMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pattern, addr string
		want          bool
	}{
		// profile 7 examples
		{"mail@immp.pro", "mail@immp.pro", true},
		{"mail@immp.pro", "MAIL@Immp.Pro", true},
		{"MAIL@IMMP.PRO", "mail@immp.pro", true},
		{"mail@immp.pro", "xmail@immp.pro", false},
		{"mail@immp.pro", "mail@immp.pro.x", false},
		{"*@spam.example", "bob@spam.example", true},
		{"*@spam.example", "@spam.example", true},
		{"*@spam.example", "bob@x.spam.example", false},
		{"*@*.spam.example", "bob@x.spam.example", true},
		{"*@*.spam.example", "bob@a.b.spam.example", true},
		{"*@*.spam.example", "bob@spam.example", false},
		{"*@*.spam.example", "bob@xspam.example", false},
		// "?" is exactly one character, also a multi-octet one
		{"b?b@x", "bob@x", true},
		{"b?b@x", "bb@x", false},
		{"b?b@x", "boob@x", false},
		{"b?b@x", "bäb@x", true},
		{"?", "ä", true},
		{"??", "ä", false},
		{"*?", "", false},
		{"*?", "x", true},
		{"?*?", "x", false},
		// several stars
		{"*", "", true},
		{"*", "anything@at.all", true},
		{"**", "x", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "acb", false},
		{"a*b*c", "abcb", false},
		{"*bob*", "x-bob-y@z", true},
		{"*bob*", "bo-b", false},
		{"news*@*", "newsletter@shop.example", true},
		{"news*@*", "news@", true},
		{"news*@*", "new@shop", false},
		{"*-bounce@*.example.com", "x-bounce@mail.example.com", true},
		{"*-bounce@*.example.com", "x-bounce@example.com", false},
		{"*a*a*a*a*b", strings.Repeat("a", 300), false},
		{"*a*a*a*a*b", strings.Repeat("a", 300) + "b", true},
		{"*a?a*", "aXa", true},
		{"*a?a*", "aa", false},
		{"a*a", "a", false},
		{"a*a", "aa", true},
		{"", "", true},
		{"", "x", false},
		// case folding beyond ASCII
		{"*@bücher.example", "x@BÜCHER.example", true},
	}
	for _, c := range cases {
		if got := Match(c.pattern, c.addr); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.addr, got, c.want)
		}
		if got := Compile(c.pattern).Match(c.addr); got != c.want {
			t.Errorf("Compile(%q).Match(%q) = %v, want %v", c.pattern, c.addr, got, c.want)
		}
		if ref := refMatch(c.pattern, c.addr); ref != c.want {
			t.Errorf("refMatch(%q, %q) = %v, want %v (bad test case)", c.pattern, c.addr, ref, c.want)
		}
	}
}

// TestMatchPathological: patterns that make backtracking matchers
// exponential stay fast here.
func TestMatchPathological(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", MaxEntryLen)
	pats := []string{
		"*a*a*a*a*b",
		strings.Repeat("*a", 100) + "*b",
		strings.Repeat("*?", 100) + "b",
		strings.Repeat("a*", 150) + "b",
		"*" + strings.Repeat("a", 150) + "b*",
		"*" + strings.Repeat("?", 150) + "b*",
	}
	for _, p := range pats {
		c := compile(p)
		start := time.Now()
		for range 100 {
			if c.match(long) {
				t.Fatalf("%q matched %d a's", p, len(long))
			}
		}
		// 100 runs; a backtracking matcher takes minutes on these.
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("%q: 100 matches took %v", p, d)
		}
	}
}

func TestValidEntry(t *testing.T) {
	t.Parallel()
	for _, e := range []string{"mail@immp.pro", "*@spam.example", "*@*.spam.example", "?", strings.Repeat("a", 320), "bücher@x"} {
		if err := ValidEntry(e); err != nil {
			t.Errorf("ValidEntry(%q) = %v", e, err)
		}
	}
	for _, e := range []string{"", strings.Repeat("a", 321), "a b@x", "a\tb", "a\x00", "a\x7f", "a\u0085", "\xff@x"} {
		if err := ValidEntry(e); !errors.Is(err, ErrInvalidEntry) {
			t.Errorf("ValidEntry(%q) = %v, want ErrInvalidEntry", e, err)
		}
	}
}

// FuzzMatch compares the fast matcher with the reference on valid UTF-8
// and checks it never panics on anything.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"mail@immp.pro", "mail@immp.pro"}, {"*@spam.example", "bob@spam.example"},
		{"*@*.spam.example", "bob@a.spam.example"}, {"b?b@x", "bäb@x"}, {"*a*a*a*a*b", "aaaaaaab"},
		{"a*b*c", "abcb"}, {"*?*?", "ä"}, {"?*@*.?", "x@y.z"}, {"", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 2*MaxEntryLen || len(s) > 2*MaxEntryLen {
			return // keep the reference's quadratic cost bounded
		}
		got := Match(pattern, s)
		if !utf8.ValidString(pattern) || !utf8.ValidString(s) {
			return // defined but unspecified; only "no panic" holds
		}
		if want := refMatch(pattern, s); got != want {
			t.Fatalf("Match(%q, %q) = %v, reference says %v", pattern, s, got, want)
		}
	})
}
