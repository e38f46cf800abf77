package guard

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/immp-mail/immp/delivery/address"
	"github.com/immp-mail/immp/internal/foldername"
	"github.com/immp-mail/immp/internal/metrics"
	"github.com/immp-mail/immp/maildir"
)

var testMapper = address.Mapper{Domains: []string{"example.org"}, PlusSubinbox: true}

func openStore(t testing.TB, dir string) *maildir.Store {
	t.Helper()
	s, err := maildir.Open(context.Background(), maildir.Options{DataDir: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func addAccount(t testing.TB, s *maildir.Store, addr string, entries ...string) maildir.Account {
	t.Helper()
	ctx := context.Background()
	a, err := s.AddAccount(ctx, addr, "secret")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := s.AddEntry(ctx, a, addr, e); err != nil { // default agent (profile 7)
			t.Fatal(err)
		}
	}
	return a
}

func newGuard(t testing.TB, s *maildir.Store, stale time.Duration) *Guard {
	t.Helper()
	g, err := New(Options{Store: s, Mapper: testMapper, MaxStaleness: stale})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func expect(t *testing.T, g *Guard, sender, rcpt string, want Verdict) {
	t.Helper()
	got, err := g.Verify(context.Background(), sender, rcpt)
	if err != nil || got != want {
		t.Fatalf("Verify(%q, %q) = %v, %v; want %v", sender, rcpt, got, err, want)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	alice := addAccount(t, s, "alice@example.org", "Mail@Immp.Pro", "*@spam.example", "*@*.farm.example", "b?b@x.example")
	if err := s.AddAgent(ctx, alice, "Work"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEntry(ctx, alice, "work", "boss*@*"); err != nil {
		t.Fatal(err)
	}
	addAccount(t, s, "bob@example.org", "*")
	g := newGuard(t, s, time.Hour)

	for _, c := range []struct {
		sender, rcpt string
		want         Verdict
	}{
		{"mail@immp.pro", "alice@example.org", Blocked},
		{"MAIL@IMMP.PRO", "Alice@Example.Org", Blocked},
		{"<mail@immp.pro.>", "alice@example.org", Blocked},
		{`"mail"@immp.pro`, "alice@example.org", Blocked},
		{"mail@immp.pro", "office/work/alice@example.org", Blocked},
		{"mail@immp.pro", "alice+work@example.org", Blocked},
		{"x@spam.example", "alice@example.org", Blocked},
		{"x@a.b.farm.example", "alice@example.org", Blocked},
		{"x@farm.example", "alice@example.org", Allowed},
		{"bob@x.example", "alice@example.org", Blocked},
		{"boob@x.example", "alice@example.org", Allowed},
		{"bossy@corp.example", "alice@example.org", Blocked}, // second agent
		{"friend@immp.pro", "alice@example.org", Allowed},
		{"", "alice@example.org", Allowed},
		{"<>", "alice@example.org", Allowed},
		{"", "bob@example.org", Allowed}, // null sender beats "*"
		{"friend@immp.pro", "bob@example.org", Blocked},
		{"not an address", "bob@example.org", Blocked}, // malformed senders still match
		{"friend@immp.pro", "carol@example.org", NoSuchAccount},
		{"", "carol@example.org", NoSuchAccount},
		{"friend@immp.pro", "alice@other.example", NoSuchAccount},
		{"friend@immp.pro", "../alice@example.org", NoSuchAccount},
		{"friend@immp.pro", "", NoSuchAccount},
	} {
		got, err := g.Verify(ctx, c.sender, c.rcpt)
		if err != nil || got != c.want {
			t.Errorf("Verify(%q, %q) = %v, %v; want %v", c.sender, c.rcpt, got, err, c.want)
		}
	}
}

// TestInvalidate: changes made through the store are seen by the next
// verdict after Invalidate, even with a long MaxStaleness, and are not
// seen before it (no SQLite per verdict).
func TestInvalidate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	alice := addAccount(t, s, "alice@example.org")
	g := newGuard(t, s, time.Hour)
	const spammer = "x@spam.example"

	expect(t, g, spammer, "alice@example.org", Allowed)
	if err := s.AddEntry(ctx, alice, "alice@example.org", "*@SPAM.example"); err != nil {
		t.Fatal(err)
	}
	expect(t, g, spammer, "alice@example.org", Allowed) // cached view, within MaxStaleness
	g.Invalidate()
	expect(t, g, spammer, "alice@example.org", Blocked)

	if err := s.DeleteEntry(ctx, alice, "alice@example.org", "*@spam.EXAMPLE"); err != nil {
		t.Fatal(err)
	}
	g.Invalidate()
	expect(t, g, spammer, "alice@example.org", Allowed)

	if err := s.AddAgent(ctx, alice, "lists"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEntry(ctx, alice, "lists", spammer); err != nil {
		t.Fatal(err)
	}
	g.Invalidate()
	expect(t, g, spammer, "work/alice@example.org", Blocked)
	if err := s.DeleteAgent(ctx, alice, "LISTS"); err != nil {
		t.Fatal(err)
	}
	g.Invalidate()
	expect(t, g, spammer, "alice@example.org", Allowed)

	// Accounts: a cached unknown account appears, a deleted one goes.
	expect(t, g, spammer, "carol@example.org", NoSuchAccount)
	addAccount(t, s, "carol@example.org")
	g.Invalidate()
	expect(t, g, spammer, "carol@example.org", Allowed)
	if err := s.DeleteAccount(ctx, "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	g.Invalidate()
	expect(t, g, spammer, "alice@example.org", NoSuchAccount)
	expect(t, g, "", "alice@example.org", NoSuchAccount)
}

// TestOtherProcess: a change made through another Store on the same data
// directory (as the CLI does while the server runs) is seen within
// MaxStaleness without Invalidate.
func TestOtherProcess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	addAccount(t, s, "alice@example.org")
	const stale = 50 * time.Millisecond
	g := newGuard(t, s, stale)
	expect(t, g, "x@spam.example", "alice@example.org", Allowed)

	other := openStore(t, dir)
	alice, err := other.Account(ctx, "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.AddEntry(ctx, alice, "alice@example.org", "*@spam.example"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(stale + 10*time.Millisecond)
	expect(t, g, "x@spam.example", "alice@example.org", Blocked)

	if err := other.DeleteAccount(ctx, "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(stale + 10*time.Millisecond)
	expect(t, g, "x@spam.example", "alice@example.org", NoSuchAccount)
}

// TestUndecided: when the store cannot answer, Verify says so with an
// error instead of a verdict.
func TestUndecided(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir())
	addAccount(t, s, "alice@example.org")
	m := metrics.New()
	g, err := New(Options{Store: s, Mapper: testMapper, Metrics: m, MaxStaleness: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, g, "x@spam.example", "alice@example.org", Allowed)
	s.Close()
	g.Invalidate()
	if v, err := g.Verify(context.Background(), "x@spam.example", "alice@example.org"); err == nil {
		t.Fatalf("Verify on a closed store = %v, nil; want an error", v)
	}
	if _, err := New(Options{Mapper: testMapper}); err == nil {
		t.Fatal("New without a store: no error")
	}
	got := map[string]float64{}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "immp_spamguard_verdicts_total" {
			continue
		}
		for _, c := range mf.GetMetric() {
			got[c.GetLabel()[0].GetValue()] = c.GetCounter().GetValue()
		}
	}
	if len(got) != 2 || got["allowed"] != 1 || got["undecided"] != 1 {
		t.Fatalf("verdict counters %v, want allowed 1, undecided 1", got)
	}
}

// TestConcurrent: verdicts race with changes and invalidations (run with
// -race); once the writer is done, every verdict reflects the final state.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	alice := addAccount(t, s, "alice@example.org")
	g := newGuard(t, s, time.Millisecond)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := g.Verify(ctx, "x@spam.example", "alice@example.org"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range 20 {
		if err := s.AddEntry(ctx, alice, "alice@example.org", "*@spam.example"); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			g.Invalidate()
		}
		if err := s.DeleteEntry(ctx, alice, "alice@example.org", "*@spam.example"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddEntry(ctx, alice, "alice@example.org", "*@spam.example"); err != nil {
		t.Fatal(err)
	}
	g.Invalidate()
	close(stop)
	wg.Wait()
	expect(t, g, "x@spam.example", "alice@example.org", Blocked)
}

// TestNegativeCacheBounded: unknown recipients do not grow the cache
// without bound.
func TestNegativeCacheBounded(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir())
	g := newGuard(t, s, time.Hour)
	g.maxNeg = 50
	ctx := context.Background()
	for i := range 2*int(g.maxNeg) + 10 {
		if v, err := g.Verify(ctx, "", "u"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+itoa(i)+"@example.org"); err != nil || v != NoSuchAccount {
			t.Fatalf("%d: %v, %v", i, v, err)
		}
	}
	n := 0
	g.view.Load().accounts.Range(func(_, _ any) bool { n++; return true })
	r := 0
	g.view.Load().rcpts.Range(func(_, _ any) bool { r++; return true })
	if n > int(g.maxNeg) || r > int(g.maxNeg) {
		t.Fatalf("%d unknown accounts and %d recipients cached, bound %d", n, r, g.maxNeg)
	}
}

func itoa(i int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}

// TestMapperAgreesWithMaildir: every subinbox the address mapper returns
// is a valid subinbox name for the mailbox layer, in the same address
// form, and every plain account it returns is canonical there.
func TestMapperAgreesWithMaildir(t *testing.T) {
	t.Parallel()
	for _, a := range []string{
		"alice@example.org", "work/alice@example.org", "office/work/alice@example.org",
		"alice+work@example.org", "office/alice+work@example.org", "Bücher/ALICE@example.org",
		`"my box/alice"@example.org`, "inbox/alice@example.org", "a.b/alice@example.org",
		"...x/alice@example.org", "first.last+x@example.org",
	} {
		tg, err := testMapper.Map(a)
		if err != nil {
			t.Fatalf("Map(%q): %v", a, err)
		}
		if c, err := maildir.CanonicalAddress(tg.Account); err != nil || c != tg.Account {
			t.Errorf("Map(%q) account %q: maildir says %q, %v", a, tg.Account, c, err)
		}
		comps, err := foldername.ParseSubinbox(tg.Subinbox)
		if err != nil {
			t.Errorf("Map(%q) subinbox %q: the name rules say %v", a, tg.Subinbox, err)
			continue
		}
		if got := foldername.AddressName(comps); got != tg.Subinbox {
			t.Errorf("Map(%q) subinbox %q: the name rules read it as %q", a, tg.Subinbox, got)
		}
	}
	if _, err := testMapper.Map("x@example.org"); errors.Is(err, address.ErrInvalid) {
		t.Fatal("unexpected")
	}
}
