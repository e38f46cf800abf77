package throttle

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newTest(t *testing.T, o Options) (*Limiter, *clock) {
	t.Helper()
	c := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	o.Now = c.Now
	return New(o), c
}

var ipA = netip.MustParseAddr("192.0.2.1")
var ipB = netip.MustParseAddr("192.0.2.2")

func TestProgression(t *testing.T) {
	t.Parallel()
	l, _ := newTest(t, Options{Free: 3, Base: 100 * time.Millisecond, Max: time.Second})
	want := []time.Duration{0, 0, 0, 100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := l.Delay(ipA); got != w*time.Millisecond && !(w == 0 && got == 0) {
			t.Fatalf("after %d failures: delay %v, want %vms", i, got, w)
		}
		l.Failure(ipA)
	}
	if d := l.Delay(ipB); d != 0 {
		t.Fatalf("other address delayed %v", d)
	}
	l.Success(ipA)
	if d := l.Delay(ipA); d != 0 {
		t.Fatalf("after success delay %v", d)
	}
}

func TestForget(t *testing.T) {
	t.Parallel()
	l, c := newTest(t, Options{Free: 1, Base: time.Second, Max: 8 * time.Second, Forget: time.Minute})
	l.Failure(ipA)
	l.Failure(ipA)
	if d := l.Delay(ipA); d != 2*time.Second {
		t.Fatalf("delay %v", d)
	}
	c.Add(59 * time.Second)
	if d := l.Delay(ipA); d != 2*time.Second {
		t.Fatalf("delay before quiet period ends: %v", d)
	}
	c.Add(time.Second)
	if d := l.Delay(ipA); d != 0 {
		t.Fatalf("delay after quiet period: %v", d)
	}
	// A failure after the quiet period starts counting afresh.
	l.Failure(ipA)
	if d := l.Delay(ipA); d != time.Second {
		t.Fatalf("delay after fresh failure: %v", d)
	}
}

func TestIPv6Grouping(t *testing.T) {
	t.Parallel()
	l, _ := newTest(t, Options{Free: 1, Base: time.Second})
	l.Failure(netip.MustParseAddr("2001:db8:1:2::1"))
	if d := l.Delay(netip.MustParseAddr("2001:db8:1:2:ffff::9")); d != time.Second {
		t.Fatalf("same /64 not grouped: %v", d)
	}
	if d := l.Delay(netip.MustParseAddr("2001:db8:1:3::1")); d != 0 {
		t.Fatalf("other /64 delayed: %v", d)
	}
	l.Failure(netip.MustParseAddr("::ffff:192.0.2.1"))
	if d := l.Delay(ipA); d != time.Second {
		t.Fatalf("IPv4-mapped not unmapped: %v", d)
	}
}

func TestBoundedMemory(t *testing.T) {
	t.Parallel()
	l, c := newTest(t, Options{MaxEntries: 100, Forget: time.Minute})
	for i := 0; i < 1000; i++ {
		l.Failure(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
		c.Add(time.Millisecond)
	}
	if n := l.Len(); n > 100 {
		t.Fatalf("%d entries, cap 100", n)
	}
	// Expired keys are pruned before live ones are evicted.
	c.Add(2 * time.Minute)
	l.Failure(ipA)
	l.Failure(ipA)
	if n := l.Len(); n != 1 {
		t.Fatalf("%d entries after expiry, want 1", n)
	}
}

func TestWaitRespectsContextAndOthers(t *testing.T) {
	t.Parallel()
	l := New(Options{Free: 1, Base: 10 * time.Second})
	l.Failure(ipA)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- l.Wait(ctx, ipA) }()
	// Another client is not held up by the waiting one.
	if err := l.Wait(context.Background(), ipB); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 40*time.Millisecond {
		t.Fatalf("other client waited %v", time.Since(start))
	}
	if err := <-done; err != context.DeadlineExceeded {
		t.Fatalf("Wait: %v, want deadline exceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Wait ignored ctx: %v", el)
	}
}

func TestWaitDelays(t *testing.T) {
	t.Parallel()
	l := New(Options{Free: 1, Base: 30 * time.Millisecond})
	l.Failure(ipA)
	start := time.Now()
	if err := l.Wait(context.Background(), ipA); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 30*time.Millisecond {
		t.Fatalf("waited only %v", el)
	}
}

func TestNilLimiter(t *testing.T) {
	t.Parallel()
	var l *Limiter
	l.Failure(ipA)
	l.Success(ipA)
	if err := l.Wait(context.Background(), ipA); err != nil || l.Delay(ipA) != 0 || l.Len() != 0 {
		t.Fatal("nil limiter must be a no-op")
	}
}
