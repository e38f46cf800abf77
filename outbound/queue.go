package outbound

import (
	"container/heap"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/immp-mail/immp/internal/metrics"
)

// TLS policies ([outbound] tls).
const (
	TLSOpportunistic = "opportunistic"
	TLSRequired      = "required"
	TLSVerify        = "verify"
	TLSOff           = "off"
)

// Signer signs a message at enqueue time (DKIM). SignHeader returns a
// complete header field ("DKIM-Signature: ...\r\n") to prepend, or ""
// when the From domain has no key.
type Signer interface {
	SignHeader(ctx context.Context, msg []byte) (string, error)
}

// Local delivers queued mail whose recipient is in a local domain: the
// bounces for local senders, filed into their INBOX.
type Local interface {
	IsLocal(addr string) bool
	// DeliverLocal stores msg for rcpt durably; a *LocalError tells a
	// permanent refusal from a temporary one (any other error is
	// temporary).
	DeliverLocal(ctx context.Context, rcpt string, msg []byte) error
}

// LocalError is a local delivery refusal.
type LocalError struct {
	Permanent bool
	Err       error
}

func (e *LocalError) Error() string { return e.Err.Error() }
func (e *LocalError) Unwrap() error { return e.Err }

// Options configures a Queue.
type Options struct {
	Dir      string // <data_dir>/queue; required
	Hostname string // EHLO name and Reporting-MTA of bounces
	// Relay is the smarthost "HOST:PORT"; "" delivers to MX hosts.
	Relay                        string
	RelayUsername, RelayPassword string
	// RelayImplicitTLS: the relay speaks TLS from the first octet
	// (RFC 8314 3.3; [outbound] relay on port 465), not STARTTLS.
	RelayImplicitTLS bool
	TLS              string        // TLSOpportunistic (default), TLSRequired, TLSVerify, TLSOff
	Resolver         *net.Resolver // nil: the system's
	MXPort           int           // default 25
	RetryInitial     time.Duration // default 5m, doubling up to MaxRetryInterval
	MaxAge           time.Duration // default 120h
	// DelayWarning, when positive, sends the sender one "delayed" DSN per
	// recipient still deferred after this long.
	DelayWarning    time.Duration
	MaxConns        int           // in all; default 50
	MaxConnsPerDest int           // per destination; default 5
	MessagesPerConn int           // default 100
	DialTimeout     time.Duration // default 30s
	// RootCAs verifies certificates where they are checked (MTA-STS
	// enforce, the smarthost when it gets a password, policy fetches);
	// nil: the system's roots.
	RootCAs *x509.CertPool
	// HTTPSPort is where MTA-STS policies are fetched (RFC 8461 3.3 says
	// 443, the default); tests move it.
	HTTPSPort int
	Local     Local  // required
	Signer    Signer // nil: no DKIM signature
	Metrics   *metrics.Outbound
	Logger    *slog.Logger
}

// MaxRetryInterval caps the doubling of the retry interval.
const MaxRetryInterval = 4 * time.Hour

// Queue is the durable outbound queue and its delivery runner.
type Queue struct {
	opts Options
	fs   durableFS // the durability seam (fsys.go)
	log  *slog.Logger
	sts  *stsCache
	lock *os.File

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{}

	mu      sync.Mutex
	msgs    map[string]*qmsg
	dests   map[string]*dest
	waiting itemHeap // deferred items, earliest first
	active  int      // workers running
	closed  bool
}

// qmsg is one queued message in memory.
type qmsg struct {
	env Envelope
	off int64 // where the message starts in its queue file

	mu      sync.Mutex // guards st and writing the state file
	st      []RcptState
	items   int  // unfinished items (under Queue.mu)
	deleted bool // under Queue.mu
}

// item is the recipients of one message that share a destination: they
// are attempted together, over one transaction.
type item struct {
	m     *qmsg
	dest  string // destination key: a domain, destRelay or destLocal
	rcpts []int  // indexes into m.st
	next  time.Time
	index int // in the heap; -1 when not there
}

// Destination keys besides a recipient domain.
const (
	destRelay = "[relay]"
	destLocal = "[local]"
)

// Open opens (creating if needed) the queue in opts.Dir, takes its lock
// and loads every complete queued message. Run starts delivering.
func Open(opts Options) (*Queue, error) {
	if opts.Dir == "" || opts.Local == nil {
		return nil, errors.New("outbound: Dir and Local are required")
	}
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	if opts.TLS == "" {
		opts.TLS = TLSOpportunistic
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.MXPort == 0 {
		opts.MXPort = 25
	}
	if opts.RetryInitial <= 0 {
		opts.RetryInitial = 5 * time.Minute
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 120 * time.Hour
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 50
	}
	if opts.MaxConnsPerDest <= 0 {
		opts.MaxConnsPerDest = 5
	}
	if opts.MessagesPerConn <= 0 {
		opts.MessagesPerConn = 100
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 30 * time.Second
	}
	if opts.HTTPSPort == 0 {
		opts.HTTPSPort = 443
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lock, free, err := lockQueue(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("outbound: %w", err)
	}
	if !free {
		return nil, fmt.Errorf("outbound: the queue in %s is in use by another process", opts.Dir)
	}
	q := &Queue{
		opts: opts, fs: osFS{}, log: log, lock: lock, wake: make(chan struct{}, 1),
		msgs: map[string]*qmsg{}, dests: map[string]*dest{},
	}
	q.sts = newSTSCache(opts.Resolver, q.httpClient(), filepath.Join(opts.Dir, stsDir))
	q.ctx, q.cancel = context.WithCancel(context.Background())
	if err := q.load(); err != nil {
		lock.Close()
		return nil, err
	}
	opts.Metrics.Watch(q.Stats)
	return q, nil
}

func (q *Queue) httpClient() *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, Resolver: q.opts.Resolver}
	port := fmt.Sprint(q.opts.HTTPSPort)
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, _ := net.SplitHostPort(addr)
			return d.DialContext(ctx, network, net.JoinHostPort(host, port))
		},
		TLSClientConfig:     tlsConfigVerify(q.opts.RootCAs, ""),
		TLSHandshakeTimeout: 10 * time.Second,
		DisableKeepAlives:   true,
	}
	return &http.Client{
		Transport: tr, Timeout: 20 * time.Second,
		// RFC 8461 3.3: HTTP redirects MUST NOT be followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// load reads the queue directory: complete messages are scheduled,
// leftovers of a crash removed (a queue file cut short was never
// acknowledged; a state file without its queue file was finished).
func (q *Queue) load() error {
	dir := q.opts.Dir
	ents, err := os.ReadDir(filepath.Join(dir, msgDir))
	if err != nil {
		return fmt.Errorf("outbound: %w", err)
	}
	now := time.Now()
	for _, e := range ents {
		path := filepath.Join(dir, msgDir, e.Name())
		if !ValidID(e.Name()) {
			os.Remove(path)
			continue
		}
		env, off, err := readEnvelope(path)
		if errors.Is(err, errIncomplete) {
			q.log.Warn("removing an incomplete queue file (never acknowledged)", "queue_id", e.Name())
			removeMessage(dir, e.Name())
			continue
		}
		if err != nil {
			return fmt.Errorf("outbound: reading %s: %w", path, err)
		}
		m := &qmsg{env: env, off: off, st: readState(dir, env)}
		q.msgs[env.ID] = m
		q.schedule(m, now)
	}
	states, _ := os.ReadDir(filepath.Join(dir, stateDir))
	for _, e := range states {
		if _, ok := q.msgs[strings.TrimSuffix(e.Name(), ".tmp")]; !ok || strings.HasSuffix(e.Name(), ".tmp") {
			os.Remove(filepath.Join(dir, stateDir, e.Name()))
		}
	}
	if len(q.msgs) > 0 {
		q.log.Info("outbound queue loaded", "messages", len(q.msgs))
	}
	return nil
}

// destOf is the destination key of a recipient address.
func (q *Queue) destOf(addr string) string {
	if q.opts.Local.IsLocal(addr) {
		return destLocal
	}
	if q.opts.Relay != "" {
		return destRelay
	}
	return strings.ToLower(domainOf(addr))
}

func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return addr[at+1:]
}

// schedule makes items of m's queued recipients, per destination, due
// at the latest Next among them (called with q.mu held or before Run).
func (q *Queue) schedule(m *qmsg, now time.Time) {
	byDest := map[string]*item{}
	var order []*item
	for i, r := range m.st {
		if r.Status != StatusQueued {
			continue
		}
		d := q.destOf(r.Addr)
		it := byDest[d]
		if it == nil {
			it = &item{m: m, dest: d, index: -1}
			byDest[d] = it
			order = append(order, it)
		}
		it.rcpts = append(it.rcpts, i)
		if r.Next.After(it.next) {
			it.next = r.Next
		}
	}
	if len(order) == 0 {
		q.log.Info("queued message has nothing left to do", "queue_id", m.env.ID)
		removeMessage(q.opts.Dir, m.env.ID)
		delete(q.msgs, m.env.ID)
		return
	}
	m.items = len(order)
	for _, it := range order {
		q.place(it, now)
	}
}

// place puts an item on its destination's ready list when due, else on
// the waiting heap (q.mu held).
func (q *Queue) place(it *item, now time.Time) {
	if it.next.After(now) {
		heap.Push(&q.waiting, it)
		return
	}
	d := q.dests[it.dest]
	if d == nil {
		d = &dest{}
		q.dests[it.dest] = d
	}
	d.ready = append(d.ready, it)
}

func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Run starts the runner; Shutdown stops it.
func (q *Queue) Run() {
	q.wg.Add(1)
	go q.loop()
}

// Shutdown stops the runner: attempts in flight are cut off (their
// recipients stay queued; a message the next hop took just then may be
// sent again, never lost) and the queue's lock is released.
func (q *Queue) Shutdown(ctx context.Context) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	q.mu.Unlock()
	q.cancel()
	done := make(chan struct{})
	go func() { q.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	q.lock.Close()
	return err
}

// loop is the scheduler: it moves due items to their destinations,
// starts workers within the connection limits, and carries out control
// requests.
func (q *Queue) loop() {
	defer q.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	tick := time.NewTicker(ctlPoll)
	defer tick.Stop()
	for {
		wait := q.dispatch()
		timer.Reset(wait)
		select {
		case <-q.ctx.Done():
			return
		case <-q.wake:
		case <-timer.C:
		case <-tick.C:
			q.control()
		}
	}
}

// dispatch returns how long until the next waiting item is due.
func (q *Queue) dispatch() time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	for q.waiting.Len() > 0 && !q.waiting[0].next.After(now) {
		it := heap.Pop(&q.waiting).(*item)
		if it.m.deleted {
			continue
		}
		q.place(it, now)
	}
	for key, d := range q.dests {
		for len(d.ready) > d.active && d.active < d.max(q.opts.MaxConnsPerDest) && q.active < q.opts.MaxConns {
			d.active++
			q.active++
			q.wg.Add(1)
			go q.worker(key)
		}
		if len(d.ready) == 0 && d.active == 0 {
			delete(q.dests, key)
		}
	}
	if q.waiting.Len() == 0 {
		return time.Hour
	}
	return max(q.waiting[0].next.Sub(now), time.Millisecond)
}

// Stats is the queue's size and the age of its oldest message.
func (q *Queue) Stats() (n int, oldest time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.statsLocked(time.Now())
}

func (q *Queue) statsLocked(now time.Time) (int, time.Duration) {
	var oldest time.Duration
	for _, m := range q.msgs {
		if a := now.Sub(m.env.Created); a > oldest {
			oldest = a
		}
	}
	return len(q.msgs), oldest
}

// itemHeap orders waiting items by due time.
type itemHeap []*item

func (h itemHeap) Len() int           { return len(h) }
func (h itemHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h itemHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *itemHeap) Push(x any) {
	it := x.(*item)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *itemHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	it.index = -1
	return it
}
