package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/internal/autoconfig"
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

	closeOnce sync.Once
	done      chan struct{}
}

func newTLSOps(cfg *config.Config, log *slog.Logger, reload <-chan struct{}) (*tlsOps, error) {
	certs, err := newCertSource(cfg, log)
	if err != nil {
		return nil, err
	}
	return &tlsOps{cfg: cfg, log: log, certs: certs, reload: reload, done: make(chan struct{})}, nil
}

// run starts ACME once every listener serves (a TLS-ALPN-01 challenge
// arrives on one of them) and answers SIGHUP until the server closes.
func (o *tlsOps) run(ctx context.Context, d *Server) {
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
	if o.cfg.HTTP.Autoconfig {
		autoconfig.Mount(mux, autoconfig.FromConfig(o.cfg), o.log.With("component", "autoconfig"))
	}
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
