package config

import (
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Outbound is the [outbound] section: the queue and delivery of mail to
// other domains (package outbound).
type Outbound struct {
	Enabled            bool     `toml:"enabled" doc:"Queue and deliver mail for other domains, from authenticated submission\nand [smtp] trusted_networks only (never an open relay). Off: such mail is\nrefused with \"550 5.7.1 outbound relay is not configured\"."`
	Hostname           string   `toml:"hostname" doc:"Name sent in EHLO to other servers. Empty: the top-level hostname. It should\nresolve to this server's public address and match its reverse DNS."`
	Relay              string   `toml:"relay" doc:"Smarthost, \"HOST:PORT\": send everything through it instead of looking up\nMX records (many home connections cannot send on port 25). Port 465 is\nimplicit TLS; any other port uses STARTTLS. Example: \"smtp.provider.example:587\".\nEmpty: deliver to each domain's MX."`
	RelayUsername      string   `toml:"relay_username" doc:"Account at the smarthost (AUTH PLAIN or LOGIN, only over TLS). Empty: no AUTH."`
	RelayPasswordFile  string   `toml:"relay_password_file" doc:"File holding the smarthost password (first line); keep it mode 0600."`
	TLS                string   `toml:"tls" doc:"STARTTLS to other servers: \"opportunistic\" (when offered, certificate not\nchecked, as most MTAs do), \"required\" (never send in clear: defer instead),\n\"verify\" (required, and the certificate must be valid for the MX host name)\nor \"off\". A domain's MTA-STS policy (RFC 8461) in enforce mode always\nrequires TLS with a valid certificate for a listed MX."`
	Resolver           string   `toml:"resolver" doc:"DNS server, \"HOST:PORT\", for MX, A/AAAA, MTA-STS, SPF, DKIM and DMARC\nlookups. Empty: the system's."`
	MXPort             int      `toml:"mx_port" doc:"Port of the receiving servers (25; other values for tests)."`
	RetryInitial       Duration `toml:"retry_initial" doc:"First wait after a temporary failure (4xx, no connection); it doubles\nafter each further one, up to 4h between attempts."`
	MaxAge             Duration `toml:"max_age" doc:"How long a message is retried before it is returned to its sender as\nundeliverable (RFC 5321 4.5.4.1 suggests 4-5 days)."`
	DelayWarning       Duration `toml:"delay_warning" doc:"Tell the sender once (a \"delayed\" DSN) when a recipient is still being\nretried after this long. \"0s\": never."`
	MaxConns           int      `toml:"max_conns" doc:"Most simultaneous outgoing connections in all."`
	MaxConnsPerDomain  int      `toml:"max_conns_per_domain" doc:"Most simultaneous outgoing connections to one destination (a recipient\ndomain, or the relay)."`
	MessagesPerConnect int      `toml:"messages_per_connection" doc:"Messages sent over one connection before it is closed and a new one\nopened (connection reuse)."`
}

// Outbound defaults (DESIGN "Contracts").
const (
	DefaultOutboundTLS       = "opportunistic"
	DefaultMXPort            = 25
	DefaultRetryInitial      = Duration(5 * time.Minute)
	DefaultOutboundMaxAge    = Duration(120 * time.Hour)
	DefaultDelayWarning      = Duration(4 * time.Hour)
	DefaultOutboundMaxConns  = 50
	DefaultOutboundPerDomain = 5
	DefaultMessagesPerConn   = 100
)

func outboundDefaults() Outbound {
	return Outbound{
		TLS: DefaultOutboundTLS, MXPort: DefaultMXPort, RetryInitial: DefaultRetryInitial,
		MaxAge: DefaultOutboundMaxAge, DelayWarning: DefaultDelayWarning, MaxConns: DefaultOutboundMaxConns,
		MaxConnsPerDomain: DefaultOutboundPerDomain, MessagesPerConnect: DefaultMessagesPerConn,
	}
}

// validateOutbound checks [outbound] and [smtp] trusted_networks.
func (c *Config) validateOutbound() error {
	if _, err := c.SMTPTrustedPrefixes(); err != nil {
		return err
	}
	o := &c.Outbound
	if o.Enabled && c.Testbed.Capture {
		// Capture makes every domain local: nothing would ever be queued.
		return bad("outbound.enabled", "cannot be on with testbed.capture, which keeps mail for every domain here; turn one of them off")
	}
	if o.Hostname == "" {
		o.Hostname = c.Hostname
	}
	if strings.ContainsAny(o.Hostname, " \t\r\n@[]") {
		return bad("outbound.hostname", "not a host name: %q", o.Hostname)
	}
	switch o.TLS {
	case "opportunistic", "required", "verify", "off":
	default:
		return bad("outbound.tls", "must be \"opportunistic\", \"required\", \"verify\" or \"off\", not %q", o.TLS)
	}
	for _, k := range []struct{ key, addr string }{{"outbound.relay", o.Relay}, {"outbound.resolver", o.Resolver}} {
		if k.addr == "" {
			continue
		}
		host, port, err := net.SplitHostPort(k.addr)
		if err != nil || host == "" {
			return bad(k.key, "not a HOST:PORT address: %q", k.addr)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return bad(k.key, "bad port in %q", k.addr)
		}
	}
	switch {
	case o.RelayUsername != "" && o.Relay == "":
		return bad("outbound.relay_username", "needs outbound.relay")
	case o.RelayUsername != "" && o.RelayPasswordFile == "":
		return bad("outbound.relay_password_file", "must be set when outbound.relay_username is")
	case o.RelayPasswordFile != "" && o.RelayUsername == "":
		return bad("outbound.relay_username", "must be set when outbound.relay_password_file is")
	case o.MXPort <= 0 || o.MXPort > 65535:
		return bad("outbound.mx_port", "must be a port number (1-65535)")
	case o.RetryInitial <= 0:
		return bad("outbound.retry_initial", "must be greater than 0")
	case o.MaxAge <= 0:
		return bad("outbound.max_age", "must be greater than 0")
	case o.DelayWarning < 0:
		return bad("outbound.delay_warning", "must not be negative (\"0s\" turns it off)")
	case o.MaxConns <= 0:
		return bad("outbound.max_conns", "must be greater than 0")
	case o.MaxConnsPerDomain <= 0:
		return bad("outbound.max_conns_per_domain", "must be greater than 0")
	case o.MessagesPerConnect <= 0:
		return bad("outbound.messages_per_connection", "must be greater than 0")
	}
	return nil
}

// RelayPassword reads the smarthost password: the first line of
// outbound.relay_password_file ("" when no AUTH is configured).
func (c *Config) RelayPassword() (string, error) {
	if c.Outbound.RelayPasswordFile == "" {
		return "", nil
	}
	b, err := readFileLimited(c.Outbound.RelayPasswordFile, 4096)
	if err != nil {
		return "", bad("outbound.relay_password_file", "%v", err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimRight(pw, "\r")
	if pw == "" {
		return "", bad("outbound.relay_password_file", "%s is empty", c.Outbound.RelayPasswordFile)
	}
	return pw, nil
}

func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}
