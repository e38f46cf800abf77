package immp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/immp-mail/immp/delivery/address"
	"github.com/immp-mail/immp/delivery/guard"
	"github.com/immp-mail/immp/immp/wire"
	"github.com/immp-mail/immp/internal/connlimit"
	"github.com/immp-mail/immp/internal/logrl"
	"github.com/immp-mail/immp/internal/metrics"
	"github.com/immp-mail/immp/internal/netutil"
	"github.com/immp-mail/immp/internal/throttle"
	"github.com/immp-mail/immp/maildir"
)

// MinIdleTimeout is the shortest autologout timer allowed (draft 5.4).
const MinIdleTimeout = 30 * time.Minute

// DefaultPreauthTimeout is Options.PreauthTimeout's default.
const DefaultPreauthTimeout = time.Minute

// DefaultCommandTimeout is Options.CommandTimeout's default, as go-imap's
// IMAP server allows for one command.
const DefaultCommandTimeout = 30 * time.Second

// ErrServerClosed is returned by Serve and ServeTLS after Shutdown.
var ErrServerClosed = errors.New("immp: server closed")

// Options configure a Server.
type Options struct {
	Logger  *slog.Logger
	Metrics *metrics.Metrics

	Store  *maildir.Store // required
	Guard  *guard.Guard   // required: the spam guard verdicts
	Mapper address.Mapper // local domains: bare LOGIN names, VERIFY addresses

	// TLSConfig enables STARTTLS on Serve and is required by ServeTLS.
	TLSConfig *tls.Config
	// TrustedNetworks may use the VERIFY commands without logging in
	// (profile 8). nil means loopback (127.0.0.0/8 and ::1).
	TrustedNetworks []netip.Prefix
	// AllowInsecureAuth allows LOGIN and AUTHENTICATE PLAIN over cleartext
	// from non-loopback peers (profile 1).
	AllowInsecureAuth bool
	// IdleTimeout is the autologout timer after login; 0 means 30
	// minutes, and less than 30 minutes is an error (draft 5.4).
	IdleTimeout time.Duration
	// PreauthTimeout is the autologout timer before login and in the
	// anonymous state (default DefaultPreauthTimeout; never longer than
	// IdleTimeout). RFC 9051 5.4 puts the 30-minute minimum on the timer
	// after authentication only; before it, a connection that says
	// nothing costs a descriptor and buys nothing, so it goes as soon as
	// an SMTP client would.
	PreauthTimeout time.Duration
	// CommandTimeout bounds how long a command may take to arrive once
	// its first octet has (default DefaultCommandTimeout), apart from the
	// autologout timer between commands: a client trickling a command in
	// one octet at a time (slowloris) is cut off after it, not after
	// IdleTimeout.
	CommandTimeout time.Duration
	// Throttle slows down repeated login failures; nil means none.
	Throttle *throttle.Limiter
	// Limits of the codec; zero fields take the profile's values.
	Limits wire.Limits
	// MaxConnsPerIP caps simultaneous connections from one address
	// (default DefaultMaxConnsPerIP; negative: unlimited).
	MaxConnsPerIP int
	// ConnLogBudget and AddrLogBudget bound the log lines of one
	// connection and of one client address (internal/logrl); zero:
	// logrl.CommandConnBudget and CommandAddrBudget.
	ConnLogBudget, AddrLogBudget logrl.Budget
	// MaxConns caps simultaneous connections on each listener (default
	// DefaultMaxConns; negative: unlimited).
	MaxConns int
}

// Connection caps when Options leaves them zero.
const (
	DefaultMaxConnsPerIP = 50
	DefaultMaxConns      = 1000 // per listener
)

// Server is an IMMP server. It holds no global state: several may run in
// one process.
type Server struct {
	opts    Options
	log     *slog.Logger
	trusted []netip.Prefix
	idle    time.Duration // after login
	preauth time.Duration // before login, and anonymous
	// loopback is what counts as loopback for the cleartext-password rule;
	// tests narrow it to exercise the rule over loopback addresses.
	loopback []netip.Prefix

	ctx    context.Context // cancelled when Shutdown gives up waiting
	cancel context.CancelFunc

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closing   atomic.Bool
	wg        sync.WaitGroup
	nextID    atomic.Uint64
	perIP     *connlimit.Limiter
	// fault, set by tests before serving, runs before each command to
	// make a panic that no input can cause; nil otherwise.
	fault     func(cmd string)
	logAddrs  *logrl.Addrs // per-address log budgets
	serverLog *slog.Logger // lines with no session, within one budget
}

// New checks opts and returns a Server.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("immp: Options.Store is required")
	}
	if opts.Guard == nil {
		return nil, errors.New("immp: Options.Guard is required")
	}
	idle := opts.IdleTimeout
	if idle == 0 {
		idle = MinIdleTimeout
	}
	if idle < MinIdleTimeout {
		return nil, fmt.Errorf("immp: idle timeout %v is below the minimum of %v (draft 5.4)", idle, MinIdleTimeout)
	}
	preauth := opts.PreauthTimeout
	if preauth <= 0 {
		preauth = DefaultPreauthTimeout
	}
	preauth = min(preauth, idle)
	if opts.CommandTimeout <= 0 {
		opts.CommandTimeout = DefaultCommandTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	trusted := opts.TrustedNetworks
	if trusted == nil {
		trusted = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	if opts.MaxConnsPerIP == 0 {
		opts.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if opts.ConnLogBudget == (logrl.Budget{}) {
		opts.ConnLogBudget = logrl.CommandConnBudget()
	}
	if opts.AddrLogBudget == (logrl.Budget{}) {
		opts.AddrLogBudget = logrl.CommandAddrBudget()
	}
	log = log.With("proto", "immp")
	if opts.MaxConns == 0 {
		opts.MaxConns = DefaultMaxConns
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		perIP:     connlimit.New(opts.MaxConnsPerIP),
		logAddrs:  logrl.NewAddrs(opts.AddrLogBudget, 0, nil),
		serverLog: logrl.Logger(log, logrl.NewLimiter(logrl.ServerBudget(), nil)),
		opts:      opts,
		log:       log,
		trusted:   trusted,
		idle:      idle,
		preauth:   preauth,
		loopback:  []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		ctx:       ctx,
		cancel:    cancel,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
	}, nil
}

// Serve accepts cleartext connections on ln (STARTTLS offered when a TLS
// config is set) until Shutdown, then returns ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error { return s.serve(ln, false) }

// ServeTLS accepts implicit-TLS connections on ln.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.opts.TLSConfig == nil {
		return errors.New("immp: ServeTLS needs Options.TLSConfig")
	}
	return s.serve(ln, true)
}

func (s *Server) serve(ln net.Listener, implicitTLS bool) error {
	wl := s.wrap(ln, implicitTLS)
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[wl] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, wl)
		s.mu.Unlock()
	}()
	s.log.Info("listening", "addr", ln.Addr().String(), "tls", implicitTLS)
	for {
		nc, err := wl.Accept() // temporary failures are retried inside
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			return err
		}
		if !s.track(nc) {
			nc.Close()
			return ErrServerClosed
		}
		go s.handle(nc, implicitTLS)
	}
}

// wrap applies the accept backoff and the connection caps to ln: over a
// cap, a client is told "* BYE" (profile 2) with UNAVAILABLE (the server
// is full) or LIMIT (its address is; RFC 5530) and disconnected. On an
// implicit-TLS port nothing can be said before a handshake, which a
// refused client is not worth.
func (s *Server) wrap(ln net.Listener, implicitTLS bool) *netutil.Listener {
	o := netutil.Options{
		Protocol: "immp", Logger: s.serverLog, MaxConns: s.opts.MaxConns, PerIP: s.perIP,
		Refused: func(reason string) { s.opts.Metrics.ConnRefused("immp", reason) },
	}
	if !implicitTLS {
		o.Busy = []byte("* BYE [UNAVAILABLE] Too many connections, try again later\r\n")
		o.TooMany = []byte("* BYE [LIMIT] Too many connections from your address\r\n")
	}
	return netutil.Wrap(ln, o)
}

// track registers a new connection's goroutine unless shutting down.
func (s *Server) track(nc net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.wg.Add(1)
	return true
}

// Shutdown stops the listeners, lets commands in progress finish and
// closes idle sessions with "* BYE". If ctx ends first, the remaining
// connections are closed and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.interruptIfIdle()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		s.mu.Lock()
		for c := range s.conns {
			c.raw.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

func (s *Server) addConn(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// isLoopback reports whether ip is a loopback peer (profile 1).
func (s *Server) isLoopback(ip netip.Addr) bool {
	for _, p := range s.loopback {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// isTrusted reports whether ip lies in the trusted networks (profile 8).
func (s *Server) isTrusted(ip netip.Addr) bool {
	for _, p := range s.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
