package address

import (
	"errors"
	"strings"
	"testing"
)

var testMapper = Mapper{Domains: []string{"example.org", "Immp.Pro."}, PlusSubinbox: true}

func TestMap(t *testing.T) {
	t.Parallel()
	ok := []struct {
		in       string
		plus     bool
		acct     string
		subinbox string
	}{
		// profile 9, draft 5.1 / 6.5.2
		{"alice@example.org", true, "alice@example.org", ""},
		{"work/alice@example.org", true, "alice@example.org", "work"},
		{"office/work/alice@example.org", true, "alice@example.org", "office/work"},
		{"alice+work@example.org", true, "alice@example.org", "work"},
		{"office/alice+work@example.org", true, "alice@example.org", "office/work"},
		{"mymail@immp.pro", true, "mymail@immp.pro", ""},
		// plus addressing off: "+" is part of the local part
		{"alice+work@example.org", false, "alice+work@example.org", ""},
		{"work/alice+x@example.org", false, "alice+x@example.org", "work"},
		// the detail is one component, from the first "+"
		{"alice+a+b@example.org", true, "alice@example.org", "a+b"},
		{"alice+@example.org", true, "alice@example.org", ""},
		{"alice+office/work@example.org", true, "work@example.org", "alice+office"},
		// case: local and domain fold, subinbox keeps its case
		{"Work/ALICE@Example.ORG", true, "alice@example.org", "Work"},
		{"alice@EXAMPLE.org.", true, "alice@example.org", ""},
		{"bob@immp.pro", true, "bob@immp.pro", ""},
		// brackets and source routes
		{"<work/alice@example.org>", true, "alice@example.org", "work"},
		{"<@relay.example,@r2.example:alice@example.org>", true, "alice@example.org", ""},
		// quoted local parts
		{`"alice"@example.org`, true, "alice@example.org", ""},
		{`"my box/alice"@example.org`, true, "alice@example.org", "my box"},
		{`"wo\"rk/alice"@example.org`, true, "alice@example.org", `wo"rk`},
		{`"john smith"@example.org`, true, `"john smith"@example.org`, ""},
		{`"a\\b"@example.org`, true, `"a\\b"@example.org`, ""},
		// INBOX as the whole subinbox is INBOX
		{"inbox/alice@example.org", true, "alice@example.org", ""},
		{"alice+INBOX@example.org", true, "alice@example.org", ""},
		// dots inside components are fine, UTF-8 too
		{"a.b/alice@example.org", true, "alice@example.org", "a.b"},
		{"...x/alice@example.org", true, "alice@example.org", "...x"},
		{"bücher/alice@example.org", true, "alice@example.org", "bücher"},
		{"first.last@example.org", true, "first.last@example.org", ""},
	}
	for _, c := range ok {
		m := testMapper
		m.PlusSubinbox = c.plus
		got, err := m.Map(c.in)
		if err != nil {
			t.Errorf("Map(%q) plus=%v: %v", c.in, c.plus, err)
			continue
		}
		if got.Account != c.acct || got.Subinbox != c.subinbox {
			t.Errorf("Map(%q) plus=%v = %+v, want {%s %s}", c.in, c.plus, got, c.acct, c.subinbox)
		}
	}

	long := strings.Repeat("a", 65)
	bad := []struct {
		in   string
		want error
	}{
		{"", ErrInvalid},
		{"<>", ErrInvalid},
		{"alice", ErrInvalid},
		{"alice@", ErrInvalid},
		{"@example.org", ErrInvalid},
		{"<alice@example.org", ErrInvalid},
		{"alice@example.org>", ErrInvalid},
		{"@relay.example alice@example.org", ErrInvalid},
		{"/alice@example.org", ErrInvalid},
		{"work//alice@example.org", ErrInvalid},
		{"work/@example.org", ErrInvalid},
		{"./alice@example.org", ErrInvalid},
		{"../alice@example.org", ErrInvalid},
		{"../../etc/alice@example.org", ErrInvalid},
		{"work/../alice@example.org", ErrInvalid},
		{"alice+..@example.org", ErrInvalid},
		{"alice+.@example.org", ErrInvalid},
		{"/alice+work@example.org", ErrInvalid},
		{"+work@example.org", ErrInvalid},
		{"work/INBOX/alice@example.org", ErrInvalid},
		{"inbox/alice+work@example.org", ErrInvalid},
		{"wo\x00rk/alice@example.org", ErrInvalid},
		{"wo\rk/alice@example.org", ErrInvalid},
		{"alice\n@example.org", ErrInvalid},
		{"wo\u0085rk/alice@example.org", ErrInvalid}, // C1 NEL
		{"wo\x7fk/alice@example.org", ErrInvalid},
		{"\xff/alice@example.org", ErrInvalid},
		{"al ice@example.org", ErrInvalid},
		{"a(b)@example.org", ErrInvalid},
		{".alice@example.org", ErrInvalid},
		{"alice.@example.org", ErrInvalid},
		{"al..ice@example.org", ErrInvalid},
		{`"unterminated@example.org`, ErrInvalid},
		{`"a"b@example.org`, ErrInvalid},
		{`"a\`, ErrInvalid},
		{`"a@b"@example.org`, ErrInvalid},
		{`""@example.org`, ErrInvalid},
		{long + "@example.org", ErrInvalid},
		{"w/" + long + "@example.org", ErrInvalid},
		{strings.Repeat("w", 256) + "/alice@example.org", ErrInvalid},
		{strings.Repeat("w/", 160) + "alice@example.org", ErrInvalid},
		{"alice@exa mple.org", ErrInvalid},
		{"alice@example.org@example.org", ErrInvalid},
		{"alice@.", ErrInvalid},
		{"alice@other.example", ErrNotLocal},
		{"work/alice@example.org.evil", ErrNotLocal},
		{"alice@[127.0.0.1]", ErrNotLocal},
	}
	for _, c := range bad {
		got, err := testMapper.Map(c.in)
		if !errors.Is(err, c.want) {
			t.Errorf("Map(%q) = %+v, %v; want %v", c.in, got, err, c.want)
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Reason == "" {
			t.Errorf("Map(%q): error %v is not an *Error with a reason", c.in, err)
		}
		if strings.Contains(err.Error(), c.in) && c.in != "" {
			t.Errorf("Map(%q): error text %q carries the address", c.in, err)
		}
	}
}

func TestMapNoDomains(t *testing.T) {
	t.Parallel()
	if _, err := (Mapper{}).Map("alice@example.org"); !errors.Is(err, ErrNotLocal) {
		t.Fatalf("zero Mapper: %v, want ErrNotLocal", err)
	}
	m := Mapper{Domains: []string{"[127.0.0.1]"}}
	if got, err := m.Map("alice@[127.0.0.1]"); err != nil || got.Account != "alice@[127.0.0.1]" {
		t.Fatalf("address literal domain: %+v, %v", got, err)
	}
}

func TestParseSender(t *testing.T) {
	t.Parallel()
	ok := []struct{ in, want string }{
		{"", ""},
		{"<>", ""},
		{"Bob@Spam.Example", "bob@spam.example"},
		{"<bob@spam.example.>", "bob@spam.example"},
		{`"Bob"@spam.example`, "bob@spam.example"},
		{`"b\ob"@spam.example`, "bob@spam.example"},
		{`"John Smith"@spam.example`, `"john smith"@spam.example`},
		{"<@relay:bob@spam.example>", "bob@spam.example"},
		{"work/bob+x@spam.example", "work/bob+x@spam.example"},
		{"first..last@spam.example", "first..last@spam.example"},
		{"x.@docomo.example", "x.@docomo.example"},
		{"X.@Docomo.Example.", "x.@docomo.example"},
	}
	for _, c := range ok {
		got, err := ParseSender(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseSender(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"bob", "bob@", "<bob@x", "b\x00b@x", `"bob@x`, "@x", "0@..", "a@b..c", strings.Repeat("a", 400) + "@x"} {
		if got, err := ParseSender(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseSender(%q) = %q, %v; want ErrInvalid", in, got, err)
		}
	}
}

func TestIsLocal(t *testing.T) {
	t.Parallel()
	for d, want := range map[string]bool{
		"example.org": true, "EXAMPLE.ORG.": true, "immp.pro": true, "immp.pro.": true,
		"sub.example.org": false, "": false, "org": false,
	} {
		if got := testMapper.IsLocal(d); got != want {
			t.Errorf("IsLocal(%q) = %v, want %v", d, got, want)
		}
	}
}

func TestMapAllocs(t *testing.T) {
	m := testMapper
	for _, a := range []string{"alice@example.org", "office/work/alice@example.org"} {
		if n := testing.AllocsPerRun(100, func() { m.Map(a) }); n != 0 {
			t.Errorf("Map(%q): %v allocations, want 0", a, n)
		}
	}
	if n := testing.AllocsPerRun(100, func() { ParseSender("bob@spam.example") }); n != 0 {
		t.Errorf("ParseSender: %v allocations, want 0", n)
	}
}

func BenchmarkMap(b *testing.B) {
	m := testMapper
	for i := 0; i < b.N; i++ {
		m.Map("office/work/alice@example.org")
	}
}

func BenchmarkParseSender(b *testing.B) {
	for i := 0; i < b.N; i++ {
		ParseSender("someone@mail.spam.example")
	}
}
