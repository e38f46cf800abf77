package throttle

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Options tune a Limiter; zero fields take the defaults noted.
type Options struct {
	Free       int           // failures from one address without any delay (default 3)
	Base       time.Duration // first delay after Free failures (default 500ms)
	Max        time.Duration // cap on one delay (default 5s)
	Forget     time.Duration // quiet period after which a key is reset (default 15m)
	MaxEntries int           // most keys tracked at once, per table (default 10000)

	// AccountFree, AccountBase and AccountMax are Free, Base and Max for
	// the failures against one account from any address (defaults 10,
	// 250ms, 2s). The cap is lower than the address's: every client of
	// the account that has not logged in from its address lately pays
	// it, the owner's new device included, so it must stay short.
	AccountFree int
	AccountBase time.Duration
	AccountMax  time.Duration
	// TrustFor is how long an address that logged in to an account stays
	// exempt from that account's delay (default 24h).
	TrustFor time.Duration
	// TurnWait bounds how long an attempt waits for its address's turn
	// (default 5s); past it Begin returns ErrBusy.
	TurnWait time.Duration

	// Now is the clock (default time.Now); tests inject their own.
	Now func() time.Time
}

// ErrBusy is Begin's answer when the address's earlier attempts have held
// its turn for longer than TurnWait: a temporary failure, answered as one
// by the protocols (IMAP NO [UNAVAILABLE], SMTP 454 4.7.0).
var ErrBusy = errors.New("throttle: too many login attempts in progress from this address")

// Limiter tracks recent login failures per remote address and per account.
// A nil *Limiter never delays, so servers can leave it unset.
type Limiter struct {
	opts Options

	mu       sync.Mutex
	addrs    table[netip.Addr]
	accounts table[string]
	trusted  table[pair]
	turns    map[netip.Addr]*turn
}

// pair is an address that logged in to an account.
type pair struct {
	ip      netip.Addr
	account string
}

// turn lets one attempt per address check its credentials at a time; refs
// counts the attempts holding or waiting for it, so that it is dropped
// when none does (the map stays as small as the attempts in progress).
type turn struct {
	ch   chan struct{}
	refs int
}

// New returns a Limiter with opts' zero fields set to their defaults.
func New(opts Options) *Limiter {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if opts.Free <= 0 {
		opts.Free = 3
	}
	def(&opts.Base, 500*time.Millisecond)
	def(&opts.Max, 5*time.Second)
	opts.Max = max(opts.Max, opts.Base)
	def(&opts.Forget, 15*time.Minute)
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10000
	}
	if opts.AccountFree <= 0 {
		opts.AccountFree = 10
	}
	def(&opts.AccountBase, 250*time.Millisecond)
	def(&opts.AccountMax, 2*time.Second)
	opts.AccountMax = max(opts.AccountMax, opts.AccountBase)
	def(&opts.TrustFor, 24*time.Hour)
	def(&opts.TurnWait, 5*time.Second)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Limiter{
		opts:     opts,
		addrs:    newTable[netip.Addr](opts.Forget, opts.MaxEntries),
		accounts: newTable[string](opts.Forget, opts.MaxEntries),
		trusted:  newTable[pair](opts.TrustFor, opts.MaxEntries),
		turns:    make(map[netip.Addr]*turn),
	}
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

// maxAccountKey bounds the bytes kept per account key (a login name is
// client input; a longer one is no account anyway).
const maxAccountKey = 256

// accountKey is the login name as the throttle counts it: case and
// surrounding space do not make another account.
func accountKey(account string) string {
	a := strings.ToLower(strings.TrimSpace(account))
	if len(a) > maxAccountKey {
		a = a[:maxAccountKey]
	}
	return a
}

// Delay is how long the next attempt from ip on account must wait now:
// the longer of the address's delay and the account's, the account's
// being waived for an address that logged in to it within TrustFor.
func (l *Limiter) Delay(ip netip.Addr, account string) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.delayLocked(key(ip), accountKey(account), l.opts.Now())
}

func (l *Limiter) delayLocked(k netip.Addr, account string, now time.Time) time.Duration {
	var d time.Duration
	if e, ok := l.addrs.get(k, now); ok {
		d = progression(e.failures, l.opts.Free, l.opts.Base, l.opts.Max)
	}
	if account == "" {
		return d
	}
	if _, ok := l.trusted.get(pair{k, account}, now); ok {
		return d
	}
	if e, ok := l.accounts.get(account, now); ok {
		d = max(d, progression(e.failures, l.opts.AccountFree, l.opts.AccountBase, l.opts.AccountMax))
	}
	return d
}

// progression is 0 below free failures, then base doubling per further
// failure, capped at most.
func progression(failures, free int, base, most time.Duration) time.Duration {
	if failures < free {
		return 0
	}
	d := base
	for i := free; i < failures; i++ {
		d *= 2
		if d >= most {
			return most
		}
	}
	return d
}

// Attempt is one login attempt between Begin and its outcome. It holds its
// address's turn until Failure, Success or End. A nil *Attempt (from a nil
// Limiter) does nothing.
type Attempt struct {
	l       *Limiter
	ip      netip.Addr // key(ip)
	account string     // accountKey
	t       *turn
	ended   bool
}

// Begin starts an attempt from ip to log in to account: it waits for the
// address's turn (one credential check per address at a time, at most
// TurnWait: else ErrBusy), then for Delay(ip, account). Both waits end
// early with ctx's error when ctx is done. The delay is waited before the
// credentials are checked and while the turn is held, so a right guess
// costs the same as a wrong one and parallel connections from one address
// do not multiply its rate of guesses.
func (l *Limiter) Begin(ctx context.Context, ip netip.Addr, account string) (*Attempt, error) {
	if l == nil {
		return nil, ctx.Err()
	}
	a := &Attempt{l: l, ip: key(ip), account: accountKey(account)}
	if err := l.acquire(ctx, a); err != nil {
		return nil, err
	}
	l.mu.Lock()
	d := l.delayLocked(a.ip, a.account, l.opts.Now())
	l.mu.Unlock()
	if err := sleep(ctx, d); err != nil {
		a.End()
		return nil, err
	}
	return a, nil
}

func (l *Limiter) acquire(ctx context.Context, a *Attempt) error {
	l.mu.Lock()
	t := l.turns[a.ip]
	if t == nil {
		t = &turn{ch: make(chan struct{}, 1)}
		l.turns[a.ip] = t
	}
	t.refs++
	l.mu.Unlock()
	a.t = t
	select {
	case t.ch <- struct{}{}:
		return nil
	default:
	}
	timer := time.NewTimer(l.opts.TurnWait)
	defer timer.Stop()
	var err error
	select {
	case t.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = ErrBusy
	}
	l.unref(a)
	return err
}

func (l *Limiter) unref(a *Attempt) {
	l.mu.Lock()
	if a.t.refs--; a.t.refs == 0 {
		delete(l.turns, a.ip)
	}
	l.mu.Unlock()
}

func sleep(ctx context.Context, d time.Duration) error {
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

// End gives the turn back without an outcome (the check could not be
// made: storage or capacity trouble). Safe to call more than once.
func (a *Attempt) End() {
	if a == nil || a.ended {
		return
	}
	a.ended = true
	<-a.t.ch
	a.l.unref(a)
}

// Failure records the attempt as a failed login and ends it.
func (a *Attempt) Failure() {
	if a == nil {
		return
	}
	a.l.failure(a.ip, a.account)
	a.End()
}

// Success records the attempt as a login and ends it. The address's
// failures are forgotten only when every one of them was against this
// account (the user mistyped); failures against other accounts stay, so
// logging in to one's own account does not buy fresh guesses at others.
// The account's failures stay too: they were counted from every address,
// and the owner logging in says nothing about the others. The address is
// trusted for this account from now on (its delay is waived for it).
func (a *Attempt) Success() {
	if a == nil {
		return
	}
	l := a.l
	now := l.opts.Now()
	l.mu.Lock()
	if e, ok := l.addrs.get(a.ip, now); ok && !e.mixed && e.account == a.account {
		l.addrs.del(a.ip)
	}
	if a.account != "" {
		l.trusted.put(pair{a.ip, a.account}, entry{last: now}, now)
	}
	l.mu.Unlock()
	a.End()
}

// Failure records one failed login from ip on account outside an attempt
// (a malformed SASL exchange; account may be empty when none was named).
func (l *Limiter) Failure(ip netip.Addr, account string) {
	if l == nil {
		return
	}
	l.failure(key(ip), accountKey(account))
}

func (l *Limiter) failure(k netip.Addr, account string) {
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.addrs.get(k, now)
	if !ok {
		e = entry{account: account}
	} else if e.account != account {
		e.mixed = true
	}
	e.failures++
	e.last = now
	l.addrs.put(k, e, now)
	if account == "" {
		return
	}
	ae, _ := l.accounts.get(account, now)
	ae.failures++
	ae.last = now
	l.accounts.put(account, ae, now)
}

// Wait sleeps for ip's delay alone (no account, no turn): for limits on
// other things than logins, such as refused SMTP recipients. It returns
// ctx's error if ctx ends first.
func (l *Limiter) Wait(ctx context.Context, ip netip.Addr) error {
	if l == nil {
		return nil
	}
	return sleep(ctx, l.Delay(ip, ""))
}

// Forgive forgets ip's failures (an SMTP client whose message was
// delivered after all).
func (l *Limiter) Forgive(ip netip.Addr) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.addrs.del(key(ip))
	l.mu.Unlock()
}

// Len is the number of addresses and accounts tracked (for tests and
// metrics).
func (l *Limiter) Len() (addrs, accounts int) {
	if l == nil {
		return 0, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.addrs.m), len(l.accounts.m)
}
