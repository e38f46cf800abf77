package server

import (
	"context"
	"net"
	"net/http"
	"net/netip"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/httpapi"
	"github.com/immp-mail/immp/internal/chaos"
)

// testbed builds what the [testbed] section and the HTTP API add: the
// SMTP chaos rules engine (with the rules of the config) and the API
// over the store. invalidate tells the spam guard accounts changed.
func (d *Server) testbed(cfg config.Config, invalidate func()) error {
	d.chaos = chaos.New(nil)
	for _, r := range cfg.Testbed.Chaos {
		if _, err := d.chaos.Add(r); err != nil {
			return &config.Error{Key: "testbed.chaos", Msg: err.Error()}
		}
	}
	var token string
	if cfg.HTTP.APITokenFile != "" {
		var err error
		if token, err = config.ReadAPIToken(cfg.HTTP.APITokenFile); err != nil {
			return &config.Error{Key: "http.api_token_file", Msg: err.Error()}
		}
	}
	api, err := httpapi.New(httpapi.Options{
		Store: d.store, Chaos: d.chaos, Testbed: cfg.Testbed.Enabled, Token: token,
		AccountsChanged: invalidate, Logger: d.log.With("component", "httpapi"),
	})
	if err != nil {
		return err
	}
	d.api = api
	if cfg.HTTP.Listen != "" {
		switch {
		case token != "":
			d.log.Info("HTTP API on /api/v1/ with a bearer token", "key", "http.api_token_file")
		case cfg.Testbed.Enabled && !loopback(cfg.HTTP.Listen):
			d.log.Warn("HTTP API on /api/v1/ WITHOUT A TOKEN on a non-loopback address: anyone who reaches "+
				cfg.HTTP.Listen+" can read and delete all mail; set http.api_token_file", "key", "testbed.enabled")
		case cfg.Testbed.Enabled:
			d.log.Warn("HTTP API on /api/v1/ without a token (test-bed profile): keep the [http] listener private", "key", "testbed.enabled")
		}
	}
	if cfg.Testbed.Capture {
		d.log.Warn("capture is on: mail to any address at any domain is accepted and stored, nothing is relayed", "key", "testbed.capture")
	}
	return nil
}

// mountAPI adds /api/v1/ to the operations mux.
func (d *Server) mountAPI(mux *http.ServeMux) { mux.Handle("/api/v1/", d.api) }

// shutdownAPI ends the API's waits and event streams (http.Server's
// Shutdown would otherwise wait for them until the grace period ends).
func (d *Server) shutdownAPI() {
	if d.api != nil {
		d.api.Shutdown(context.Background())
	}
}

// Ready says whether Run has every listener serving and has not begun
// to stop (what /readyz answers).
func (d *Server) Ready() bool { return d.ready.Load() }

// loopback says whether a listen address is on loopback only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
