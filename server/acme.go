package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/internal/metrics"
)

// acmeManager obtains and renews the certificate of [tls] acme with
// certmagic (RFC 8555): account and certificates under data_dir/acme,
// renewal by a background loop every acme_renew_check, the renewed
// certificate served by the next handshake. TLS-ALPN-01 (RFC 8737) is
// answered by the handshake of any immp TLS listener on the port the CA
// connects to (or a listener bound only while a challenge is open),
// HTTP-01 by /.well-known/acme-challenge/ on the [http] listener (or the
// same kind of short-lived listener).
type acmeManager struct {
	magic    *certmagic.Config
	cache    *certmagic.Cache
	issuer   *certmagic.ACMEIssuer
	fallback *certReloader // self-signed, until the first certificate is there
	names    []string
	log      *slog.Logger
	cancel   context.CancelFunc
}

// ACMEDir is where certmagic keeps the account key, certificates and
// locks: data_dir/acme.
func ACMEDir(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "acme") }

func newACME(cfg *config.Config, log *slog.Logger) (*acmeManager, error) {
	log = log.With("component", "acme")
	zl := zapToSlog(log)
	var roots *x509.CertPool
	if cfg.TLS.ACMECARoot != "" {
		var err error
		if roots, err = config.LoadCARoot(cfg.TLS.ACMECARoot); err != nil {
			return nil, &config.Error{Key: "tls.acme_ca_root", Msg: err.Error()}
		}
	}
	host, portStr, err := net.SplitHostPort(cfg.ACMEListenAddr())
	if err != nil {
		return nil, &config.Error{Key: "tls.acme_listen", Msg: err.Error()}
	}
	port, _ := strconv.Atoi(portStr)

	// Until the CA has answered, handshakes get a self-signed certificate
	// rather than failing: mail keeps flowing on a first start.
	certFile, keyFile := cfg.SelfSignedPaths()
	if err := ensureSelfSigned(cfg.Hostname, certFile, keyFile); err != nil {
		return nil, fmt.Errorf("tls.acme: the interim self-signed certificate: %w", err)
	}
	fallback, err := newCertReloader(certFile, keyFile, log)
	if err != nil {
		return nil, fmt.Errorf("tls.acme: %w", err)
	}

	m := &acmeManager{fallback: fallback, names: cfg.ACMEDomains(), log: log}
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return m.magic, nil },
		RenewCheckInterval: time.Duration(cfg.TLS.ACMERenewCheck),
		Logger:             zl,
	})
	m.magic = certmagic.New(m.cache, certmagic.Config{
		Storage:            &certmagic.FileStorage{Path: ACMEDir(cfg)},
		Logger:             zl,
		DefaultServerName:  m.names[0], // SMTP clients often send no SNI
		FallbackServerName: m.names[0], // nor the name in the certificate
		// Let's Encrypt has ended OCSP; a staple would only cost requests.
		OCSP: certmagic.OCSPConfig{DisableStapling: true},
	})
	m.issuer = certmagic.NewACMEIssuer(m.magic, certmagic.ACMEIssuer{
		CA:                      cfg.TLS.ACMEDirectory,
		Email:                   cfg.TLS.ACMEEmail,
		Agreed:                  true,
		TrustedRoots:            roots,
		DisableHTTPChallenge:    cfg.TLS.ACMEChallenge != config.ChallengeHTTP,
		DisableTLSALPNChallenge: cfg.TLS.ACMEChallenge != config.ChallengeTLSALPN,
		ListenHost:              host,
		AltHTTPPort:             port,
		AltTLSALPNPort:          port,
		Logger:                  zl,
	})
	m.magic.Issuers = []certmagic.Issuer{m.issuer}
	m.loadStored(context.Background())
	return m, nil
}

// loadStored puts the certificates kept in data_dir/acme into the cache,
// at startup before any listener serves (ManageAsync loads them too, but
// in goroutines: a handshake in the first milliseconds would get the
// interim certificate). Only storage is read: a CA that is down changes
// nothing.
func (m *acmeManager) loadStored(ctx context.Context) {
	for _, name := range m.names {
		if _, err := m.magic.CacheManagedCertificate(ctx, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			m.log.Warn("stored certificate cannot be loaded; a new one will be obtained", "name", name, "err", err)
		}
	}
}

// start obtains what is missing and keeps everything renewed in the
// background until close.
func (m *acmeManager) start() error {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.log.Info("managing certificates", "names", m.names, "directory", m.issuer.CA)
	return m.magic.ManageAsync(ctx, m.names)
}

// getCertificate is tls.Config.GetCertificate: the managed certificate,
// the TLS-ALPN-01 challenge certificate when the CA asks, or the interim
// self-signed one before the first certificate arrives.
func (m *acmeManager) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	cert, err := m.magic.GetCertificate(hello)
	if err == nil {
		return cert, nil
	}
	if isACMEHello(hello) {
		return nil, err
	}
	return m.fallback.getCertificate(hello)
}

// httpChallenge answers HTTP-01 (RFC 8555 8.3) under
// /.well-known/acme-challenge/ and passes every other request on.
func (m *acmeManager) httpChallenge(next http.Handler) http.Handler {
	return m.issuer.HTTPChallengeHandler(next)
}

// certificates is each managed name's newest certificate in the cache,
// or the self-signed stand-in (source self_signed, under the name) while
// the name has none: the expiry metric then shows ACME has not
// delivered.
func (m *acmeManager) certificates() []metrics.CertInfo {
	var out []metrics.CertInfo
	for _, name := range m.names {
		var best *metrics.CertInfo
		for _, c := range m.cache.AllMatchingCertificates(name) {
			ci, ok := certInfo(&c.Certificate, "acme")
			if ok && (best == nil || ci.NotAfter.After(best.NotAfter)) {
				ci.Name = name
				best = &ci
			}
		}
		if best == nil {
			if ci, ok := certInfo(m.fallback.current(), "self_signed"); ok {
				ci.Name = name
				best = &ci
			}
		}
		if best != nil {
			out = append(out, *best)
		}
	}
	return out
}

func (m *acmeManager) close() {
	if m.cancel != nil {
		m.cancel()
	}
	m.cache.Stop()
}

// acmeTLSALPN is the ALPN protocol of the TLS-ALPN-01 challenge (RFC
// 8737 6.2).
const acmeTLSALPN = "acme-tls/1"

func isACMEHello(hello *tls.ClientHelloInfo) bool {
	// RFC 8737 3: the CA offers this one protocol and no other.
	return len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acmeTLSALPN
}
