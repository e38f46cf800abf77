package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/immp-mail/immp/delivery"
	"github.com/immp-mail/immp/internal/chaos"
	"github.com/immp-mail/immp/internal/connlimit"
	"github.com/immp-mail/immp/internal/logrl"
	"github.com/immp-mail/immp/internal/metrics"
	"github.com/immp-mail/immp/internal/netutil"
	"github.com/immp-mail/immp/internal/throttle"
	"github.com/immp-mail/immp/msgauth"
	"github.com/immp-mail/immp/outbound"
)

// Defaults for Options' zero fields.
const (
	DefaultMaxMessageBytes = 25 << 20 // 25 MiB, as [smtp] max_message_bytes
	DefaultMaxRecipients   = 100      // RFC 5321 4.5.3.1.8: at least 100
	DefaultMaxConnsPerIP   = 50
	DefaultMaxConns        = 1000            // per listener
	DefaultReadTimeout     = 5 * time.Minute // RFC 5321 4.5.3.2.7
	DefaultWriteTimeout    = 5 * time.Minute
	// DefaultDataTimeout bounds the whole of one message's data (DATA or
	// every BDAT chunk of it), as [smtp] data_timeout does.
	DefaultDataTimeout = 10 * time.Minute
	// DefaultMaxLineLength bounds one line of message data (DATA). RFC
	// 5321 4.5.3.1.6 says 1000 octets, but real mail (HTML from careless
	// generators) has far longer lines and refusing it loses mail; message
	// lines are streamed, never held whole.
	DefaultMaxLineLength = 1 << 20
	// DefaultMaxCommandLength bounds one command line (and one SASL
	// response), CRLF included. RFC 5321 4.5.3.1.4 says 512 octets, to
	// which service extensions add their parameters (SIZE, RFC 1870;
	// AUTH's initial response, RFC 4954); Postfix allows 2048. A
	// command line is held whole, so this is what a client costs in
	// memory before its first reply; longer gets 500 5.4.0 and the
	// connection is closed.
	DefaultMaxCommandLength = 8 << 10
)

// maxPathLength is the longest reverse-path or forward-path, the angle
// brackets included (RFC 5321 4.5.3.1.3); longer is 501 "Path too long"
// (4.5.3.1.10). go-smtp would echo the whole of it in its 250.
const maxPathLength = 256

// ErrServerClosed is returned by Serve and ServeTLS after Shutdown.
var ErrServerClosed = errors.New("smtp: server closed")

// Options configures a Server.
type Options struct {
	Logger    *slog.Logger
	Metrics   *metrics.Metrics
	Deliverer *delivery.Deliverer // required
	// Hostname is announced in the greeting and in Received headers.
	Hostname string
	// TLSConfig enables STARTTLS (and ServeTLS); nil: none offered.
	TLSConfig        *tls.Config
	MaxMessageBytes  int64         // default DefaultMaxMessageBytes
	MaxRecipients    int           // default DefaultMaxRecipients
	MaxConnsPerIP    int           // default DefaultMaxConnsPerIP; <0 unlimited
	MaxConns         int           // per listener; default DefaultMaxConns; <0 unlimited
	ReadTimeout      time.Duration // inactivity while reading; default 5m
	WriteTimeout     time.Duration // default 5m
	DataTimeout      time.Duration // one message's whole data; default 10m
	MaxLineLength    int           // a message data line; default DefaultMaxLineLength
	MaxCommandLength int           // a command line; default DefaultMaxCommandLength
	// Submission turns this server into the submission service: AUTH
	// required before MAIL, sender ownership enforced.
	Submission bool
	// AllowInsecureAuth allows AUTH over cleartext from any address;
	// otherwise only from loopback (or after STARTTLS).
	AllowInsecureAuth bool
	// Throttle slows down repeated login failures per client address;
	// nil: no slow-down.
	Throttle *throttle.Limiter
	// RcptThrottle slows down clients whose recipients are refused, per
	// address (rcptlimit.go); nil: NewRcptLimiter().
	RcptThrottle *throttle.Limiter
	// MaxBadRecipients refused recipients end a session with 421;
	// default DefaultMaxBadRecipients.
	MaxBadRecipients int
	// Outbound queues mail for other domains from logged-in clients and
	// RelayNetworks (outbound.go); nil: such mail is refused.
	Outbound      *outbound.Queue
	RelayNetworks []netip.Prefix
	// ConnLogBudget and AddrLogBudget bound the log lines of one
	// connection and of one client address (logs.go); zero: defaults.
	ConnLogBudget, AddrLogBudget logrl.Budget
	// Checks runs SPF, DKIM and DMARC on mail to the Receiver-SMTP
	// (msgauth.go); nil: off. TrustedNetworks are exempt; SpoolDir holds
	// a message under check that outgrows memory ("": the system's).
	Checks          *msgauth.Checker
	TrustedNetworks []netip.Prefix
	SpoolDir        string
	// Chaos injects chosen replies for the test bed (chaos.go); nil: none.
	Chaos *chaos.Engine
}

// Server is one SMTP service (port 25 or submission).
type Server struct {
	opts    Options
	log     *slog.Logger
	service string        // "smtp" or "submission", for metrics and logs
	nextID  atomic.Uint64 // session numbers in logs
	srv     *gosmtp.Server

	rcptThrottle *throttle.Limiter
	logAddrs     *logrl.Addrs // per-address log budgets
	serverLog    *slog.Logger // lines with no session, within one budget

	ctx    context.Context // store calls; cancelled when the server is closed for good
	cancel context.CancelFunc

	perIP *connlimit.Limiter // shared by the server's listeners

	mu       sync.Mutex
	conns    map[*trackedConn]struct{}
	draining bool
}

// New checks opts, fills in defaults and returns a Server.
func New(opts Options) (*Server, error) {
	if opts.Deliverer == nil {
		return nil, errors.New("smtp: Deliverer is required")
	}
	if opts.Hostname == "" {
		opts.Hostname = opts.Deliverer.Hostname()
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if opts.MaxRecipients <= 0 {
		opts.MaxRecipients = DefaultMaxRecipients
	}
	if opts.MaxConnsPerIP == 0 {
		opts.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if opts.MaxConns == 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = DefaultReadTimeout
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.DataTimeout <= 0 {
		opts.DataTimeout = DefaultDataTimeout
	}
	if opts.MaxLineLength <= 0 {
		opts.MaxLineLength = DefaultMaxLineLength
	}
	if opts.MaxCommandLength <= 0 {
		opts.MaxCommandLength = DefaultMaxCommandLength
	}
	if opts.MaxBadRecipients <= 0 {
		opts.MaxBadRecipients = DefaultMaxBadRecipients
	}
	if opts.ConnLogBudget == (logrl.Budget{}) {
		opts.ConnLogBudget = defaultConnLogBudget
	}
	if opts.AddrLogBudget == (logrl.Budget{}) {
		opts.AddrLogBudget = defaultAddrLogBudget
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:    opts,
		service: "smtp",
		conns:   make(map[*trackedConn]struct{}),
		perIP:   connlimit.New(opts.MaxConnsPerIP),
	}
	if opts.Submission {
		s.service = "submission"
	}
	s.rcptThrottle = opts.RcptThrottle
	if s.rcptThrottle == nil {
		s.rcptThrottle = NewRcptLimiter()
	}
	s.log = log.With("proto", s.service)
	s.logAddrs = logrl.NewAddrs(opts.AddrLogBudget, 0, nil)
	s.serverLog = slog.New(logrl.Wrap(s.log.Handler(), logrl.NewLimiter(serverLogBudget, nil)))
	s.ctx, s.cancel = context.WithCancel(context.Background())

	srv := gosmtp.NewServer(gosmtp.BackendFunc(s.newSession))
	srv.Domain = opts.Hostname
	srv.TLSConfig = opts.TLSConfig
	srv.MaxMessageBytes = opts.MaxMessageBytes
	srv.MaxRecipients = opts.MaxRecipients
	srv.OnReject = s.limitRejected // reject.go
	srv.MaxLineLength = opts.MaxCommandLength
	srv.MaxDataLineLength = opts.MaxLineLength
	srv.WriteTimeout = opts.WriteTimeout
	srv.ReadTimeout = 0 // ours, renewed per read: see trackedConn.Read
	// Whether AUTH is offered is decided per session (loopback, TLS,
	// AllowInsecureAuth), so go-smtp's global switch stays open.
	srv.AllowInsecureAuth = true
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = errorLog{s.serverLog}
	s.srv = srv
	return s, nil
}

// Serve accepts cleartext connections on ln (STARTTLS offered when a TLS
// config is set) until Shutdown; it then returns ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error { return s.serve(ln, nil) }

// ServeTLS accepts implicit-TLS connections on ln (RFC 8314).
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.opts.TLSConfig == nil {
		return errors.New("smtp: ServeTLS needs a TLS config")
	}
	return s.serve(ln, s.opts.TLSConfig)
}

func (s *Server) serve(ln net.Listener, tlsConfig *tls.Config) error {
	s.mu.Lock()
	closed := s.draining
	s.mu.Unlock()
	if closed {
		ln.Close()
		return ErrServerClosed
	}
	err := s.srv.Serve(&listener{Listener: s.wrap(ln, tlsConfig != nil), srv: s, tls: tlsConfig})
	s.mu.Lock()
	closed = s.draining
	s.mu.Unlock()
	if closed {
		return ErrServerClosed
	}
	return err
}

// wrap applies the accept backoff and the connection caps to ln: over a
// cap, a client is told 421 (RFC 5321 3.8) and disconnected; on an
// implicit-TLS port it is disconnected without a word.
func (s *Server) wrap(ln net.Listener, implicitTLS bool) *netutil.Listener {
	o := netutil.Options{
		Protocol: s.service, Logger: s.log, MaxConns: s.opts.MaxConns, PerIP: s.perIP,
		Refused: func(reason string) { s.opts.Metrics.ConnRefused(s.service, reason) },
	}
	if !implicitTLS {
		o.Busy = []byte("421 4.7.0 " + s.opts.Hostname + " Too many connections, try again later\r\n")
		o.TooMany = []byte("421 4.7.0 " + s.opts.Hostname + " Too many connections from your address, try again later\r\n")
	}
	return netutil.Wrap(ln, o)
}

// Shutdown stops accepting, closes idle connections (go-smtp answers them
// 421), lets a transaction in progress finish (its data and its commit),
// and returns when every connection is closed. When ctx ends first, the
// remaining connections are closed and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	for c := range s.conns {
		c.drain()
	}
	s.mu.Unlock()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, gosmtp.ErrServerClosed) {
		err = nil
	}
	if ctx.Err() != nil {
		// go-smtp's Close is a no-op once Shutdown started: close the
		// remaining connections ourselves. A transaction cut off here
		// was never acknowledged, so the client will retry it.
		s.mu.Lock()
		for c := range s.conns {
			c.Conn.Close()
		}
		s.mu.Unlock()
		s.cancel()
		return ctx.Err()
	}
	s.cancel()
	return err
}
