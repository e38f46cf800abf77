package server

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/internal/admin"
	"github.com/immp-mail/immp/internal/autoconfig"
	"github.com/immp-mail/immp/internal/mtasts"
)

// tlsOps holds what the server does for operators beyond serving mail:
// the certificate source (files, self-signed, ACME), SIGHUP reloads, and
// the HTTP routes for ACME HTTP-01, client autoconfiguration and the
// admin page.
type tlsOps struct {
	cfg    *config.Config
	log    *slog.Logger
	certs  *certSource
	reload <-chan struct{}
	admin  *admin.Handler // nil: no admin page
	// adminPassword is read at start, so that a bad file fails startup.
	adminPassword string

	closeOnce sync.Once
	done      chan struct{}
}

func newTLSOps(cfg *config.Config, log *slog.Logger, reload <-chan struct{}) (*tlsOps, error) {
	certs, err := newCertSource(cfg, log)
	if err != nil {
		return nil, err
	}
	o := &tlsOps{cfg: cfg, log: log, certs: certs, reload: reload, done: make(chan struct{})}
	if cfg.HTTP.AdminPasswordFile != "" {
		if o.adminPassword, err = cfg.AdminPassword(); err != nil {
			certs.close()
			return nil, err
		}
	}
	return o, nil
}

// run starts ACME once every listener serves (a TLS-ALPN-01 challenge
// arrives on one of them) and answers SIGHUP until the server closes.
func (o *tlsOps) run(ctx context.Context) {
	if err := o.certs.start(); err != nil {
		o.log.Error("ACME: cannot manage certificates", "err", err)
	}
	if o.reload == nil {
		return
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-o.done:
				return
			case <-o.reload:
				o.log.Info("SIGHUP: reloading")
				o.certs.reload()
				o.reloadAdmin()
			}
		}
	}()
}

// mount adds the routes of this file's features to the [http] mux.
func (o *tlsOps) mount(mux *http.ServeMux, d *Server) {
	if o.certs.acme != nil && o.cfg.TLS.ACMEChallenge == config.ChallengeHTTP {
		// RFC 8555 8.3; any method: the CA sends GET.
		mux.Handle("/.well-known/acme-challenge/", o.certs.acme.httpChallenge(http.NotFoundHandler()))
	}
	if o.adminPassword != "" {
		o.mountAdmin(mux, d)
	}
	if o.cfg.HTTP.Autoconfig {
		autoconfig.Mount(mux, autoconfig.FromConfig(o.cfg), o.log.With("component", "autoconfig"))
	}
	if o.cfg.HTTP.MTASTSMode != "" { // RFC 8461 3.3, for Host mta-sts.DOMAIN only
		mux.Handle("GET "+mtasts.Path, mtasts.Handler(mtasts.FromConfig(*o.cfg), o.cfg.Domains))
	}
}

// httpListener is ln for http.listen, and ln under TLS with the shared
// certificate source for http.tls_listen (HTTPS: HTTP/1.1, and the
// TLS-ALPN-01 challenge when ACME's port is this one).
func (o *tlsOps) httpListener(ln net.Listener, key string) net.Listener {
	if key != "http.tls_listen" {
		return ln
	}
	return tls.NewListener(ln, o.certs.config)
}

func (o *tlsOps) close() {
	if o == nil {
		return
	}
	o.closeOnce.Do(func() {
		close(o.done)
		o.certs.close()
	})
}

// mountAdmin serves the admin page at /admin/. It is on only with
// http.admin_password_file (config validation), whatever the address; a
// non-loopback address is allowed (a home network) but said loudly, the
// page being plain HTTP.
func (o *tlsOps) mountAdmin(mux *http.ServeMux, d *Server) {
	opts := admin.Options{
		Store: d.store, Hostname: o.cfg.Hostname, Domains: o.cfg.Domains, DefaultQuota: int64(o.cfg.Accounts.Quota),
		Password: o.adminPassword, Logger: o.log.With("component", "admin"),
	}
	if q := d.queue; q != nil { // [outbound] enabled: the page shows the queue's size
		opts.Queue = func(context.Context) (int, error) { n, _ := q.Stats(); return n, nil }
	}
	h, err := admin.New(opts)
	if err != nil {
		o.log.Error("admin page off", "err", err)
		return
	}
	h.Mount(mux)
	o.admin = h
	if host, _, _ := net.SplitHostPort(o.cfg.HTTP.Listen); !loopbackHost(host) {
		o.log.Warn("the admin page is served on a non-loopback address over plain HTTP: keep it on a trusted "+
			"network or put an HTTPS proxy in front", "key", "http.admin_password_file", "listen", o.cfg.HTTP.Listen)
	}
}

// reloadAdmin reads the admin password file again (SIGHUP); a file that
// became unusable keeps the old password.
func (o *tlsOps) reloadAdmin() {
	if o.admin == nil {
		return
	}
	pw, err := o.cfg.AdminPassword()
	if err != nil {
		o.log.Warn("SIGHUP: admin password not reloaded; keeping the old one", "err", err)
		return
	}
	o.admin.SetPassword(pw)
}

func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
