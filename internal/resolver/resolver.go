// Package resolver builds the DNS resolver that outbound delivery (MX,
// MTA-STS) and the inbound checks (SPF, DKIM, DMARC) share: the system's,
// or one DNS server named by [outbound] resolver ("HOST:PORT"), so a test
// or an unusual setup can point every lookup at a private server.
//
// Invariant: with a server configured, no lookup goes anywhere else (the
// pure-Go resolver is used, and every query it makes is dialled to that
// address, over UDP or TCP as it asks).
package resolver

import (
	"context"
	"net"
	"time"
)

// New returns the system resolver when addr is "", else a resolver that
// sends every query to addr. timeout bounds each exchange (0: 5 s).
func New(addr string, timeout time.Duration) *net.Resolver {
	if addr == "" {
		return net.DefaultResolver
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			d := net.Dialer{Timeout: timeout}
			return d.DialContext(ctx, network, addr)
		},
	}
}
