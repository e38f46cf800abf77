package imap

import (
	"github.com/immp-mail/immp/internal/recovery"
)

// panicked handles a panic in a command, called from the deferred end of
// session.track, which every command runs: the panic is logged once at
// Error with its stack, the command's connection, and nothing else, and
// then it panics again with the value marked as logged. imapserver's own
// recovery then closes that connection and the session (Close releases
// the folder), and its log line for the panic is lowered to Debug
// (slogPrintf). The connection is closed rather than answered: the panic
// may have come halfway through a response, after which nothing more
// can be written on it that a client would read right, not even a BYE.
func (s *session) panicked(cmd string, v any) {
	recovery.Log(s.log, "panic in IMAP command; closing the connection", v, "cmd", cmd)
	s.srv.opts.Metrics.IMAPCommand(cmd, "PANIC")
	panic(recovery.Logged{V: v})
}

// injectFault runs the fault hook that tests set to make a panic which no
// input can cause (any more); it is nil outside tests.
func (s *Server) injectFault(cmd string) {
	if f := s.fault.Load(); f != nil {
		(*f)(cmd)
	}
}
