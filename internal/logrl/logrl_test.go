package logrl

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a manual clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// lines decodes JSON log output.
func lines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestBudgetAndSummary(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	var buf bytes.Buffer
	l := NewLimiter(Budget{Burst: 3, PerSecond: 1}, c.now)
	log := slog.New(Wrap(slog.NewJSONHandler(&buf, nil), l)).With("client", "192.0.2.1")
	for i := range 10 {
		log.Info("line", "i", i)
	}
	got := lines(t, &buf)
	if len(got) != 3 {
		t.Fatalf("%d lines passed, want the burst of 3: %v", len(got), got)
	}
	c.add(1500 * time.Millisecond) // one token back (and a half)
	log.Info("after")
	got = lines(t, &buf)
	if len(got) != 5 || got[3]["msg"] != "7 lines suppressed" || got[3]["suppressed"] != float64(7) ||
		got[3]["level"] != "WARN" || got[3]["client"] != "192.0.2.1" || got[4]["msg"] != "after" {
		t.Fatalf("got %v", got)
	}
	// Dropped again, then the source ends: Flush reports them.
	log.Info("dropped")
	log.With("user", "x").Info("dropped too") // derived: same count
	buf.Reset()
	Flush(context.Background(), log)
	got = lines(t, &buf)
	if len(got) != 1 || got[0]["msg"] != "2 lines suppressed" {
		t.Fatalf("flush: %v", got)
	}
	buf.Reset()
	Flush(context.Background(), log)
	if buf.Len() != 0 {
		t.Fatalf("second flush wrote %q", buf.String())
	}
	// Level filtering happens before the budget: debug lines cost nothing.
	c.add(time.Hour)
	buf.Reset()
	for range 100 {
		log.Debug("filtered")
	}
	log.Info("a")
	log.Info("b")
	log.Info("c")
	if got := lines(t, &buf); len(got) != 3 {
		t.Fatalf("after debug lines: %v", got)
	}
}

// A record passes only when every limiter has a token; a limiter that
// had one gets it back when another refuses.
func TestConnAndAddrLimiters(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	addrs := NewAddrs(Budget{Burst: 5, PerSecond: 0}, 0, c.now)
	ip := netip.MustParseAddr("2001:db8::1")
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, nil)
	conn1 := NewLimiter(Budget{Burst: 3}, c.now)
	log1 := slog.New(Wrap(h, conn1, addrs.Get(ip)))
	log2 := slog.New(Wrap(h, NewLimiter(Budget{Burst: 3}, c.now), addrs.Get(netip.MustParseAddr("2001:db8::2"))))
	for range 4 {
		log1.Info("one")
	}
	for range 4 {
		log2.Info("two") // same /64: the address budget has 2 left
	}
	got := lines(t, &buf)
	if len(got) != 5 {
		t.Fatalf("%d lines, want 5 (3 from one, 2 from two): %v", len(got), got)
	}
	// conn1 had 0 left; a third address gets its own budget.
	log3 := slog.New(Wrap(h, NewLimiter(Budget{Burst: 3}, c.now), addrs.Get(netip.MustParseAddr("192.0.2.9"))))
	log3.Info("three")
	if got := lines(t, &buf); len(got) != 6 {
		t.Fatalf("%d lines", len(got))
	}
	// Refused by the address, the connection keeps its token.
	conn4 := NewLimiter(Budget{Burst: 1}, c.now)
	log4 := slog.New(Wrap(h, conn4, addrs.Get(ip)))
	log4.Info("refused by the address")
	if !conn4.take() {
		t.Fatal("the connection's token was spent on a refused record")
	}
}

// The table is bounded; a flood of new addresses shares one overflow
// budget; full buckets are forgotten.
func TestAddrsBounded(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	a := NewAddrs(Budget{Burst: 2, PerSecond: 1}, 4, c.now)
	var ls []*Limiter
	for i := range 4 {
		l := a.Get(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}))
		l.take()
		ls = append(ls, l)
	}
	over := a.Get(netip.MustParseAddr("198.51.100.1"))
	if a.Len() != 4 || over != a.Get(netip.MustParseAddr("198.51.100.2")) {
		t.Fatalf("len %d; overflow not shared", a.Len())
	}
	if a.Get(netip.AddrFrom4([4]byte{192, 0, 2, 0})) != ls[0] {
		t.Fatal("a held address lost its limiter")
	}
	c.add(5 * time.Second) // every bucket full again: forgettable
	fresh := a.Get(netip.MustParseAddr("198.51.100.3"))
	if fresh == over || a.Len() != 1 {
		t.Fatalf("len %d after the buckets refilled", a.Len())
	}
	// IPv4-mapped is the same address.
	if a.Get(netip.MustParseAddr("::ffff:198.51.100.3")) != fresh {
		t.Fatal("mapped address got another limiter")
	}
}

// Concurrent sources on one address: exactly the budget passes, and every
// dropped record is reported once.
func TestConcurrentExactCount(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	var mu sync.Mutex
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&lockedWriter{mu: &mu, w: &buf}, nil)
	addrs := NewAddrs(Budget{Burst: 50}, 0, c.now)
	ip := netip.MustParseAddr("192.0.2.1")
	var wg sync.WaitGroup
	var hs []*Handler
	for range 8 {
		hh := Wrap(h, NewLimiter(Budget{Burst: 1000}, c.now), addrs.Get(ip))
		hs = append(hs, hh)
		wg.Add(1)
		go func() {
			defer wg.Done()
			log := slog.New(hh)
			for range 100 {
				log.Info("x")
			}
		}()
	}
	wg.Wait()
	for _, hh := range hs {
		hh.Flush(context.Background())
	}
	passed, suppressed := 0, 0
	for _, l := range lines(t, &buf) {
		if n, ok := l["suppressed"]; ok {
			suppressed += int(n.(float64))
		} else {
			passed++
		}
	}
	if passed != 50 || suppressed != 750 {
		t.Fatalf("passed %d suppressed %d, want 50 and 750", passed, suppressed)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
