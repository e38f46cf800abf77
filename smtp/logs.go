package smtp

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/immp-mail/immp/internal/logrl"
)

// Log budgets (internal/logrl): what one client can make this server log.
// A legitimate client writes a line or two per transaction; these leave
// room for bursts and stop a flood of refused commands, failed logins or
// bad connections from filling the disk. Lines past a budget are dropped
// and counted, and one "N lines suppressed" line reports them.
var (
	// defaultConnLogBudget is per connection (Options.ConnLogBudget).
	defaultConnLogBudget = logrl.Budget{Burst: 30, PerSecond: 0.5}
	// defaultAddrLogBudget is shared by every connection from one address
	// (Options.AddrLogBudget).
	defaultAddrLogBudget = logrl.Budget{Burst: 100, PerSecond: 2}
	// serverLogBudget bounds lines about connections that have no session
	// (refused at accept, failed TLS handshakes: go-smtp's error log).
	serverLogBudget = logrl.ServerBudget()
)

// sessionLoggers returns the logger of a new session, limited per
// connection and per address, and its unlimited twin for the lines that
// record delivered mail: such a line is never dropped, and a client
// cannot have many without the mail itself being stored.
func (s *Server) sessionLoggers(ip netip.Addr) (limited, audit *slog.Logger) {
	id := s.nextID.Add(1)
	audit = s.log.With("session", id, "remote", ip.String())
	h := logrl.Wrap(s.log.Handler(), logrl.NewLimiter(s.opts.ConnLogBudget, nil), s.logAddrs.Get(ip))
	return slog.New(h).With("session", id, "remote", ip.String()), audit
}

// errorLog sends go-smtp's internal errors to slog, within the server
// budget.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Printf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.Contains(format, "panic serving") {
		// go-smtp recovered a panic in a connection (a command handler's
		// with a 421, anything else in the connection's goroutine by
		// immp's patch) and closed that connection; the stack is in msg.
		l.log.Error("panic in SMTP connection; closed it", "detail", msg)
		return
	}
	l.log.Warn(msg)
}
func (l errorLog) Println(v ...any) { l.log.Warn(fmt.Sprint(v...)) }

// flushLog reports lines still suppressed when the session ends.
func (s *session) flushLog() { logrl.Flush(context.Background(), s.log) }
