package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/delivery"
	"github.com/immp-mail/immp/delivery/address"
	"github.com/immp-mail/immp/delivery/guard"
	"github.com/immp-mail/immp/httpapi"
	"github.com/immp-mail/immp/imap"
	"github.com/immp-mail/immp/immp"
	"github.com/immp-mail/immp/internal/chaos"
	"github.com/immp-mail/immp/internal/connlimit"
	"github.com/immp-mail/immp/internal/metrics"
	"github.com/immp-mail/immp/internal/netutil"
	"github.com/immp-mail/immp/internal/recovery"
	"github.com/immp-mail/immp/internal/throttle"
	"github.com/immp-mail/immp/maildir"
	"github.com/immp-mail/immp/outbound"
	"github.com/immp-mail/immp/smtp"
)

// Options are what Start needs: the validated configuration, a logger
// (nil discards) and the version string the ready line reports.
type Options struct {
	Config  config.Config
	Logger  *slog.Logger
	Version string
	// Reload, when not nil, receives a value per SIGHUP: certificate
	// files and the admin password are read again (server/tlsops.go).
	Reload <-chan struct{}
}

// Server is one running immp: the mailbox layer, the servers over it and
// their listeners. It holds everything serve builds, so tests and the
// in-process test server can start one on 127.0.0.1:0 ports and read the
// bound addresses.
type Server struct {
	version string
	cfg     config.Config
	log     *slog.Logger
	metrics *metrics.Metrics
	store   *maildir.Store
	chaos   *chaos.Engine   // SMTP fault rules (testbed.go)
	api     *httpapi.API    // /api/v1/ (testbed.go)
	queue   *outbound.Queue // nil unless [outbound] enabled (outbound.go)

	listeners []*boundListener
	servers   []namedServer
	ops       *tlsOps // certificates, autoconfig, admin page (tlsops.go)

	ready    atomic.Bool // all listeners up and the store open
	stopping atomic.Bool
}

// boundListener is one listener bound at startup, and how it is served.
type boundListener struct {
	key   string
	ln    net.Listener
	serve func(net.Listener) error
}

type namedServer struct {
	name string
	srv  interface{ Shutdown(context.Context) error }
}

// BindError is a listener that could not be bound: exit 1, naming the key
// and the address.
type BindError struct {
	key, addr string
	err       error
}

func (e *BindError) Error() string {
	return fmt.Sprintf("%s: cannot listen on %s: %v", e.key, e.addr, e.err)
}

// Start binds every configured listener first (so a port in use
// fails startup before anything else is touched), then opens the store and
// builds the servers. Nothing is served until run.
func Start(ctx context.Context, opts Options) (_ *Server, err error) {
	cfg, log := opts.Config, opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Server{cfg: cfg, log: log, metrics: metrics.New(), version: opts.Version}
	defer func() {
		if err != nil {
			d.closeAll()
		}
	}()
	for _, l := range cfg.Listeners() {
		var lc net.ListenConfig
		if l.Key == "smtp.listen" || l.Key == "submission.listen" {
			// SMTP sessions are short and bounded by read timeouts; TCP
			// keepalive would cost four setsockopt calls per connection.
			lc.KeepAlive = -1
		}
		ln, err := lc.Listen(ctx, "tcp", l.Addr)
		if err != nil {
			return nil, &BindError{key: l.Key, addr: l.Addr, err: unwrapSyscall(err)}
		}
		d.listeners = append(d.listeners, &boundListener{key: l.Key, ln: ln})
	}

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	if d.ops, err = newTLSOps(&d.cfg, log, opts.Reload); err != nil {
		return nil, err
	}
	tlsCfg := d.ops.certs.config
	d.metrics.WatchCertificates(d.ops.certs.certificates)

	authCacheTTL := time.Duration(cfg.Accounts.AuthCacheTTL)
	if authCacheTTL == 0 {
		authCacheTTL = -1 // "0s" in the file: no cache
	}
	d.store, err = maildir.Open(ctx, maildir.Options{
		DataDir:      cfg.DataDir,
		Logger:       log.With("component", "maildir"),
		AutoCreate:   cfg.Accounts.AutoCreate,
		AuthCacheTTL: authCacheTTL,
		DefaultQuota: int64(cfg.Accounts.Quota),
	})
	if err != nil {
		return nil, fmt.Errorf("data_dir: opening the mailbox layer in %s: %w", cfg.DataDir, err)
	}

	mapper := address.Mapper{Domains: cfg.Domains, PlusSubinbox: cfg.Delivery.PlusSubinbox, AnyDomain: cfg.Testbed.Capture}
	g, err := guard.New(guard.Options{Store: d.store, Mapper: mapper, Metrics: d.metrics, Logger: log.With("component", "guard")})
	if err != nil {
		return nil, err
	}
	deliverer, err := delivery.New(delivery.Options{
		Store: d.store, Mapper: mapper, Guard: g, Metrics: d.metrics,
		Logger: log.With("component", "delivery"), Hostname: cfg.Hostname,
		Postmaster: cfg.SMTP.Postmaster, Capture: cfg.Testbed.Capture,
	})
	if err != nil {
		return nil, err
	}
	reportPostmaster(ctx, cfg, deliverer, log)
	if err := d.testbed(cfg, g.Invalidate); err != nil {
		return nil, err
	}
	trusted, err := cfg.TrustedPrefixes()
	if err != nil {
		return nil, err
	}
	queue, relayNets, err := d.startOutbound(deliverer)
	if err != nil {
		return nil, err
	}
	// One login-failure limiter for every protocol: a password guesser
	// gains nothing by switching from IMAP to IMMP or submission, and the
	// failures against an account add up across all three.
	limiter := throttle.New(throttle.Options{})

	// One refused-recipient limiter for both SMTP services: a prober
	// gains nothing by switching ports.
	rcptLimiter := smtp.NewRcptLimiter()
	smtpOpts := func(submission bool) smtp.Options {
		o := smtp.Options{
			Logger: log, Metrics: d.metrics, Deliverer: deliverer, Hostname: cfg.Hostname,
			TLSConfig: tlsCfg, MaxMessageBytes: int64(cfg.SMTP.MaxMessageBytes),
			MaxRecipients: cfg.SMTP.MaxRecipients, MaxConnsPerIP: cfg.SMTP.MaxConnsPerIP,
			MaxConns: cfg.SMTP.MaxConns, ReadTimeout: time.Duration(cfg.SMTP.ReadTimeout), DataTimeout: time.Duration(cfg.SMTP.DataTimeout),
			Submission: submission, Chaos: d.chaos,
			AllowInsecureAuth: cfg.Auth.AllowInsecure, Throttle: limiter, RcptThrottle: rcptLimiter,
			Outbound: queue, RelayNetworks: relayNets,
		}
		if submission {
			o.MaxConnsPerIP, o.MaxConns = cfg.Submission.MaxConnsPerIP, cfg.Submission.MaxConns
		}
		return o
	}
	receiverOpts := smtpOpts(false)
	if err := withChecks(&receiverOpts, &cfg, log); err != nil {
		return nil, err
	}
	var smtpSrv, subSrv *smtp.Server
	var imapSrv *imap.Server
	var immpSrv *immp.Server
	// One handler for both HTTP listeners: the admin page's sessions and
	// its password (reloaded on SIGHUP) are one, whichever port serves.
	var ops http.Handler
	for _, l := range d.listeners {
		switch l.key {
		case "smtp.listen":
			if smtpSrv, err = smtp.New(receiverOpts); err != nil {
				return nil, err
			}
			d.servers = append(d.servers, namedServer{"smtp", smtpSrv})
			l.serve = smtpSrv.Serve
		case "submission.listen":
			if subSrv, err = smtp.New(smtpOpts(true)); err != nil {
				return nil, err
			}
			d.servers = append(d.servers, namedServer{"submission", subSrv})
			l.serve = subSrv.Serve
		case "imap.listen", "imap.tls_listen":
			if imapSrv == nil {
				imapSrv, err = imap.New(imap.Options{
					Logger: log, Metrics: d.metrics, Store: d.store, TLSConfig: tlsCfg,
					AllowInsecureAuth: cfg.Auth.AllowInsecure, Throttle: limiter,
					AppendLimit:   uint32(min(int64(cfg.SMTP.MaxMessageBytes), 1<<32-1)),
					MaxConnsPerIP: cfg.IMAP.MaxConnsPerIP, MaxConns: cfg.IMAP.MaxConns,
				})
				if err != nil {
					return nil, err
				}
				d.servers = append(d.servers, namedServer{"imap", imapSrv})
			}
			l.serve = imapSrv.Serve
			if l.key == "imap.tls_listen" {
				l.serve = imapSrv.ServeTLS
			}
		case "immp.listen", "immp.tls_listen":
			if immpSrv == nil {
				immpSrv, err = immp.New(immp.Options{
					Logger: log, Metrics: d.metrics, Store: d.store, Guard: g, Mapper: mapper,
					TLSConfig: tlsCfg, TrustedNetworks: trusted, AllowInsecureAuth: cfg.Auth.AllowInsecure,
					IdleTimeout: time.Duration(cfg.IMMP.IdleTimeout), PreauthTimeout: time.Duration(cfg.IMMP.PreauthTimeout),
					Throttle: limiter, MaxConnsPerIP: cfg.IMMP.MaxConnsPerIP, MaxConns: cfg.IMMP.MaxConns,
				})
				if err != nil {
					return nil, fmt.Errorf("immp: %w", err)
				}
				d.servers = append(d.servers, namedServer{"immp", immpSrv})
			}
			l.serve = immpSrv.Serve
			if l.key == "immp.tls_listen" {
				l.serve = immpSrv.ServeTLS
			}
		case "http.listen", "http.tls_listen":
			if ops == nil {
				ops = d.opsHandler()
			}
			hl := newHTTPLog(log, ops) // httplog.go
			httpSrv := &http.Server{Handler: recovery.Handler(log, hl), ConnContext: hl.connContext, ReadHeaderTimeout: 10 * time.Second,
				IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
			httpSrv.RegisterOnShutdown(d.shutdownAPI)
			d.servers = append(d.servers, namedServer{l.key, httpSrv})
			l.serve = func(ln net.Listener) error { return httpSrv.Serve(d.ops.httpListener(d.wrapHTTP(ln), l.key)) }
		}
	}
	return d, nil
}

// httpBusy is the answer to an HTTP connection over a cap (RFC 9110
// 15.6.4), written before any request is read.
const httpBusy = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Retry-After: 5\r\nConnection: close\r\nContent-Length: 38\r\n\r\nToo many connections, try again later\n"

// wrapHTTP gives the operations endpoint what every listener has: accept
// backoff (net/http has its own, this one also wakes on Shutdown) and the
// [http] connection caps.
func (d *Server) wrapHTTP(ln net.Listener) net.Listener {
	return netutil.Wrap(ln, netutil.Options{
		Protocol: "http", Logger: d.log, MaxConns: d.cfg.HTTP.MaxConns,
		PerIP: connlimit.New(d.cfg.HTTP.MaxConnsPerIP), Busy: []byte(httpBusy), TooMany: []byte(httpBusy),
		Refused: func(reason string) { d.metrics.ConnRefused("http", reason) },
	})
}

// Addr returns the bound address of the listener under key ("" if off);
// with port 0 in the config it tells the port the kernel chose.
func (d *Server) Addr(key string) string {
	for _, l := range d.listeners {
		if l.key == key {
			return l.ln.Addr().String()
		}
	}
	return ""
}

// Run serves every listener until ctx ends (a signal) or one of them
// fails, then shuts everything down within the grace period. It returns
// nil after a requested, graceful stop.
func (d *Server) Run(ctx context.Context) error {
	failed := make(chan error, len(d.listeners))
	var wg sync.WaitGroup
	for _, l := range d.listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := l.serve(l.ln)
			if d.stopping.Load() {
				d.log.Debug("listener closed", "key", l.key)
				return
			}
			if err == nil {
				err = errors.New("stopped serving")
			}
			failed <- fmt.Errorf("%s (%s): %w", l.key, l.ln.Addr(), err)
		}()
		d.log.Info("listening", "key", l.key, "addr", l.ln.Addr().String())
	}
	d.ready.Store(true)
	d.ops.run(ctx)
	d.log.Info("immp ready", "version", d.version, "hostname", d.cfg.Hostname, "data_dir", d.cfg.DataDir, "domains", d.cfg.Domains)

	var runErr error
	select {
	case <-ctx.Done():
		d.log.Info("shutting down", "grace", d.cfg.ShutdownGrace.String())
	case runErr = <-failed:
		d.log.Error("listener failed; shutting down", "err", runErr)
	}
	d.shutdown()
	wg.Wait()
	return runErr
}

// shutdown stops accepting everywhere, lets in-flight transactions and
// commands finish within shutdown_grace, then closes what is left and the
// store.
func (d *Server) shutdown() {
	d.stopping.Store(true)
	d.ready.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(d.cfg.ShutdownGrace))
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range d.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Warn("shutdown incomplete", "server", s.name, "err", err)
			}
		}()
	}
	wg.Wait()
	d.closeAll()
	d.log.Info("stopped")
}

// closeAll releases listeners and the store (idempotent enough for the
// failure paths of startDaemon).
func (d *Server) closeAll() {
	d.stopOutbound()
	d.ops.close()
	for _, l := range d.listeners {
		l.ln.Close()
	}
	if d.store != nil {
		if err := d.store.Close(); err != nil {
			d.log.Warn("closing the mailbox layer", "err", err)
		}
		d.store = nil
	}
}

// unwrapSyscall shortens "listen tcp 127.0.0.1:25: bind: address already
// in use" to the part that the BindError does not already say.
func unwrapSyscall(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// reportPostmaster says where mail to postmaster@ goes now (RFC 5321
// 4.5.1; delivery/postmaster.go), loudly when it is not the configured
// account. Nothing is created here.
func reportPostmaster(ctx context.Context, cfg config.Config, d *delivery.Deliverer, log *slog.Logger) {
	if cfg.SMTP.Listen == "" && cfg.Submission.Listen == "" {
		return
	}
	acct, fallback, err := d.PostmasterRoute(ctx)
	want := cfg.SMTP.Postmaster
	if want == "" {
		want = "postmaster@" + cfg.Domains[0]
	}
	switch {
	case (fallback || errors.Is(err, maildir.ErrNoSuchAccount)) && cfg.Accounts.AutoCreate:
		log.Info("postmaster mail goes to "+want+", created on first delivery (auto_create)", "key", "smtp.postmaster")
	case errors.Is(err, maildir.ErrNoSuchAccount):
		log.Warn("no account exists: mail to postmaster@ is refused until "+want+" (or any account) is created",
			"key", "smtp.postmaster")
	case err != nil:
		log.Warn("cannot tell where postmaster mail goes", "err", err)
	case fallback:
		log.Warn("account "+want+" does not exist: postmaster mail goes to the oldest account instead; "+
			"create it, or set smtp.postmaster", "to", acct.Address, "key", "smtp.postmaster")
	default:
		log.Info("postmaster mail goes to "+acct.Address, "key", "smtp.postmaster")
	}
}

// Config returns the configuration the server runs with.
func (d *Server) Config() config.Config { return d.cfg }

// Close releases the listeners and the store of a server that was started
// but never Run (Run closes them itself when it returns).
func (d *Server) Close() { d.closeAll() }
