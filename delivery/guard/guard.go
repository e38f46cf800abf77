package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/immp-mail/immp/delivery/address"
	"github.com/immp-mail/immp/internal/metrics"
	"github.com/immp-mail/immp/maildir"
)

// DefaultMaxStaleness is how old, at most, the cached view of accounts and
// entries may be when changes come from another process (or from this one
// without Invalidate).
const DefaultMaxStaleness = 200 * time.Millisecond

// maxNegative bounds the cache of unknown recipient accounts, which a
// sender can fill at will; it is emptied when full.
const maxNegative = 10000

// Verdict is the spam guard's answer for one sender and recipient.
type Verdict int

const (
	// Allowed: the recipient exists and no entry of its agents matches.
	Allowed Verdict = iota
	// Blocked: an entry of one of the recipient's agents matches.
	Blocked
	// NoSuchAccount: the recipient maps to no account here.
	NoSuchAccount
)

// String gives the verdict as used in logs and metrics.
func (v Verdict) String() string {
	switch v {
	case Allowed:
		return "allowed"
	case Blocked:
		return "blocked"
	case NoSuchAccount:
		return "no_account"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Options configures a Guard.
type Options struct {
	Store   *maildir.Store // required
	Mapper  address.Mapper // reduces recipients to accounts
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// MaxStaleness bounds how long a change made by another process may
	// go unseen (default DefaultMaxStaleness). Changes made in this
	// process are seen at once by the next verdict after Invalidate.
	MaxStaleness time.Duration
}

// Guard gives spam guard verdicts from an in-memory view of the store.
// It is safe for concurrent use.
type Guard struct {
	store   *maildir.Store
	mapper  address.Mapper
	metrics *metrics.Metrics
	log     *slog.Logger
	stale   time.Duration
	maxNeg  int64     // bound on cached unknown accounts and recipients per view
	none    *account  // what recipients that map to no account at all get
	start   time.Time // for monotonic clock readings

	view    atomic.Pointer[view]
	checkMu sync.Mutex // one version read at a time
	// inval counts Invalidate calls; checkedInval is its value when the
	// version was last read, at checkedAt (monotonic ns, see now).
	inval        atomic.Uint64
	checkedInval atomic.Uint64
	checkedAt    atomic.Int64
}

// view is the cache for one guard version of the store. It is replaced as
// a whole when the version moves.
type view struct {
	version  int64
	accounts sync.Map // canonical address -> *account
	negative atomic.Int64
	// rcpts maps recipient addresses as given to their account, sparing
	// the address mapping for recipients seen before; bounded like the
	// unknown accounts.
	rcpts  sync.Map // recipient -> *account
	nrcpts atomic.Int64
}

// account is one cached account: loaded once per view, then read without
// locks.
type account struct {
	mu     sync.Mutex
	ready  atomic.Bool
	exists bool
	idx    *index
}

// New makes a Guard over a store.
func New(opts Options) (*Guard, error) {
	if opts.Store == nil {
		return nil, errors.New("guard: Options.Store is nil")
	}
	g := &Guard{
		store:   opts.Store,
		mapper:  address.Mapper{Domains: slices.Clone(opts.Mapper.Domains), PlusSubinbox: opts.Mapper.PlusSubinbox, AnyDomain: opts.Mapper.AnyDomain},
		metrics: opts.Metrics,
		log:     opts.Logger,
		stale:   opts.MaxStaleness,
		maxNeg:  maxNegative,
		start:   time.Now(),
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.stale <= 0 {
		g.stale = DefaultMaxStaleness
	}
	g.none = &account{}
	g.none.ready.Store(true)
	g.inval.Store(1) // no version read yet
	return g, nil
}

// Invalidate makes the next verdict check the store's guard version
// before answering. Callers that change accounts, agents or entries in
// this process call it after the change so that verdicts see it at once
// (profile 7 commands, account administration).
func (g *Guard) Invalidate() { g.inval.Add(1) }

// Verify gives the verdict for sender mailing recipient (profile 8, 9).
// The recipient is reduced to its account first (subinbox prefix or
// +detail removed); an address that maps to no local account is
// NoSuchAccount. The null sender ("" or "<>") is never blocked. A non-nil
// error means the verdict cannot be given now (SMTP 451, IMMP NO
// [UNAVAILABLE]).
func (g *Guard) Verify(ctx context.Context, sender, recipient string) (Verdict, error) {
	v, err := g.verify(ctx, sender, recipient)
	if err != nil {
		g.metrics.GuardVerdict("undecided")
		return Allowed, err
	}
	g.metrics.GuardVerdict(v.String())
	return v, nil
}

func (g *Guard) verify(ctx context.Context, sender, recipient string) (Verdict, error) {
	vw, err := g.current(ctx)
	if err != nil {
		return Allowed, err
	}
	a, err := g.recipient(ctx, vw, recipient)
	if err != nil {
		return Allowed, err
	}
	if !a.exists {
		return NoSuchAccount, nil
	}
	if sender == "" || sender == "<>" {
		return Allowed, nil // bounces are never blocked by address (profile 8)
	}
	s, err := address.ParseSender(sender)
	if err != nil {
		// Still match what was given: a malformed sender is no reason to
		// let blocked mail through, nor to defer it.
		s = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(sender, "<"), ">"))
	}
	if a.idx.match(s) {
		return Blocked, nil
	}
	return Allowed, nil
}

// current returns the view for the store's present guard version. The
// version is read at most every MaxStaleness, and before the first verdict
// that follows an Invalidate. While one caller reads it, the others keep
// using the view they have, unless it is invalidated or overdue (twice
// MaxStaleness), in which case they wait for the reader.
//
// Staleness bound: a change committed at time T is seen by every verdict
// that starts after T + MaxStaleness + the time of one version read; with
// Invalidate called after the change, by every verdict that starts after
// Invalidate returns.
func (g *Guard) current(ctx context.Context) (*view, error) {
	inval := g.inval.Load()
	age := g.now() - g.checkedAt.Load()
	fresh := g.checkedInval.Load() == inval
	if fresh && age < int64(g.stale) {
		return g.view.Load(), nil
	}
	if !g.checkMu.TryLock() {
		if fresh && age < 2*int64(g.stale) {
			return g.view.Load(), nil
		}
		g.checkMu.Lock()
	}
	defer g.checkMu.Unlock()
	inval = g.inval.Load()
	start := g.now()
	if g.checkedInval.Load() == inval && start-g.checkedAt.Load() < int64(g.stale) {
		return g.view.Load(), nil // read by another caller while we waited
	}
	ver, err := g.store.GuardVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("guard: read version: %w", err)
	}
	vw := g.view.Load()
	if vw == nil || ver != vw.version {
		vw = &view{version: ver}
		g.view.Store(vw)
		g.log.Debug("spam guard cache dropped", "version", ver)
	}
	// Publish the view before the check marks, so a caller that sees the
	// marks also sees the view.
	g.checkedAt.Store(start)
	g.checkedInval.Store(inval)
	return vw, nil
}

// now is a monotonic clock reading in nanoseconds.
func (g *Guard) now() int64 { return int64(time.Since(g.start)) }

// recipient returns the account recipient maps to in vw.
func (g *Guard) recipient(ctx context.Context, vw *view, recipient string) (*account, error) {
	if v, ok := vw.rcpts.Load(recipient); ok {
		return v.(*account), nil
	}
	a := g.none
	if t, err := g.mapper.Map(recipient); err == nil { // else invalid or not local: none of ours
		if a, err = g.account(ctx, vw, t.Account); err != nil {
			return nil, err
		}
	}
	if vw.nrcpts.Add(1) > g.maxNeg {
		vw.rcpts.Clear()
		vw.nrcpts.Store(0)
	}
	vw.rcpts.Store(recipient, a)
	return a, nil
}

// account returns the cached account addr of vw, loading it and building
// its index on first use. Failures are not cached.
func (g *Guard) account(ctx context.Context, vw *view, addr string) (*account, error) {
	var a *account
	if v, ok := vw.accounts.Load(addr); ok {
		a = v.(*account)
		if a.ready.Load() {
			return a, nil
		}
	} else {
		v, _ := vw.accounts.LoadOrStore(addr, &account{})
		a = v.(*account)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ready.Load() {
		return a, nil
	}
	acct, err := g.store.Account(ctx, addr)
	switch {
	case errors.Is(err, maildir.ErrNoSuchAccount):
		if vw.negative.Add(1) > g.maxNeg {
			g.dropNegative(vw)
		}
		a.ready.Store(true)
		return a, nil
	case err != nil:
		return nil, fmt.Errorf("guard: look up account: %w", err)
	}
	t0 := time.Now()
	entries, err := g.store.AllEntries(ctx, acct)
	switch {
	case errors.Is(err, maildir.ErrNoSuchAccount):
		a.ready.Store(true) // deleted meanwhile
		return a, nil
	case err != nil:
		return nil, fmt.Errorf("guard: load entries: %w", err)
	}
	a.idx = buildIndex(entries)
	a.exists = true
	a.ready.Store(true)
	g.log.Debug("spam guard index built", "account", addr, "entries", len(entries),
		"version", vw.version, "took", time.Since(t0))
	return a, nil
}

// dropNegative forgets the view's unknown accounts (and the recipients
// that led to them).
func (g *Guard) dropNegative(vw *view) {
	vw.rcpts.Clear()
	vw.nrcpts.Store(0)
	vw.accounts.Range(func(k, v any) bool {
		if a := v.(*account); a.ready.Load() && !a.exists {
			vw.accounts.Delete(k)
		}
		return true
	})
	vw.negative.Store(0)
}
