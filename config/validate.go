package config

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/immp-mail/immp/maildir"
)

// Validate checks every key and fills in the host name when empty. The
// first problem found is returned as an *Error naming its key.
func (c *Config) Validate() error {
	if c.Hostname == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		c.Hostname = h
	}
	if strings.ContainsAny(c.Hostname, " \t\r\n@[]") {
		return bad("hostname", "not a host name: %q", c.Hostname)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		return bad("data_dir", "must be set")
	}
	if len(c.Domains) == 0 {
		return bad("domains", "must list at least one mail domain")
	}
	seen := map[string]bool{}
	for _, d := range c.Domains {
		ld := strings.ToLower(d)
		if d == "" || strings.ContainsAny(d, " \t\r\n@/[]") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") {
			return bad("domains", "not a domain: %q", d)
		}
		if seen[ld] {
			return bad("domains", "%q is listed twice", d)
		}
		seen[ld] = true
	}
	if err := c.validateNames(); err != nil { // check.go
		return err
	}
	if c.ShutdownGrace < 0 {
		return bad("shutdown_grace", "must not be negative")
	}
	if err := c.validateListeners(); err != nil {
		return err
	}
	if err := c.validateTLS(); err != nil {
		return err
	}
	if err := c.validateTestbed(); err != nil {
		return err
	}
	if err := c.validateACME(); err != nil {
		return err
	}
	if err := c.validateAdmin(); err != nil {
		return err
	}
	switch {
	case c.SMTP.MaxMessageBytes <= 0:
		return bad("smtp.max_message_bytes", "must be greater than 0")
	case c.SMTP.MaxRecipients <= 0:
		return bad("smtp.max_recipients", "must be greater than 0")
	case c.SMTP.ReadTimeout <= 0:
		return bad("smtp.read_timeout", "must be greater than 0")
	case c.SMTP.DataTimeout <= 0:
		return bad("smtp.data_timeout", "must be greater than 0")
	case c.Accounts.AuthCacheTTL < 0:
		return bad("accounts.auth_cache_ttl", "must not be negative (\"0s\" turns the cache off)")
	case c.IMMP.IdleTimeout < MinIdleTimeout:
		return bad("immp.idle_timeout", "%v is below the minimum of 30m (draft 5.4)", c.IMMP.IdleTimeout)
	case c.IMMP.PreauthTimeout <= 0:
		return bad("immp.preauth_timeout", "must be greater than 0")
	case c.IMMP.PreauthTimeout > c.IMMP.IdleTimeout:
		return bad("immp.preauth_timeout", "%v is longer than immp.idle_timeout (%v)", c.IMMP.PreauthTimeout, c.IMMP.IdleTimeout)
	}
	for _, k := range []struct {
		key string
		n   int
	}{
		{"smtp.max_conns_per_ip", c.SMTP.MaxConnsPerIP}, {"smtp.max_conns", c.SMTP.MaxConns},
		{"submission.max_conns_per_ip", c.Submission.MaxConnsPerIP}, {"submission.max_conns", c.Submission.MaxConns},
		{"imap.max_conns_per_ip", c.IMAP.MaxConnsPerIP}, {"imap.max_conns", c.IMAP.MaxConns},
		{"immp.max_conns_per_ip", c.IMMP.MaxConnsPerIP}, {"immp.max_conns", c.IMMP.MaxConns},
		{"http.max_conns_per_ip", c.HTTP.MaxConnsPerIP}, {"http.max_conns", c.HTTP.MaxConns},
	} {
		if k.n == 0 || k.n < -1 {
			return bad(k.key, "must be greater than 0, or -1 for unlimited")
		}
	}
	if err := c.validatePostmaster(); err != nil {
		return err
	}
	if err := c.validateTrusted(); err != nil { // check.go
		return err
	}
	if err := c.validateMsgAuth(); err != nil {
		return err
	}
	if err := c.validateOutbound(); err != nil {
		return err
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return bad("log.format", "must be \"text\" or \"json\", not %q", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return bad("log.level", "must be \"debug\", \"info\", \"warn\" or \"error\", not %q", c.Log.Level)
	}
	return nil
}

func bad(key, format string, args ...any) *Error {
	return &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
}

func (c *Config) validateListeners() error {
	type bound struct{ key, host string }
	byPort := map[int][]bound{}
	for _, l := range c.Listeners() {
		host, portStr, err := net.SplitHostPort(l.Addr)
		if err != nil {
			return bad(l.Key, "not a host:port address: %q", l.Addr)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil || port < 0 || port > 65535 {
			return bad(l.Key, "bad port in %q", l.Addr)
		}
		if host != "" && host != "localhost" {
			if _, err := netip.ParseAddr(host); err != nil {
				if strings.ContainsAny(host, " \t/@") {
					return bad(l.Key, "bad host in %q", l.Addr)
				}
			}
		}
		if port == 0 { // chosen by the kernel: never a clash
			continue
		}
		for _, o := range byPort[port] {
			if o.host == host || wildcard(o.host) || wildcard(host) {
				return bad(l.Key, "address %q is also used by %s", l.Addr, o.key)
			}
		}
		byPort[port] = append(byPort[port], bound{l.Key, host})
	}
	return nil
}

func wildcard(host string) bool { return host == "" || host == "0.0.0.0" || host == "::" }

func (c *Config) validateTLS() error {
	t := c.TLS
	switch {
	case t.SelfSigned && (t.Cert != "" || t.Key != ""):
		return bad("tls.self_signed", "cannot be combined with tls.cert and tls.key")
	case t.Cert != "" && t.Key == "":
		return bad("tls.key", "must be set when tls.cert is")
	case t.Key != "" && t.Cert == "":
		return bad("tls.cert", "must be set when tls.key is")
	}
	if t.Cert != "" {
		if _, err := os.Stat(t.Cert); err != nil {
			return bad("tls.cert", "%v", err)
		}
		if _, err := os.Stat(t.Key); err != nil {
			return bad("tls.key", "%v", err)
		}
		if _, err := tls.LoadX509KeyPair(t.Cert, t.Key); err != nil {
			return bad("tls.cert", "cannot use certificate and key: %v", err)
		}
	}
	if !c.TLSEnabled() {
		for _, k := range []struct{ key, addr string }{
			{"imap.tls_listen", c.IMAP.TLSListen}, {"immp.tls_listen", c.IMMP.TLSListen},
			{"http.tls_listen", c.HTTP.TLSListen},
		} {
			if k.addr != "" {
				return bad(k.key, "needs a certificate: set [tls] cert and key (or acme, or self_signed)")
			}
		}
	}
	return nil
}

// TrustedPrefixes parses immp.trusted_networks (parsePrefixes).
func (c *Config) TrustedPrefixes() ([]netip.Prefix, error) {
	return parsePrefixes("immp.trusted_networks", c.IMMP.TrustedNetworks)
}

// parsePrefixes parses the networks of a trusted_networks list under key;
// a bare address counts as a single-host network.
func parsePrefixes(key string, list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, bad(key, "not a CIDR network: %q", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// validatePostmaster refuses a postmaster route that cannot work: a name
// no account can have, or an address outside the served domains (there
// is no outbound relay to reach it). Whether the account exists is a
// matter of the data directory; "immp serve" reports it.
func (c *Config) validatePostmaster() error {
	if c.SMTP.Postmaster == "" {
		return nil
	}
	addr, err := maildir.NewAccountAddress(c.SMTP.Postmaster)
	if err != nil {
		return bad("smtp.postmaster", "%v", err)
	}
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	for _, d := range c.Domains {
		if strings.EqualFold(strings.TrimSuffix(d, "."), domain) {
			return nil
		}
	}
	return bad("smtp.postmaster", "%s is not in one of the domains %v: postmaster mail could not be delivered to it", addr, c.Domains)
}
