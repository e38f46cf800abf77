package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/internal/metrics"
)

// certSource is where every TLS listener's certificate comes from: the
// [tls] cert/key files, the self-signed pair, or ACME. The listeners
// share one *tls.Config whose GetCertificate asks it at each handshake,
// so a renewed or reloaded certificate is served without a restart.
type certSource struct {
	config     *tls.Config   // nil: [tls] is off
	static     *certReloader // cert/key files or self-signed
	selfSigned bool          // static is the self-signed pair
	acme       *acmeManager  // [tls] acme
	log        *slog.Logger
}

// newCertSource builds the TLS config of every listener from [tls]. With
// self_signed, a certificate for the host name (and localhost, 127.0.0.1,
// ::1) is generated into data_dir/tls on first use and reused after.
func newCertSource(cfg *config.Config, log *slog.Logger) (*certSource, error) {
	s := &certSource{log: log}
	if !cfg.TLSEnabled() {
		return s, nil
	}
	var get func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	switch {
	case cfg.TLS.ACME:
		m, err := newACME(cfg, log)
		if err != nil {
			return nil, err
		}
		s.acme, get = m, m.getCertificate
	default:
		certFile, keyFile := cfg.TLS.Cert, cfg.TLS.Key
		if cfg.TLS.SelfSigned {
			certFile, keyFile = cfg.SelfSignedPaths()
			if err := ensureSelfSigned(cfg.Hostname, certFile, keyFile); err != nil {
				return nil, fmt.Errorf("tls.self_signed: %w", err)
			}
		}
		r, err := newCertReloader(certFile, keyFile, log)
		if err != nil {
			return nil, fmt.Errorf("tls.cert: %w", err)
		}
		s.static, s.selfSigned, get = r, cfg.TLS.SelfSigned, r.getCertificate
	}
	base := &tls.Config{GetCertificate: get, MinVersion: tls.VersionTLS12}
	if s.acme != nil {
		// The TLS-ALPN-01 challenge (RFC 8737 3) must negotiate
		// acme-tls/1; other clients keep a config without ALPN, so that
		// an IMAP or SMTP client offering its own protocol names is not
		// refused for a mismatch (RFC 7301 3.2).
		challenge := base.Clone()
		challenge.NextProtos = []string{acmeTLSALPN}
		base.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			if isACMEHello(hello) {
				return challenge, nil
			}
			return nil, nil
		}
	}
	s.config = base
	return s, nil
}

// start begins obtaining and renewing ACME certificates.
func (s *certSource) start() error {
	if s.acme == nil {
		return nil
	}
	return s.acme.start()
}

// reload is SIGHUP: the certificate files are read again now (not at the
// next 30-second check). A pair that cannot be loaded keeps the old one
// and says why. ACME certificates renew themselves.
func (s *certSource) reload() {
	switch {
	case s.static != nil:
		s.static.reloadNow()
	case s.acme != nil:
		s.log.Info("SIGHUP: ACME certificates are renewed in the background; nothing to reload")
	}
}

// certificates lists what the listeners serve now, for the expiry
// metric: the file or self-signed pair (read again if due, as a handshake
// would), or each ACME name's newest certificate, or the self-signed
// stand-in while a name has none yet.
func (s *certSource) certificates() []metrics.CertInfo {
	var out []metrics.CertInfo
	switch {
	case s.static != nil:
		source := "file"
		if s.selfSigned {
			source = "self_signed"
		}
		if ci, ok := certInfo(s.static.current(), source); ok {
			out = append(out, ci)
		}
	case s.acme != nil:
		out = s.acme.certificates()
	}
	return out
}

// certInfo describes a certificate by the first name it holds.
func certInfo(c *tls.Certificate, source string) (metrics.CertInfo, bool) {
	if c == nil || len(c.Certificate) == 0 {
		return metrics.CertInfo{}, false
	}
	leaf := c.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return metrics.CertInfo{}, false
		}
	}
	name := leaf.Subject.CommonName
	if len(leaf.DNSNames) > 0 {
		name = leaf.DNSNames[0]
	}
	return metrics.CertInfo{Name: name, Source: source, NotAfter: leaf.NotAfter}, true
}

func (s *certSource) close() {
	if s != nil && s.acme != nil {
		s.acme.close()
	}
}
