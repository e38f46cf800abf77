package maildir

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// authOK logs in and fails the test unless it worked; it returns how many
// password hash computations the login made.
func authOK(t *testing.T, s *Store, addr, pw string) int64 {
	t.Helper()
	before := s.hashers.runs.Load()
	if _, err := s.Authenticate(context.Background(), addr, pw); err != nil {
		t.Fatalf("Authenticate(%s, %q): %v", addr, pw, err)
	}
	return s.hashers.runs.Load() - before
}

// authFails logs in and fails the test unless it was refused with
// ErrAuthFailed; it returns how many hash computations the refusal made.
func authFails(t *testing.T, s *Store, addr, pw string) int64 {
	t.Helper()
	before := s.hashers.runs.Load()
	if _, err := s.Authenticate(context.Background(), addr, pw); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("Authenticate(%s, %q): %v, want ErrAuthFailed", addr, pw, err)
	}
	return s.hashers.runs.Load() - before
}

// A second login with a verified password skips the hash; a wrong
// password after it still fails, costs a hash, and is not cached; the
// password is not kept in the cache.
func TestAuthCacheHit(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true})
	if _, err := s.AddAccount(context.Background(), "alice@example.org", "right one"); err != nil {
		t.Fatal(err)
	}
	if n := authOK(t, s, "alice@example.org", "right one"); n != 1 {
		t.Fatalf("first login made %d hash computations, want 1", n)
	}
	for _, addr := range []string{"alice@example.org", " ALICE@example.org"} {
		if n := authOK(t, s, addr, "right one"); n != 0 {
			t.Fatalf("cached login as %q made %d hash computations, want 0", addr, n)
		}
	}
	for _, pw := range []string{"right On", "right one ", "wrong"} {
		if n := authFails(t, s, "alice@example.org", pw); n != 1 {
			t.Fatalf("wrong password %q made %d hash computations, want 1", pw, n)
		}
	}
	if n := s.authCache.len(); n != 1 {
		t.Fatalf("%d cache entries after one right and three wrong passwords, want 1", n)
	}
	s.authCache.mu.Lock()
	dump := fmt.Sprintf("%+v", s.authCache.m)
	s.authCache.mu.Unlock()
	if strings.Contains(dump, "right one") {
		t.Fatal("the cache holds the password")
	}
	// Unknown accounts are never cached either.
	authFails(t, s, "nobody@example.org", "x")
	authFails(t, s, "nobody@example.org", "x")
	if n := s.authCache.len(); n != 1 {
		t.Fatalf("%d cache entries after unknown accounts, want 1", n)
	}
}

// A password change or a deletion by another process (the CLI writes the
// database while the server runs) ends the cached entry's use.
func TestAuthCacheOtherProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	server := openStore(t, Options{DataDir: dir, NoSync: true})
	cli := openStore(t, Options{DataDir: dir, NoSync: true})
	ctx := context.Background()
	if _, err := cli.AddAccount(ctx, "alice@example.org", "old"); err != nil {
		t.Fatal(err)
	}
	authOK(t, server, "alice@example.org", "old")
	if n := authOK(t, server, "alice@example.org", "old"); n != 0 {
		t.Fatalf("not cached: %d hash computations", n)
	}

	if err := cli.SetPassword(ctx, "alice@example.org", "new"); err != nil {
		t.Fatal(err)
	}
	authFails(t, server, "alice@example.org", "old")
	if n := authOK(t, server, "alice@example.org", "new"); n != 1 {
		t.Fatalf("new password: %d hash computations, want 1", n)
	}
	// Setting the same password again makes a new salt, so a new hash:
	// the entry is verified afresh.
	if err := cli.SetPassword(ctx, "alice@example.org", "new"); err != nil {
		t.Fatal(err)
	}
	if n := authOK(t, server, "alice@example.org", "new"); n != 1 {
		t.Fatalf("after passwd to the same password: %d hash computations, want 1", n)
	}

	if err := cli.DeleteAccount(ctx, "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	authFails(t, server, "alice@example.org", "new")
	// A new account under the same address and password is verified
	// afresh too (new hash).
	if _, err := cli.AddAccount(ctx, "alice@example.org", "new"); err != nil {
		t.Fatal(err)
	}
	if n := authOK(t, server, "alice@example.org", "new"); n != 1 {
		t.Fatalf("recreated account: %d hash computations, want 1", n)
	}
}

// An entry is used for at most the TTL after its verification, hits or
// not; with a negative TTL nothing is cached.
func TestAuthCacheTTL(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true, AuthCacheTTL: time.Minute})
	var mu sync.Mutex
	now := time.Now()
	s.authCache.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	if _, err := s.AddAccount(context.Background(), "alice@example.org", "pw"); err != nil {
		t.Fatal(err)
	}
	authOK(t, s, "alice@example.org", "pw")
	advance(59 * time.Second)
	if n := authOK(t, s, "alice@example.org", "pw"); n != 0 {
		t.Fatalf("within the TTL: %d hash computations", n)
	}
	advance(time.Second)
	if n := authOK(t, s, "alice@example.org", "pw"); n != 1 {
		t.Fatalf("past the TTL (a hit must not refresh the entry): %d hash computations, want 1", n)
	}

	off := openStore(t, Options{NoSync: true, AuthCacheTTL: -1})
	if _, err := off.AddAccount(context.Background(), "alice@example.org", "pw"); err != nil {
		t.Fatal(err)
	}
	authOK(t, off, "alice@example.org", "pw")
	if n := authOK(t, off, "alice@example.org", "pw"); n != 1 || off.authCache != nil {
		t.Fatalf("cache off: %d hash computations, want 1", n)
	}
}

// The cache holds at most max entries, dropping the oldest.
func TestAuthCacheBounded(t *testing.T) {
	t.Parallel()
	c, err := newAuthCache(time.Hour, 3)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c.now = func() time.Time { return now }
	for i := range 10 {
		now = now.Add(time.Second)
		c.put(fmt.Sprintf("u%d@example.org", i), "pw", "h")
		if n := c.len(); n > 3 {
			t.Fatalf("%d entries, max 3", n)
		}
	}
	for i := range 10 {
		if got, want := c.hit(fmt.Sprintf("u%d@example.org", i), "pw", "h"), i >= 7; got != want {
			t.Fatalf("entry %d: hit %v, want %v (the newest three kept)", i, got, want)
		}
	}
}

// The gate lets at most n computations run at once; a caller that waits
// longer than the wait gets ErrAuthBusy, and a cancelled one its ctx's
// error.
func TestHashGate(t *testing.T) {
	t.Parallel()
	g := newHashGate(2, 10*time.Second)
	var cur, peak atomic.Int32
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := g.run(context.Background(), func() {
				n := cur.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(5 * time.Millisecond)
				cur.Add(-1)
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak concurrency %d, want 2", p)
	}
	if n := g.runs.Load(); n != 12 {
		t.Fatalf("%d runs counted, want 12", n)
	}

	g = newHashGate(1, 30*time.Millisecond)
	g.slots <- struct{}{} // the one slot is taken
	start := time.Now()
	if err := g.run(context.Background(), func() { t.Error("ran without a slot") }); !errors.Is(err, ErrAuthBusy) {
		t.Fatalf("full gate: %v, want ErrAuthBusy", err)
	}
	if el := time.Since(start); el < 30*time.Millisecond {
		t.Fatalf("gave up after %v, before the wait", el)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.run(ctx, func() { t.Error("ran without a slot") }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// Every way of checking a password goes through the gate (a wrong
// password, an unknown account, a malformed address: each costs a hash),
// and fails with ErrAuthBusy when no slot frees up; a cached login needs
// no slot.
func TestAuthenticateBusy(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true, PasswordHashers: 1, PasswordHashWait: 20 * time.Millisecond})
	ctx := context.Background()
	if _, err := s.AddAccount(ctx, "alice@example.org", "pw"); err != nil {
		t.Fatal(err)
	}
	authOK(t, s, "alice@example.org", "pw")
	s.hashers.slots <- struct{}{} // a long computation holds the slot
	for _, c := range [][2]string{{"alice@example.org", "wrong"}, {"nobody@example.org", "pw"}, {"not an address", "pw"}, {"alice@example.org", ""}} {
		if _, err := s.Authenticate(ctx, c[0], c[1]); !errors.Is(err, ErrAuthBusy) {
			t.Errorf("Authenticate(%q, %q) with no free slot: %v, want ErrAuthBusy", c[0], c[1], err)
		}
	}
	if err := s.SetPassword(ctx, "alice@example.org", "other"); !errors.Is(err, ErrAuthBusy) {
		t.Errorf("SetPassword with no free slot: %v, want ErrAuthBusy", err)
	}
	if n := authOK(t, s, "alice@example.org", "pw"); n != 0 {
		t.Fatalf("cached login made %d computations", n)
	}
	<-s.hashers.slots
	authFails(t, s, "alice@example.org", "wrong")
}
