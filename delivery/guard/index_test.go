package guard

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// naiveMatch is what an index must answer: does any entry match?
func naiveMatch(entries []string, s string) bool {
	for _, e := range entries {
		if refMatch(e, s) {
			return true
		}
	}
	return false
}

// Small alphabets make collisions between entries and senders likely.
var (
	locals  = []string{"bob", "alice", "news", "x-bounce", "a", "b.b", "bäb", ""}
	domains = []string{"spam.example", "a.spam.example", "b.a.spam.example", "example.com",
		"mail.example.com", "x", "bücher.example", "", "."}
)

func randPart(r *rand.Rand, parts []string) string { return parts[r.IntN(len(parts))] }

// randWild replaces some characters of s with wildcards and inserts stars.
func randWild(r *rand.Rand, s string) string {
	var b strings.Builder
	for _, c := range s {
		switch r.IntN(10) {
		case 0:
			b.WriteByte('?')
		case 1:
			b.WriteByte('*')
		case 2:
			b.WriteRune(c)
			b.WriteByte('*')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

func randEntry(r *rand.Rand) string {
	l, d := randPart(r, locals), randPart(r, domains)
	switch r.IntN(6) {
	case 0:
		return l + "@" + d
	case 1:
		return "*@" + d
	case 2:
		return "*@*." + d
	case 3:
		return randWild(r, l+"@"+d)
	case 4:
		return "*" + randWild(r, l) + "*"
	default:
		return randWild(r, l) + "@" + randWild(r, d)
	}
}

func randSender(r *rand.Rand) string {
	s := randPart(r, locals) + "@" + randPart(r, domains)
	if r.IntN(8) == 0 {
		s = randPart(r, locals) + "@" + s // quoted-style "@" in the local part
	}
	if r.IntN(8) == 0 {
		s = randPart(r, []string{"sub.", "a.", "x"}) + s
	}
	return s
}

// TestIndexMatchesNaive: the index answers exactly what trying every
// entry with the reference matcher answers.
func TestIndexMatchesNaive(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		entries := make([]string, 1+r.IntN(12))
		for i := range entries {
			entries[i] = strings.ToLower(randEntry(r))
		}
		x := buildIndex(entries)
		for range 40 {
			s := strings.ToLower(randSender(r))
			if got, want := x.match(s), naiveMatch(entries, s); got != want {
				t.Fatalf("round %d: entries %q, sender %q: index %v, naive %v", round, entries, s, got, want)
			}
		}
	}
}

// TestIndexKinds checks where entries are filed, so that the fast paths
// really are taken.
func TestIndexKinds(t *testing.T) {
	t.Parallel()
	x := buildIndex([]string{
		"mail@immp.pro", "*@spam.example", "*@*.spam.example", "news*@*",
		"*-bounce@mail.example.com", "*spam*", strings.Repeat("p", 40) + "*", "a*b*c", "*.ru",
	})
	if len(x.exact) != 1 || len(x.domain) != 1 || len(x.subdomain) != 1 || len(x.scan) != 1 ||
		len(x.grams) != 2 || len(x.grams[0].pats) != 4 || len(x.grams[1].pats) != 1 || x.size != 9 {
		t.Fatalf("filed wrongly: exact %d domain %d subdomain %d grams %d scan %d",
			len(x.exact), len(x.domain), len(x.subdomain), len(x.grams), len(x.scan))
	}
	for s, want := range map[string]bool{
		"mail@immp.pro": true, "x@spam.example": true, "x@a.b.spam.example": true,
		"newsletter@shop": true, "a-bounce@mail.example.com": true, "myspamaddr@x": true,
		strings.Repeat("p", 45) + "@x": true, strings.Repeat("p", 39) + "@x": false,
		"axbyc": true, "x@y.ru": true, "x@ru": false, "ok@immp.pro": false, "x@ham.example.org": false, "a-bounce@example.com": false,
	} {
		if got := x.match(s); got != want {
			t.Errorf("match(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestIndexLarge: a big list with many entries sharing anchors still
// answers like a scan of every entry (with the matcher FuzzMatch checks
// against the reference), and the benchmark's senders are half blocked.
func TestIndexLarge(t *testing.T) {
	t.Parallel()
	entries := benchEntries(20000)
	x := buildIndex(entries)
	pats := make([]*pattern, len(entries))
	for i, e := range entries {
		pats[i] = compile(e)
	}
	blocked := 0
	senders := benchSenders(200, len(entries))
	for _, s := range senders {
		s = strings.ToLower(s)
		want := false
		for _, p := range pats {
			if p.match(s) {
				want = true
				break
			}
		}
		if want {
			blocked++
		}
		if got := x.match(s); got != want {
			t.Fatalf("sender %q: index %v, scan %v", s, got, want)
		}
	}
	if blocked < len(senders)*4/10 || blocked > len(senders)*6/10 {
		t.Errorf("%d of %d benchmark senders blocked, want about half", blocked, len(senders))
	}
}

// benchEntries makes n entries of every kind: 80% exact addresses, 8%
// "*@domain", 8% "*@*.domain", 4% general patterns (prefix-, suffix- and
// both-ends-wild), as a real list might look after a few years.
func benchEntries(n int) []string {
	out := make([]string, 0, n)
	for i := range n {
		switch k := i % 100; {
		case k < 80:
			out = append(out, fmt.Sprintf("spammer%d@host%d.example", i, i%997))
		case k < 88:
			out = append(out, fmt.Sprintf("*@bulk%d.example", i))
		case k < 96:
			out = append(out, fmt.Sprintf("*@*.farm%d.example", i))
		case k < 98:
			out = append(out, fmt.Sprintf("promo%d*@*", i))
		case k < 99:
			out = append(out, fmt.Sprintf("*-bounce%d@*.lists.example", i))
		default:
			if i%1000 == 99 { // a few that must be scanned for everyone
				out = append(out, fmt.Sprintf("*casino%d*", i))
			} else {
				out = append(out, fmt.Sprintf("?offer%d@*.example", i))
			}
		}
	}
	return out
}

// benchSenders makes n senders for a list of benchEntries(entries), of
// which about half are blocked, hitting every kind of entry.
func benchSenders(n, entries int) []string {
	out := make([]string, 0, n)
	for i := range n {
		b := i * 7919 % entries
		b -= b % 100
		switch i % 10 {
		case 0, 1:
			e := b + i%80
			out = append(out, fmt.Sprintf("Spammer%d@host%d.example", e, e%997)) // exact
		case 2:
			out = append(out, fmt.Sprintf("x%d@bulk%d.example", i, b+80)) // *@domain
		case 3:
			out = append(out, fmt.Sprintf("y@mx.a.farm%d.example", b+88)) // *@*.domain
		case 4:
			out = append(out, fmt.Sprintf("promo%dx@shop.example", b+96)) // prefix pattern
		default:
			out = append(out, fmt.Sprintf("friend%d@mail%d.example.org", i, i%50)) // allowed
		}
	}
	return out
}

// FuzzIndex compares the index with trying every entry with the reference
// matcher. The first argument is the list, one entry per line.
func FuzzIndex(f *testing.F) {
	f.Add("mail@immp.pro\n*@spam.example\n*@*.farm.example\nnews*@*\n*casino*\na*b", "x@a.farm.example")
	f.Add("*@\n*@*.\n?@?\n*@a@b", "x@a@b")
	f.Add("promo1*@*\n?offer2@*.example\n*-bounce3@*.lists.example", "a-bounce3@x.lists.example")
	f.Fuzz(func(t *testing.T, list, sender string) {
		if len(list) > 4096 || len(sender) > 2*MaxEntryLen || !utf8.ValidString(list) || !utf8.ValidString(sender) {
			return
		}
		var entries []string
		for e := range strings.SplitSeq(strings.ToLower(list), "\n") {
			if e != "" {
				entries = append(entries, e)
			}
		}
		s := strings.ToLower(sender)
		if got, want := buildIndex(entries).match(s), naiveMatch(entries, s); got != want {
			t.Fatalf("entries %q, sender %q: index %v, naive %v", entries, s, got, want)
		}
	})
}
