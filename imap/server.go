package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/immp-mail/immp/internal/connlimit"
	"github.com/immp-mail/immp/internal/logrl"
	"github.com/immp-mail/immp/internal/metrics"
	"github.com/immp-mail/immp/internal/netutil"
	"github.com/immp-mail/immp/internal/recovery"
	"github.com/immp-mail/immp/internal/throttle"
	"github.com/immp-mail/immp/maildir"
)

// ErrServerClosed is returned by Serve and ServeTLS after Shutdown.
var ErrServerClosed = errors.New("imap: server closed")

// DefaultAppendLimit is the APPENDLIMIT advertised when Options.AppendLimit
// is zero (RFC 7889).
const DefaultAppendLimit = 50 << 20

// Options configure a Server.
type Options struct {
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	// Store is the mailbox layer; required.
	Store *maildir.Store
	// TLSConfig enables STARTTLS on Serve and is required by ServeTLS.
	TLSConfig *tls.Config
	// AllowInsecureAuth permits LOGIN/AUTHENTICATE without TLS from any
	// address; without it only loopback clients may authenticate in
	// cleartext.
	AllowInsecureAuth bool
	// Throttle slows down repeated login failures; nil never delays.
	Throttle *throttle.Limiter
	// AppendLimit is the largest message APPEND accepts, in octets
	// (DefaultAppendLimit when zero).
	AppendLimit uint32
	// CacheEntries bounds the parsed ENVELOPE/BODYSTRUCTURE cache
	// (default 20000 messages; negative disables it).
	CacheEntries int
	// CacheBytes bounds the same cache in estimated bytes held
	// (default DefaultCacheBytes; negative disables it). A message
	// whose structure alone would take more than an eighth of it is
	// parsed again each time instead of kept.
	CacheBytes int64
	// MaxConnsPerIP caps simultaneous connections from one address
	// (default DefaultMaxConnsPerIP; negative: unlimited).
	MaxConnsPerIP int
	// ConnLogBudget and AddrLogBudget bound the log lines of one
	// connection and of one client address (logs.go); zero:
	// logrl.CommandConnBudget and CommandAddrBudget.
	ConnLogBudget, AddrLogBudget logrl.Budget
	// MaxConns caps simultaneous connections on each listener (default
	// DefaultMaxConns; negative: unlimited).
	MaxConns int
}

// DefaultCacheBytes bounds the parse cache when Options.CacheBytes is
// zero: ordinary messages take one to a few KB each.
const DefaultCacheBytes = 32 << 20

// Connection caps when Options leaves them zero.
const (
	DefaultMaxConnsPerIP = 50
	DefaultMaxConns      = 2000 // per listener
)

// Server is an IMAP server over one mailbox layer.
type Server struct {
	opts   Options
	log    *slog.Logger
	cache  *parseCache
	caps   imap.CapSet
	cancel context.CancelFunc
	ctx    context.Context // cancelled when the server closes for good

	// Two imapserver instances, because imapserver decides "may
	// authenticate in cleartext" per server, and here it depends on the
	// client's address: plain serves connections that may (loopback, TLS,
	// or AllowInsecureAuth), strict those that must STARTTLS first.
	plain, strict       *imapserver.Server
	plainLn, strictLn   *chanListener
	innerDone           sync.WaitGroup
	mu                  sync.Mutex
	listeners           map[net.Listener]struct{}
	conns               map[*session]struct{}
	closing             bool
	active              atomic.Int64 // commands in progress
	nextID              atomic.Uint64
	serveWG             sync.WaitGroup
	shutdownOnce        sync.Once
	plainErr, strictErr error
	perIP               *connlimit.Limiter
	fault               atomic.Pointer[func(cmd string)] // tests only: panic.go
	logAddrs            *logrl.Addrs                     // per-address log budgets
	serverLog           *slog.Logger                     // lines with no session, within one budget
}

// New checks opts and builds a Server; it does not listen yet.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("imap: Options.Store is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AppendLimit == 0 {
		opts.AppendLimit = DefaultAppendLimit
	}
	if opts.CacheEntries == 0 {
		opts.CacheEntries = 20000
	}
	if opts.CacheBytes == 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	ctx, cancel := context.WithCancel(context.Background())
	if opts.MaxConnsPerIP == 0 {
		opts.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if opts.ConnLogBudget == (logrl.Budget{}) {
		opts.ConnLogBudget = logrl.CommandConnBudget()
	}
	if opts.AddrLogBudget == (logrl.Budget{}) {
		opts.AddrLogBudget = logrl.CommandAddrBudget()
	}
	if opts.MaxConns == 0 {
		opts.MaxConns = DefaultMaxConns
	}
	s := &Server{
		logAddrs:  logrl.NewAddrs(opts.AddrLogBudget, 0, nil),
		perIP:     connlimit.New(opts.MaxConnsPerIP),
		opts:      opts,
		log:       opts.Logger.With("proto", "imap"),
		cache:     newParseCache(opts.CacheEntries, opts.CacheBytes),
		ctx:       ctx,
		cancel:    cancel,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*session]struct{}),
		caps: imap.CapSet{
			imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {},
			imap.CapNamespace: {}, imap.CapUIDPlus: {}, imap.CapESearch: {},
			imap.CapSearchRes: {}, imap.CapListExtended: {}, imap.CapListStatus: {},
			imap.CapMove: {}, imap.CapStatusSize: {}, imap.CapChildren: {},
			imap.CapSpecialUse: {}, imap.CapLiteralPlus: {},
			imap.CapCondStore: {}, // condstore.go
			imap.CapQResync:   {}, // qresync.go
		},
	}
	s.serverLog = logrl.Logger(s.log, logrl.NewLimiter(logrl.ServerBudget(), nil))
	logger := slogPrintf{s.serverLog}
	s.plain = imapserver.New(&imapserver.Options{
		NewSession: s.newSession, Caps: s.caps, Logger: logger,
		TLSConfig: opts.TLSConfig, InsecureAuth: true,
	})
	s.strict = imapserver.New(&imapserver.Options{
		NewSession: s.newSession, Caps: s.caps, Logger: logger,
		TLSConfig: opts.TLSConfig, InsecureAuth: false,
	})
	s.plainLn = newChanListener()
	s.strictLn = newChanListener()
	s.innerDone.Add(2)
	go func() { defer s.innerDone.Done(); s.plainErr = s.plain.Serve(s.plainLn) }()
	go func() { defer s.innerDone.Done(); s.strictErr = s.strict.Serve(s.strictLn) }()
	return s, nil
}

// Serve accepts cleartext connections on ln (STARTTLS offered when
// Options.TLSConfig is set) until Shutdown; then it returns ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error { return s.serve(ln, false) }

// ServeTLS accepts implicit-TLS connections on ln (RFC 8314).
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.opts.TLSConfig == nil {
		return errors.New("imap: ServeTLS needs Options.TLSConfig")
	}
	return s.serve(ln, true)
}

func (s *Server) serve(ln net.Listener, implicitTLS bool) error {
	wl := s.wrap(ln, implicitTLS)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[wl] = struct{}{}
	s.serveWG.Add(1)
	s.mu.Unlock()
	defer s.serveWG.Done()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, wl)
		s.mu.Unlock()
	}()
	for {
		c, err := wl.Accept() // temporary failures are retried inside
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return ErrServerClosed
			}
			return fmt.Errorf("imap: accept: %w", err)
		}
		c = &countedConn{Conn: c, closed: s.opts.Metrics.ConnOpened("imap")}
		mayAuth := implicitTLS || s.opts.AllowInsecureAuth || isLoopback(c.RemoteAddr())
		if implicitTLS {
			c = tls.Server(c, s.opts.TLSConfig)
		}
		target := s.strictLn
		if mayAuth {
			target = s.plainLn
		}
		if !target.deliver(c) {
			c.Close()
			return ErrServerClosed
		}
	}
}

// wrap applies the accept backoff and the connection caps to ln: over a
// cap, a client is told "* BYE" (RFC 9051 7.1.5) with UNAVAILABLE (the
// server is full) or LIMIT (its address is; RFC 5530) and disconnected.
// On an implicit-TLS port nothing can be said before a handshake, which a
// refused client is not worth.
func (s *Server) wrap(ln net.Listener, implicitTLS bool) *netutil.Listener {
	o := netutil.Options{
		Protocol: "imap", Logger: s.serverLog, MaxConns: s.opts.MaxConns, PerIP: s.perIP,
		Refused: func(reason string) { s.opts.Metrics.ConnRefused("imap", reason) },
	}
	if !implicitTLS {
		o.Busy = []byte("* BYE [UNAVAILABLE] Too many connections, try again later\r\n")
		o.TooMany = []byte("* BYE [LIMIT] Too many connections from your address\r\n")
	}
	return netutil.Wrap(ln, o)
}

// Shutdown stops accepting connections, lets commands in progress finish
// until ctx is done, says BYE to every client and closes the connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()
	s.serveWG.Wait()

	var err error
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.active.Load() > 0 {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-tick.C:
			continue
		}
		break
	}
	s.shutdownOnce.Do(func() {
		s.mu.Lock()
		sessions := make([]*session, 0, len(s.conns))
		for sess := range s.conns {
			sessions = append(sessions, sess)
		}
		s.mu.Unlock()
		for _, sess := range sessions {
			sess.conn.Bye("Server shutting down")
		}
		// Stop the inner servers' accept loops first: imapserver's Close
		// must not run while its Serve is still starting.
		s.plainLn.Close()
		s.strictLn.Close()
		s.innerDone.Wait()
		s.plain.Close()
		s.strict.Close()
		s.cancel()
	})
	return err
}

func isLoopback(a net.Addr) bool {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.IsLoopback()
	}
	if _, ok := a.(*net.UnixAddr); ok {
		return true
	}
	return false
}

// countedConn reports its close to the connection gauge once, and makes
// a read timeout final.
type countedConn struct {
	net.Conn
	once     sync.Once
	closed   func()
	timedOut atomic.Bool
}

// Read fails for good once a read has hit its deadline. imapserver gives
// each command 30 s once it has begun; a timeout in the middle of a
// command's arguments comes back as that command's error ("NO
// [SERVERBUG]"), and imapserver then reads the next command with a fresh
// deadline, so a client trickling one octet a second (slowloris) would
// be answered every 30 s and kept forever. Sticky, the next read ends
// the session.
func (c *countedConn) Read(p []byte) (int, error) {
	if c.timedOut.Load() {
		return 0, os.ErrDeadlineExceeded
	}
	n, err := c.Conn.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.timedOut.Store(true)
	}
	return n, err
}

func (c *countedConn) Close() error {
	c.once.Do(c.closed)
	return c.Conn.Close()
}

// chanListener hands accepted connections to an imapserver.Server.
type chanListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) deliver(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// slogPrintf adapts slog to imapserver's Printf logger.
type slogPrintf struct{ l *slog.Logger }

func (p slogPrintf) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	level := slog.LevelDebug // mostly clients that went away mid-command
	if strings.Contains(msg, "panic") && !strings.Contains(msg, recovery.LoggedMarker) {
		level = slog.LevelError
	}
	p.l.Log(context.Background(), level, "imapserver", "detail", msg)
}
