package throttle

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// Options tune a Limiter; zero fields take the defaults noted.
type Options struct {
	Free       int           // failures without any delay (default 3)
	Base       time.Duration // first delay after Free failures (default 500ms)
	Max        time.Duration // cap on one delay (default 5s)
	Forget     time.Duration // quiet period after which a key is reset (default 15m)
	MaxEntries int           // most keys tracked at once (default 10000)
	// Now is the clock (default time.Now); tests inject their own.
	Now func() time.Time
}

// Limiter tracks recent login failures per remote address. A nil *Limiter
// never delays, so servers can leave it unset.
type Limiter struct {
	opts Options

	mu        sync.Mutex
	entries   map[netip.Addr]entry
	lastPrune time.Time
}

type entry struct {
	failures int
	last     time.Time
}

// New returns a Limiter with opts' zero fields set to their defaults.
func New(opts Options) *Limiter {
	if opts.Free <= 0 {
		opts.Free = 3
	}
	if opts.Base <= 0 {
		opts.Base = 500 * time.Millisecond
	}
	if opts.Max <= 0 {
		opts.Max = 5 * time.Second
	}
	if opts.Max < opts.Base {
		opts.Max = opts.Base
	}
	if opts.Forget <= 0 {
		opts.Forget = 15 * time.Minute
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Limiter{opts: opts, entries: make(map[netip.Addr]entry)}
}

// key groups addresses: IPv4 (and IPv4-mapped IPv6) by address, IPv6 by
// its /64, zones dropped.
func key(ip netip.Addr) netip.Addr {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, err := ip.Prefix(64)
		if err == nil {
			return p.Addr()
		}
	}
	return ip
}

// Delay is how long the next attempt from ip must wait now.
func (l *Limiter) Delay(ip netip.Addr) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[key(ip)]
	if !ok {
		return 0
	}
	now := l.opts.Now()
	if now.Sub(e.last) >= l.opts.Forget {
		return 0
	}
	return l.delayFor(e.failures)
}

func (l *Limiter) delayFor(failures int) time.Duration {
	if failures < l.opts.Free {
		return 0
	}
	d := l.opts.Base
	for i := l.opts.Free; i < failures; i++ {
		d *= 2
		if d >= l.opts.Max {
			return l.opts.Max
		}
	}
	return d
}

// Wait blocks the calling connection for Delay(ip), returning ctx's error
// if ctx is done first. Call it before checking credentials, so that a
// guesser pays the delay whether the guess is right or wrong.
func (l *Limiter) Wait(ctx context.Context, ip netip.Addr) error {
	d := l.Delay(ip)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Failure records one failed login from ip.
func (l *Limiter) Failure(ip netip.Addr) {
	if l == nil {
		return
	}
	k := key(ip)
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[k]
	if ok && now.Sub(e.last) >= l.opts.Forget {
		e = entry{}
	}
	if !ok && len(l.entries) >= l.opts.MaxEntries {
		l.makeRoom(now)
	}
	e.failures++
	e.last = now
	l.entries[k] = e
}

// Success forgets ip's failures: the user got in.
func (l *Limiter) Success(ip netip.Addr) {
	if l == nil {
		return
	}
	l.mu.Lock()
	delete(l.entries, key(ip))
	l.mu.Unlock()
}

// Len is the number of keys tracked (for tests and metrics).
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// makeRoom frees at least one slot. The full scan for expired keys runs at
// most once per second, so a flood of new addresses costs O(1) each
// (random eviction via map iteration order) rather than O(n).
func (l *Limiter) makeRoom(now time.Time) {
	if now.Sub(l.lastPrune) >= time.Second || now.Before(l.lastPrune) {
		l.lastPrune = now
		for k, e := range l.entries {
			if now.Sub(e.last) >= l.opts.Forget {
				delete(l.entries, k)
			}
		}
	}
	for k := range l.entries {
		if len(l.entries) < l.opts.MaxEntries {
			break
		}
		delete(l.entries, k)
	}
}
