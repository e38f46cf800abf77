package throttle

import (
	"context"
	"errors"
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

// attempt begins an attempt that must not wait (the test clock's delays
// would be real sleeps).
func attempt(t *testing.T, l *Limiter, ip netip.Addr, account string) *Attempt {
	t.Helper()
	if d := l.Delay(ip, account); d != 0 {
		t.Fatalf("attempt from %v on %q would wait %v", ip, account, d)
	}
	a, err := l.Begin(context.Background(), ip, account)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestProgression(t *testing.T) {
	t.Parallel()
	l, _ := newTest(t, Options{Free: 3, Base: 100 * time.Millisecond, Max: time.Second})
	want := []time.Duration{0, 0, 0, 100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := l.Delay(ipA, ""); got != w*time.Millisecond {
			t.Fatalf("after %d failures: delay %v, want %vms", i, got, w)
		}
		l.Failure(ipA, "")
	}
	if d := l.Delay(ipB, ""); d != 0 {
		t.Fatalf("other address delayed %v", d)
	}
}

func TestForget(t *testing.T) {
	t.Parallel()
	l, c := newTest(t, Options{Free: 1, Base: time.Second, Max: 8 * time.Second, Forget: time.Minute})
	l.Failure(ipA, "")
	l.Failure(ipA, "")
	if d := l.Delay(ipA, ""); d != 2*time.Second {
		t.Fatalf("delay %v", d)
	}
	c.Add(59 * time.Second)
	if d := l.Delay(ipA, ""); d != 2*time.Second {
		t.Fatalf("delay before quiet period ends: %v", d)
	}
	c.Add(time.Second)
	if d := l.Delay(ipA, ""); d != 0 {
		t.Fatalf("delay after quiet period: %v", d)
	}
	// A failure after the quiet period starts counting afresh.
	l.Failure(ipA, "")
	if d := l.Delay(ipA, ""); d != time.Second {
		t.Fatalf("delay after fresh failure: %v", d)
	}
}

func TestIPv6Grouping(t *testing.T) {
	t.Parallel()
	l, _ := newTest(t, Options{Free: 1, Base: time.Second})
	l.Failure(netip.MustParseAddr("2001:db8:1:2::1"), "")
	if d := l.Delay(netip.MustParseAddr("2001:db8:1:2:ffff::9"), ""); d != time.Second {
		t.Fatalf("same /64 not grouped: %v", d)
	}
	if d := l.Delay(netip.MustParseAddr("2001:db8:1:3::1"), ""); d != 0 {
		t.Fatalf("other /64 delayed: %v", d)
	}
	l.Failure(netip.MustParseAddr("::ffff:192.0.2.1"), "")
	if d := l.Delay(ipA, ""); d != time.Second {
		t.Fatalf("IPv4-mapped not unmapped: %v", d)
	}
}

// Failures against one account from many addresses slow every address's
// attempts on it, up to AccountMax, and no other account's.
func TestAccountAcrossAddresses(t *testing.T) {
	t.Parallel()
	l, _ := newTest(t, Options{AccountFree: 5, AccountBase: 100 * time.Millisecond, AccountMax: 400 * time.Millisecond})
	for i := 0; i < 20; i++ {
		ip := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		if i >= 5 {
			want := min(100*time.Millisecond<<(i-5), 400*time.Millisecond)
			if d := l.Delay(ipA, "Alice@Example.org"); d != want {
				t.Fatalf("after %d failures from as many addresses: delay %v, want %v", i, d, want)
			}
		}
		l.Failure(ip, "alice@example.org ")
		if d := l.Delay(ip, "bob@example.org"); d != 0 {
			t.Fatalf("address with one failure delayed on another account: %v", d)
		}
	}
	if d := l.Delay(ipA, "bob@example.org"); d != 0 {
		t.Fatalf("other account delayed %v", d)
	}
}

// A success does not reset the account's failures (they came from
// everywhere), but waives the account's delay for the address that
// logged in.
func TestSuccessKeepsAccountFailures(t *testing.T) {
	t.Parallel()
	l, c := newTest(t, Options{AccountFree: 2, AccountBase: time.Second, TrustFor: time.Hour, Forget: 2 * time.Hour})
	owner := attempt(t, l, ipA, "alice@example.org")
	for i := 0; i < 4; i++ {
		l.Failure(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), "alice@example.org")
	}
	owner.Success()
	if d := l.Delay(ipB, "alice@example.org"); d != 2*time.Second {
		t.Fatalf("account delay after the owner's success, other address: %v", d)
	}
	if d := l.Delay(ipA, "ALICE@example.org"); d != 0 {
		t.Fatalf("owner's address still pays the account's delay: %v", d)
	}
	// The trust expires.
	c.Add(time.Hour)
	if d := l.Delay(ipA, "alice@example.org"); d != 2*time.Second {
		t.Fatalf("trust outlived TrustFor: %v", d)
	}
}

// An address's failures are forgotten on success only when they were all
// against the account that logged in.
func TestSuccessResetsOnlyOwnFailures(t *testing.T) {
	t.Parallel()
	l, _ := newTest(t, Options{Free: 2, Base: time.Second})
	// Mistyped once, then right: the failure is forgotten.
	l.Failure(ipA, "alice@example.org")
	attempt(t, l, ipA, "Alice@example.org").Success()
	l.Failure(ipA, "alice@example.org")
	if d := l.Delay(ipA, ""); d != 0 {
		t.Fatalf("own failure kept after success: delay %v", d)
	}
	// A guess at bob, then a login to one's own account: the guess at
	// bob still counts.
	l.Failure(ipB, "bob@example.org")
	attempt(t, l, ipB, "mallory@example.org").Success()
	l.Failure(ipB, "bob@example.org")
	if d := l.Delay(ipB, ""); d != time.Second {
		t.Fatalf("success on another account reset the guesses at bob: delay %v", d)
	}
	// Failures against two accounts, then a success on one of them: kept.
	l3, _ := newTest(t, Options{Free: 3, Base: time.Second})
	l3.Failure(ipA, "alice@example.org")
	l3.Failure(ipA, "carol@example.org")
	attempt(t, l3, ipA, "alice@example.org").Success()
	l3.Failure(ipA, "alice@example.org")
	if d := l3.Delay(ipA, ""); d != time.Second {
		t.Fatalf("success reset failures against several accounts: delay %v", d)
	}
}

// One address checks one credential at a time; another address is not
// held up; a turn not had within TurnWait is ErrBusy; turns are dropped
// when no attempt holds them.
func TestTurns(t *testing.T) {
	t.Parallel()
	l := New(Options{TurnWait: 50 * time.Millisecond})
	ctx := context.Background()
	first, err := l.Begin(ctx, ipA, "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := l.Begin(ctx, ipA, "bob@example.org"); !errors.Is(err, ErrBusy) {
		t.Fatalf("second attempt from the same address: %v, want ErrBusy", err)
	}
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Fatalf("ErrBusy after %v, before TurnWait", el)
	}
	other, err := l.Begin(ctx, ipB, "alice@example.org")
	if err != nil {
		t.Fatalf("other address held up: %v", err)
	}
	other.End()
	first.End()
	first.End() // idempotent

	// A waiter gets the turn as soon as the holder ends.
	l = New(Options{TurnWait: time.Minute})
	first, err = l.Begin(ctx, ipA, "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		second, err := l.Begin(ctx, ipA, "bob@example.org")
		if err == nil {
			second.Failure()
		}
		got <- err
	}()
	time.Sleep(20 * time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("second attempt did not wait for the turn: %v", err)
	default:
	}
	first.End()
	if err := <-got; err != nil {
		t.Fatalf("waiter: %v", err)
	}
	l.mu.Lock()
	n := len(l.turns)
	l.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d turns left with no attempt in progress", n)
	}
	// A cancelled wait gives up at once and leaves no turn behind.
	hold, _ := l.Begin(ctx, ipA, "")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Begin(cctx, ipA, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Begin: %v", err)
	}
	hold.End()
	l.mu.Lock()
	n = len(l.turns)
	l.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d turns left after a cancelled wait", n)
	}
}

// Parallel attempts from one address pay their delays one after the
// other (the delay is waited while the turn is held).
func TestDelaysSerialised(t *testing.T) {
	t.Parallel()
	l := New(Options{Free: 1, Base: 40 * time.Millisecond, Max: 40 * time.Millisecond})
	l.Failure(ipA, "")
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := l.Begin(context.Background(), ipA, "")
			if err != nil {
				t.Error(err)
				return
			}
			a.End()
		}()
	}
	wg.Wait()
	if el := time.Since(start); el < 120*time.Millisecond {
		t.Fatalf("3 attempts with a 40ms delay each took %v in parallel", el)
	}
}

func TestBoundedMemory(t *testing.T) {
	t.Parallel()
	l, c := newTest(t, Options{MaxEntries: 100, Forget: time.Minute, TrustFor: time.Minute})
	for i := 0; i < 1000; i++ {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		l.Failure(ip, "user"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		c.Add(time.Millisecond)
	}
	for i := 0; i < 300; i++ {
		ip := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		attempt(t, l, ip, "someone@example.org").Success()
	}
	if a, u := l.Len(); a > 100 || u > 100 {
		t.Fatalf("%d addresses, %d accounts, cap 100", a, u)
	}
	l.mu.Lock()
	n := len(l.trusted.m)
	l.mu.Unlock()
	if n > 100 {
		t.Fatalf("%d trusted pairs, cap 100", n)
	}
	// Expired keys are pruned before live ones are evicted.
	c.Add(2 * time.Minute)
	l.Failure(ipA, "x")
	l.Failure(ipA, "x")
	if a, u := l.Len(); a != 1 || u != 1 {
		t.Fatalf("%d addresses, %d accounts after expiry, want 1 and 1", a, u)
	}
}

func TestBeginRespectsContextAndOthers(t *testing.T) {
	t.Parallel()
	l := New(Options{Free: 1, Base: 10 * time.Second})
	l.Failure(ipA, "")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := l.Begin(ctx, ipA, "")
		done <- err
	}()
	// Another client is not held up by the waiting one.
	a, err := l.Begin(context.Background(), ipB, "")
	if err != nil {
		t.Fatal(err)
	}
	a.End()
	if time.Since(start) > 40*time.Millisecond {
		t.Fatalf("other client waited %v", time.Since(start))
	}
	if err := <-done; err != context.DeadlineExceeded {
		t.Fatalf("Begin: %v, want deadline exceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Begin ignored ctx: %v", el)
	}
	// The abandoned attempt gave its turn back.
	a, err = l.Begin(context.Background(), ipB, "")
	if err != nil {
		t.Fatal(err)
	}
	a.End()
	l.mu.Lock()
	n := len(l.turns)
	l.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d turns left", n)
	}
}

func TestBeginDelays(t *testing.T) {
	t.Parallel()
	l := New(Options{Free: 1, Base: 30 * time.Millisecond})
	l.Failure(ipA, "")
	start := time.Now()
	a, err := l.Begin(context.Background(), ipA, "")
	if err != nil {
		t.Fatal(err)
	}
	a.Failure()
	if el := time.Since(start); el < 30*time.Millisecond {
		t.Fatalf("waited only %v", el)
	}
}

func TestNilLimiter(t *testing.T) {
	t.Parallel()
	var l *Limiter
	l.Failure(ipA, "a")
	a, err := l.Begin(context.Background(), ipA, "a")
	a.Success()
	a.Failure()
	a.End()
	if n, m := l.Len(); err != nil || l.Delay(ipA, "a") != 0 || n != 0 || m != 0 {
		t.Fatal("nil limiter must be a no-op")
	}
}
