package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// client is one open SMTP connection to a next hop.
type client struct {
	smtp *gosmtp.Client
	host string // "name[ip]:port", as logged
	mta  string // the name, as in the DSN's Remote-MTA
	sent int    // messages sent over it
	stop func() bool
}

// quit ends the session politely and closes the connection.
func (c *client) quit() {
	if c == nil {
		return
	}
	c.stop()
	c.smtp.Quit()
	c.smtp.Close()
}

// tlsConfigVerify checks the peer's certificate against name.
func tlsConfigVerify(roots *x509.CertPool, name string) *tls.Config {
	return &tls.Config{ServerName: name, RootCAs: roots, MinVersion: tls.VersionTLS12}
}

// tlsConfigAny encrypts without checking the certificate: opportunistic
// STARTTLS between MTAs (RFC 7435), where the alternative is cleartext.
func tlsConfigAny(name string) *tls.Config {
	return &tls.Config{ServerName: name, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
}

// A hostile or broken zone cannot make one attempt try more than
// maxMXHosts hosts of maxAddrsPerHost addresses each.
const (
	maxMXHosts      = 10
	maxAddrsPerHost = 4
)

// hopPolicy is how TLS is used with one host.
type hopPolicy struct {
	useTLS     bool // STARTTLS when offered
	requireTLS bool // never continue in clear
	verify     bool // the certificate must be valid for the host name
}

// tlsPolicy is [outbound] tls as a hopPolicy. "verify" is Postfix's
// smtp_tls_security_level of the same name: TLS always, with a
// certificate valid for the name of the host connected to (the MX host,
// or the relay) and signed by a trusted CA.
func (q *Queue) tlsPolicy() hopPolicy {
	switch q.opts.TLS {
	case TLSOff:
		return hopPolicy{}
	case TLSRequired:
		return hopPolicy{useTLS: true, requireTLS: true}
	case TLSVerify:
		return hopPolicy{useTLS: true, requireTLS: true, verify: true}
	}
	return hopPolicy{useTLS: true}
}

// connect opens a connection to the destination key (a domain, or the
// relay). A failure is the outcome for every recipient that waits for it.
func (q *Queue) connect(ctx context.Context, key string) (*client, *outcome) {
	if key == destRelay {
		return q.connectRelay(ctx)
	}
	hosts, fail := q.mxHosts(ctx, key)
	if fail != nil {
		return nil, fail
	}
	base := q.tlsPolicy()
	pol := q.sts.policy(ctx, key, q.log)
	var last *outcome
	for _, h := range hosts {
		hp := base
		if pol != nil && pol.Mode == stsEnforce {
			// RFC 8461 4.1, 4.2: only listed MX hosts, over TLS with a
			// certificate valid for the MX name.
			if !pol.matches(h) {
				last = temp("4.7.5", "MX host %s is not in the MTA-STS policy of %s", h, key)
				continue
			}
			hp = hopPolicy{useTLS: true, requireTLS: true, verify: true}
		}
		c, fail := q.dialHost(ctx, h, strconv.Itoa(q.opts.MXPort), hp)
		if fail == nil {
			return c, nil
		}
		last = fail
	}
	if last == nil {
		last = temp("4.4.4", "no usable MX host for %s", key)
	}
	return nil, last
}

// mxHosts lists the hosts to try for domain, best first (RFC 5321 5.1).
func (q *Queue) mxHosts(ctx context.Context, domain string) ([]string, *outcome) {
	if a, err := netip.ParseAddr(strings.Trim(domain, "[]")); err == nil && strings.HasPrefix(domain, "[") {
		return []string{a.String()}, nil // an address literal (RFC 5321 4.1.3)
	}
	mxs, err := q.opts.Resolver.LookupMX(ctx, domain)
	var de *net.DNSError
	if err != nil && len(mxs) == 0 {
		if !errors.As(err, &de) || !de.IsNotFound {
			return nil, temp("4.4.3", "MX lookup for %s failed: %v", domain, err)
		}
		// No MX records: the domain itself is the implicit MX when it
		// has an address (RFC 5321 5.1).
		_, aerr := q.opts.Resolver.LookupIPAddr(ctx, domain)
		if errors.As(aerr, &de) && de.IsNotFound {
			return nil, permanent("5.1.2", "domain %s has no MX and no address record", domain)
		}
		if aerr != nil {
			return nil, temp("4.4.3", "address lookup for %s failed: %v", domain, aerr)
		}
		return []string{domain}, nil
	}
	// RFC 7505 3: a single MX of "." with preference 0 says the domain
	// takes no mail; report it at once (5.1.10), never retry.
	if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
		return nil, permanent("5.1.10", "domain %s accepts no mail (null MX, RFC 7505)", domain)
	}
	var hosts []string
	for _, mx := range mxs {
		h := strings.TrimSuffix(mx.Host, ".")
		if h != "" && len(hosts) < maxMXHosts {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		return nil, permanent("5.1.10", "domain %s accepts no mail (null MX, RFC 7505)", domain)
	}
	return hosts, nil
}

// dialHost tries each address of host in turn.
func (q *Queue) dialHost(ctx context.Context, host, port string, hp hopPolicy) (*client, *outcome) {
	var addrs []string
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []string{a.String()}
	} else {
		ips, err := q.opts.Resolver.LookupIPAddr(ctx, host)
		if err != nil {
			return nil, temp("4.4.3", "address lookup for %s failed: %v", host, err)
		}
		for _, ip := range ips {
			if len(addrs) < maxAddrsPerHost {
				addrs = append(addrs, ip.IP.String())
			}
		}
	}
	var last *outcome
	for _, a := range addrs {
		c, fail := q.openSMTP(ctx, host, a, port, hp, false)
		if fail == nil {
			return c, nil
		}
		last = fail
	}
	if last == nil {
		last = temp("4.4.4", "%s has no address", host)
	}
	return nil, last
}

// openSMTP connects to addr, reads the greeting, says EHLO and applies
// the TLS policy. implicit is TLS from the first octet (port 465).
func (q *Queue) openSMTP(ctx context.Context, host, ip, port string, hp hopPolicy, implicit bool) (*client, *outcome) {
	display := fmt.Sprintf("%s[%s]:%s", host, ip, port)
	fail := func(o *outcome) (*client, *outcome) { o.host, o.mta = display, host; return nil, o }
	d := net.Dialer{Timeout: q.opts.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, port))
	if err != nil {
		return fail(temp("4.4.1", "connect to %s: %v", display, unwrapOp(err)))
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	cfg := tlsConfigAny(host)
	if hp.verify {
		cfg = tlsConfigVerify(q.opts.RootCAs, host)
	}
	if implicit {
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			stop()
			conn.Close()
			return fail(temp("4.7.5", "TLS handshake with %s: %v", display, err))
		}
		conn = tc
	}
	sc := gosmtp.NewClient(conn)
	c := &client{smtp: sc, host: display, mta: host, stop: stop}
	closeFail := func(o *outcome) (*client, *outcome) {
		stop()
		sc.Close()
		return fail(o)
	}
	if err := sc.Hello(q.opts.Hostname); err != nil {
		o := replyOutcome(err, c)
		o.reply = "greeting or EHLO: " + o.reply
		o.perm = false // RFC 5321 5.1: try the next host; the item waits
		o.status = "4" + o.status[1:]
		return closeFail(&o)
	}
	if implicit || !hp.useTLS {
		return c, nil
	}
	if ok, _ := sc.Extension("STARTTLS"); !ok {
		if hp.requireTLS {
			return closeFail(temp("4.7.4", "TLS is required but %s does not offer STARTTLS; not sent in clear", display))
		}
		return c, nil
	}
	err = sc.StartTLS(cfg)
	if err == nil {
		// EHLO again, over TLS (RFC 3207 4.2): the handshake happens here.
		_, _ = sc.Extension("PIPELINING")
		if _, ok := sc.TLSConnectionState(); !ok {
			err = errors.New("TLS handshake failed")
		} else if st, _ := sc.TLSConnectionState(); !st.HandshakeComplete {
			err = errors.New("TLS handshake failed")
		}
	}
	if err != nil {
		stop()
		sc.Close()
		if hp.requireTLS {
			return fail(temp("4.7.5", "STARTTLS with %s failed: %v", display, err))
		}
		// Opportunistic: as Postfix does, try once more in clear.
		return q.openSMTP(ctx, host, ip, port, hopPolicy{}, false)
	}
	return c, nil
}

// connectRelay opens a connection to [outbound] relay, with AUTH PLAIN or
// LOGIN when a username is set, never over a cleartext connection.
func (q *Queue) connectRelay(ctx context.Context) (*client, *outcome) {
	host, port, _ := net.SplitHostPort(q.opts.Relay)
	auth := q.opts.RelayUsername != ""
	hp := q.tlsPolicy()
	if auth { // a password goes only where the certificate proves the name
		hp = hopPolicy{useTLS: true, requireTLS: true, verify: true}
	}
	implicit := q.opts.RelayImplicitTLS
	var addrs []string
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []string{a.String()}
	} else {
		ips, err := q.opts.Resolver.LookupIPAddr(ctx, host)
		if err != nil {
			return nil, temp("4.4.3", "address lookup for the relay %s failed: %v", host, err)
		}
		for _, ip := range ips {
			addrs = append(addrs, ip.IP.String())
		}
	}
	var last *outcome
	for _, a := range addrs {
		c, fail := q.openSMTP(ctx, host, a, port, hp, implicit)
		if fail != nil {
			last = fail
			continue
		}
		if !auth {
			return c, nil
		}
		if _, ok := c.smtp.TLSConnectionState(); !ok {
			c.quit()
			return nil, temp("4.7.0", "relay %s: no TLS, so no password sent", c.host)
		}
		var mech sasl.Client
		switch {
		case c.smtp.SupportsAuth("PLAIN"):
			mech = sasl.NewPlainClient("", q.opts.RelayUsername, q.opts.RelayPassword)
		case c.smtp.SupportsAuth("LOGIN"):
			mech = sasl.NewLoginClient(q.opts.RelayUsername, q.opts.RelayPassword)
		default:
			c.quit()
			return nil, temp("4.7.0", "relay %s offers neither AUTH PLAIN nor LOGIN", c.host)
		}
		if err := c.smtp.Auth(mech); err != nil {
			o := replyOutcome(err, c)
			// A refused login is this server's configuration, not the
			// message's fault: wait for it to be fixed, do not bounce.
			o.perm = false
			o.status = "4.7.8"
			o.reply = "relay authentication failed: " + o.reply
			c.quit()
			return nil, &o
		}
		return c, nil
	}
	if last == nil {
		last = temp("4.4.4", "relay %s has no address", host)
	}
	return nil, last
}

func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
