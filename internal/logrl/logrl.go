package logrl

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Budget is a number of lines at once and a refill rate.
type Budget struct {
	Burst     int     // lines that may be written at once
	PerSecond float64 // lines per second the bucket refills at
}

// Limiter is one token bucket; safe for concurrent use.
type Limiter struct {
	b   Budget
	now func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// NewLimiter returns a full bucket of budget b. now is the clock; nil is
// time.Now.
func NewLimiter(b Budget, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{b: b, now: now, tokens: float64(b.Burst), last: now()}
}

// refill (mu held) adds the tokens earned since the last call.
func (l *Limiter) refill() {
	t := l.now()
	if d := t.Sub(l.last); d > 0 {
		l.tokens = min(float64(l.b.Burst), l.tokens+d.Seconds()*l.b.PerSecond)
	}
	l.last = t
}

// take takes a token if there is one.
func (l *Limiter) take() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill()
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}

// give puts back a token taken for a record another limiter refused.
func (l *Limiter) give() {
	l.mu.Lock()
	l.tokens = min(float64(l.b.Burst), l.tokens+1)
	l.mu.Unlock()
}

// full reports whether the bucket has refilled completely.
func (l *Limiter) full() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill()
	return l.tokens >= float64(l.b.Burst)
}

// Addrs hands out one Limiter per remote address, shared by every
// connection from it (IPv6 by its /64, as a client usually holds one).
// It holds at most max limiters; when full, limiters whose bucket is full
// again are forgotten (a new one for that address is the same), and if
// none is, the new address gets no limiter of its own and shares one
// overflow limiter, so a flood of addresses can neither grow the table
// nor write more than one more budget's worth of lines.
type Addrs struct {
	b   Budget
	max int
	now func() time.Time

	mu        sync.Mutex
	m         map[netip.Addr]*Limiter
	overflow  *Limiter
	lastPrune time.Time
}

// NewAddrs returns an empty table of at most max limiters (default 10000)
// of budget b; now as for NewLimiter.
func NewAddrs(b Budget, max int, now func() time.Time) *Addrs {
	if max <= 0 {
		max = 10000
	}
	return &Addrs{b: b, max: max, now: now, m: make(map[netip.Addr]*Limiter), overflow: NewLimiter(b, now)}
}

// Get returns ip's limiter.
func (a *Addrs) Get(ip netip.Addr) *Limiter {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			ip = p.Addr()
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if l, ok := a.m[ip]; ok {
		return l
	}
	if len(a.m) >= a.max {
		// The scan runs at most once a second, so that a flood of new
		// addresses costs O(1) each in between.
		if t := a.clock(); t.Sub(a.lastPrune) >= time.Second || t.Before(a.lastPrune) {
			a.lastPrune = t
			for k, l := range a.m {
				if l.full() {
					delete(a.m, k)
				}
			}
		}
		if len(a.m) >= a.max {
			return a.overflow
		}
	}
	l := NewLimiter(a.b, a.now)
	a.m[ip] = l
	return l
}

func (a *Addrs) clock() time.Time {
	if a.now == nil {
		return time.Now()
	}
	return a.now()
}

// Len is the number of addresses held (for tests).
func (a *Addrs) Len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.m)
}

// state is what a handler and those derived from it share.
type state struct {
	lims    []*Limiter
	mu      sync.Mutex
	dropped int
}

// Handler is a slog.Handler that drops records past its limiters'
// budgets and reports how many it dropped.
type Handler struct {
	next slog.Handler
	st   *state
}

// Wrap returns a handler writing to next what lims allow; nil limiters
// are ignored.
func Wrap(next slog.Handler, lims ...*Limiter) *Handler {
	st := &state{}
	for _, l := range lims {
		if l != nil {
			st.lims = append(st.lims, l)
		}
	}
	return &Handler{next: next, st: st}
}

// Enabled is next's.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// allow takes a token from every limiter, or from none.
func (st *state) allow() bool {
	for i, l := range st.lims {
		if !l.take() {
			for _, p := range st.lims[:i] {
				p.give()
			}
			return false
		}
	}
	return true
}

// Handle writes r if the budgets allow, after the summary of what was
// dropped before it; otherwise it counts r.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if !h.st.allow() {
		h.st.mu.Lock()
		h.st.dropped++
		h.st.mu.Unlock()
		return nil
	}
	if err := h.summary(ctx, r.Time); err != nil {
		return err
	}
	return h.next.Handle(ctx, r)
}

// summary writes "N lines suppressed" for the records counted so far.
func (h *Handler) summary(ctx context.Context, t time.Time) error {
	h.st.mu.Lock()
	n := h.st.dropped
	h.st.dropped = 0
	h.st.mu.Unlock()
	if n == 0 {
		return nil
	}
	if t.IsZero() {
		t = time.Now()
	}
	s := slog.NewRecord(t, slog.LevelWarn, fmt.Sprintf("%d lines suppressed", n), 0)
	s.AddAttrs(slog.Int("suppressed", n))
	return h.next.Handle(ctx, s)
}

// Flush writes the summary of the records dropped since the last one, if
// any: call it when the source ends (the connection closes).
func (h *Handler) Flush(ctx context.Context) error { return h.summary(ctx, time.Time{}) }

// WithAttrs and WithGroup derive a handler sharing h's limiters and
// count.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(as), st: h.st}
}

func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), st: h.st}
}

// Flush flushes log's handler if it is a *Handler; other loggers have
// nothing to flush.
func Flush(ctx context.Context, log *slog.Logger) {
	if h, ok := log.Handler().(*Handler); ok {
		h.Flush(ctx)
	}
}

// Logger is a logger writing to log's handler within lims (a
// convenience for Wrap).
func Logger(log *slog.Logger, lims ...*Limiter) *slog.Logger {
	return slog.New(Wrap(log.Handler(), lims...))
}

// Budgets for servers with one log line per command (IMAP, IMMP): a mail
// client syncing a mailbox sends hundreds of commands at once, a flood
// sends them forever.
func CommandConnBudget() Budget { return Budget{Burst: 300, PerSecond: 10} }
func CommandAddrBudget() Budget { return Budget{Burst: 1000, PerSecond: 20} }

// ServerBudget is for lines about connections that have no session of
// their own (refused at accept, failed handshakes), one per server.
func ServerBudget() Budget { return Budget{Burst: 50, PerSecond: 5} }
