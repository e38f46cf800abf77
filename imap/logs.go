package imap

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/immp-mail/immp/internal/logrl"
)

// connLogger is the logger of one connection from ip: its lines are
// limited per connection and per address (Options.ConnLogBudget and
// AddrLogBudget; internal/logrl), so a client sending commands forever
// cannot fill the disk with their log lines.
func (s *Server) connLogger(ip netip.Addr) *slog.Logger {
	return logrl.Logger(s.log, logrl.NewLimiter(s.opts.ConnLogBudget, nil), s.logAddrs.Get(ip))
}

// flushConnLog writes the summary of the lines a connection's logger
// still holds back, when the connection ends.
func flushConnLog(log *slog.Logger) { logrl.Flush(context.Background(), log) }
