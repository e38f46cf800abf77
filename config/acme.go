package config

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// ACME challenge types (RFC 8555 8.3, RFC 8737).
const (
	ChallengeTLSALPN = "tls-alpn-01"
	ChallengeHTTP    = "http-01"
)

// ACMEListenAddr is where the CA's challenge connection arrives:
// acme_listen, or the port the challenge type is defined on.
func (c *Config) ACMEListenAddr() string {
	if c.TLS.ACMEListen != "" {
		return c.TLS.ACMEListen
	}
	if c.TLS.ACMEChallenge == ChallengeHTTP {
		return ":80" // RFC 8555 8.3
	}
	return ":443" // RFC 8737 3
}

// ACMEDomains are the names certificates are obtained for: the host
// name first, then acme_names, then autoconfig.DOMAIN for each domain
// when autoconfiguration is served over HTTPS (Thunderbird asks
// https://autoconfig.DOMAIN/ first) and mta-sts.DOMAIN when the MTA-STS
// policy is, without duplicates.
func (c *Config) ACMEDomains() []string {
	out := []string{strings.ToLower(c.Hostname)}
	names := c.TLS.ACMENames
	for _, served := range []struct {
		on     bool
		prefix string
	}{
		{c.HTTP.TLSListen != "" && c.HTTP.Autoconfig, "autoconfig."},
		{c.HTTP.TLSListen != "" && c.HTTP.MTASTSMode != "", "mta-sts."}, // RFC 8461 3.3: fetched over HTTPS
	} {
		if !served.on {
			continue
		}
		for _, d := range c.Domains {
			if publicName(d) != nil {
				continue // localhost and the like: no certificate for it
			}
			names = append(names[:len(names):len(names)], served.prefix+strings.TrimSuffix(d, "."))
		}
	}
	for _, n := range names {
		n = strings.ToLower(n)
		dup := false
		for _, o := range out {
			dup = dup || o == n
		}
		if !dup {
			out = append(out, n)
		}
	}
	return out
}

// validateACME checks the acme_* keys; with acme off, the keys that only
// make sense with it must be unset (a half-done setup says so).
func (c *Config) validateACME() error {
	t := c.TLS
	if !t.ACME {
		for _, k := range []struct{ key, val string }{
			{"tls.acme_email", t.ACMEEmail}, {"tls.acme_ca_root", t.ACMECARoot}, {"tls.acme_listen", t.ACMEListen},
		} {
			if k.val != "" {
				return bad(k.key, "is set but tls.acme is off (set acme = true to use it)")
			}
		}
		if len(t.ACMENames) > 0 {
			return bad("tls.acme_names", "is set but tls.acme is off (set acme = true to use it)")
		}
		return nil
	}
	switch {
	case t.Cert != "" || t.Key != "":
		return bad("tls.acme", "cannot be combined with tls.cert and tls.key: choose one source of certificates")
	case t.SelfSigned:
		return bad("tls.acme", "cannot be combined with tls.self_signed")
	}
	if err := publicName(c.Hostname); err != nil {
		return bad("hostname", "tls.acme needs a fully qualified public host name: %v", err)
	}
	for _, n := range t.ACMENames {
		if err := publicName(n); err != nil {
			return bad("tls.acme_names", "%v", err)
		}
	}
	if t.ACMEEmail != "" && (!strings.Contains(t.ACMEEmail, "@") || strings.ContainsAny(t.ACMEEmail, " \t\r\n<>,")) {
		return bad("tls.acme_email", "not an email address: %q", t.ACMEEmail)
	}
	u, err := url.Parse(t.ACMEDirectory)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return bad("tls.acme_directory", "must be an https:// URL (RFC 8555 6.1), not %q", t.ACMEDirectory)
	}
	if t.ACMECARoot != "" {
		if _, err := LoadCARoot(t.ACMECARoot); err != nil {
			return bad("tls.acme_ca_root", "%v", err)
		}
	}
	switch t.ACMEChallenge {
	case ChallengeTLSALPN, ChallengeHTTP:
	default:
		return bad("tls.acme_challenge", "must be %q or %q, not %q", ChallengeTLSALPN, ChallengeHTTP, t.ACMEChallenge)
	}
	if t.ACMEListen != "" {
		_, port, err := net.SplitHostPort(t.ACMEListen)
		if p, perr := strconv.Atoi(port); err != nil || perr != nil || p <= 0 || p > 65535 {
			return bad("tls.acme_listen", "not a host:port address: %q", t.ACMEListen)
		}
	}
	if t.ACMERenewCheck < Duration(time.Second) {
		return bad("tls.acme_renew_check", "must be at least 1s")
	}
	return nil
}

// publicName reports why name cannot be in a publicly trusted
// certificate: an IP address, a single label, localhost.
func publicName(name string) error {
	n := strings.TrimSuffix(strings.ToLower(name), ".")
	switch {
	case n == "":
		return errFmt("empty name")
	case strings.ContainsAny(n, " \t\r\n@/:*[]"):
		return errFmt("%q is not a host name", name)
	case !strings.Contains(n, "."):
		return errFmt("%q has a single label", name)
	case n == "localhost" || strings.HasSuffix(n, ".localhost"):
		return errFmt("%q is a loopback name", name)
	}
	if _, err := netip.ParseAddr(n); err == nil {
		return errFmt("%q is an IP address", name)
	}
	return nil
}

// LoadCARoot reads a PEM file of one or more CA certificates.
func LoadCARoot(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, errFmt("%s holds no PEM certificate", path)
	}
	return pool, nil
}

func errFmt(format string, args ...any) error { return fmt.Errorf(format, args...) }
