package immp

import (
	"crypto/tls"
	"strings"
	"time"

	"github.com/immp-mail/immp/immp/wire"
)

// capabilities lists what this session may use now (draft 6.1.1; RFC 9051
// 6.1.1 for STARTTLS, LOGINDISABLED and AUTH=).
func (c *conn) capabilities() string {
	caps := []string{"IMMP", "LITERAL+", "SASL-IR"}
	if c.state == stateNotAuth {
		if c.s.opts.TLSConfig != nil && !c.isTLS {
			caps = append(caps, "STARTTLS")
		}
		if c.insecure() {
			caps = append(caps, "LOGINDISABLED")
		} else {
			caps = append(caps, "AUTH=PLAIN")
		}
	}
	return strings.Join(caps, " ")
}

// insecure reports whether passwords must not be accepted here: cleartext
// from a non-loopback peer, unless the operator allows it (profile 1).
func (c *conn) insecure() bool {
	return !c.isTLS && !c.s.isLoopback(c.ip) && !c.s.opts.AllowInsecureAuth
}

// draft 6.1.1
func (c *conn) cmdCapability(cmd *wire.Command) error {
	return c.w.Data("CAPABILITY", wire.Atom(c.capabilities()))
}

// draft 6.1.2
func (c *conn) cmdNoop(cmd *wire.Command) error { return nil }

// draft 6.1.3: BYE, then the tagged OK, then close.
func (c *conn) cmdLogout(cmd *wire.Command) error {
	c.w.Status("*", wire.BYE, "", "IMMP Server logging out")
	c.state = stateLogout
	return nil
}

// RFC 9051 6.2.1 (profile 1: STARTTLS as an extension).
func (c *conn) cmdStartTLS(cmd *wire.Command) error {
	if c.s.opts.TLSConfig == nil || c.isTLS {
		return errBad("STARTTLS not available")
	}
	if c.r.Buffered() > 0 {
		// Anything pipelined after STARTTLS would be plaintext injected
		// into the TLS session (RFC 9051 11.1).
		return errBadCode(codeClientBug, "Data after STARTTLS")
	}
	c.w.Status(cmd.Tag, wire.OK, "", "Begin TLS negotiation now")
	if err := c.w.Flush(); err != nil {
		c.state = stateLogout
		return errAnswered
	}
	tc := tls.Server(c.nc, c.s.opts.TLSConfig)
	c.raw.SetDeadline(time.Now().Add(time.Minute))
	if err := tc.Handshake(); err != nil {
		c.log.Info("STARTTLS handshake failed", "err", err)
		c.state = stateLogout
		return errAnswered
	}
	c.raw.SetDeadline(time.Time{})
	c.nc = tc
	c.isTLS = true
	c.r = wire.NewReader(tc, c.s.opts.Limits)
	c.w = wire.NewWriter(tc)
	c.log = c.log.With("starttls", true)
	return errAnswered
}
