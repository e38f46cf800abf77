package address

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzMap checks the invariants of Map on any input: no panic; an error is
// ErrInvalid or ErrNotLocal; on success the account is lower-cased
// "local@domain" with exactly one "@" and a local domain, and every
// subinbox component is valid by profile 5, so it names nothing outside
// the account's INBOX tree.
func FuzzMap(f *testing.F) {
	for _, s := range []string{
		"alice@example.org", "work/alice@example.org", "office/work/alice@example.org",
		"alice+work@example.org", "office/alice+work@example.org", "mymail@immp.pro",
		"office/work/mymail@immp.pro", "<work/alice@example.org>", "<@a,@b:alice@example.org>",
		`"my box/alice"@example.org`, `"a\"b"@example.org`, "../alice@example.org",
		"alice+..@example.org", "wo\x00rk/alice@example.org", "inbox/alice@example.org",
		"ALICE@EXAMPLE.ORG.", "alice@other.example", "bücher/alice@example.org",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, plus bool) {
		m := Mapper{Domains: []string{"example.org", "immp.pro"}, PlusSubinbox: plus}
		got, err := m.Map(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNotLocal) {
				t.Fatalf("Map(%q): untyped error %v", s, err)
			}
			if got != (Target{}) {
				t.Fatalf("Map(%q): non-zero target %+v with error", s, got)
			}
			return
		}
		if strings.Count(got.Account, "@") != 1 {
			t.Fatalf("Map(%q): account %q has not exactly one @", s, got.Account)
		}
		local, domain, _ := strings.Cut(got.Account, "@")
		if local == "" || !m.IsLocal(domain) || got.Account != strings.ToLower(got.Account) {
			t.Fatalf("Map(%q): bad account %q", s, got.Account)
		}
		if got.Subinbox == "" {
			return
		}
		if strings.EqualFold(got.Subinbox, "INBOX") {
			t.Fatalf("Map(%q): subinbox %q should have been INBOX", s, got.Subinbox)
		}
		for _, c := range strings.Split(got.Subinbox, "/") {
			if c == "" || c == "." || c == ".." || len(c) > MaxComponentLen ||
				strings.EqualFold(c, "INBOX") || !utf8.ValidString(c) ||
				strings.IndexFunc(c, unicode.IsControl) >= 0 {
				t.Fatalf("Map(%q): bad subinbox component %q in %q", s, c, got.Subinbox)
			}
		}
		// The mapping is stable: the canonical address maps the same way.
		again, err := m.Map(got.Subinbox + "/" + got.Account)
		if err == nil && again != got && !strings.Contains(got.Subinbox, " ") {
			t.Fatalf("Map(%q) = %+v but its canonical form maps to %+v", s, got, again)
		}
	})
}

// FuzzParseSender: no panic, typed errors, idempotent on success.
func FuzzParseSender(f *testing.F) {
	for _, s := range []string{"", "<>", "bob@spam.example", `"Bob"@x.example`, "<@r:b@x.>", "a..b@x", "b\x00@x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSender(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseSender(%q): untyped error %v", s, err)
			}
			return
		}
		if got != strings.ToLower(got) {
			t.Fatalf("ParseSender(%q) = %q not lower-cased", s, got)
		}
		if again, err := ParseSender(got); err != nil || again != got {
			t.Fatalf("ParseSender(%q) = %q, but again %q, %v", s, got, again, err)
		}
	})
}
