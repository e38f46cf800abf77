package smtp

import (
	"net/netip"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/immp-mail/immp/internal/chaos"
)

// Fault injection for the test bed (package internal/chaos): each stage
// of a session asks Options.Chaos whether to answer a chosen reply
// instead. A nil engine never does.

func chaosReply(rep chaos.Reply) *gosmtp.SMTPError {
	return &gosmtp.SMTPError{Code: rep.Code, EnhancedCode: gosmtp.EnhancedCode(rep.Enhanced), Message: rep.Text}
}

// chaosConnect is asked when a client opens its session (EHLO/HELO, where
// go-smtp makes the session); the pattern is matched against its IP.
func (s *Server) chaosConnect(ip netip.Addr) error {
	if rep, ok := s.opts.Chaos.Check(chaos.Connect, ip.String()); ok {
		return chaosReply(rep)
	}
	return nil
}

// chaos is asked at MAIL, RCPT and DATA with the addresses that stage
// concerns (the package documentation of internal/chaos says which).
func (s *session) chaos(stage chaos.Stage, subjects ...string) error {
	if rep, ok := s.srv.opts.Chaos.Check(stage, subjects...); ok {
		s.log.Info("chaos rule answered", "stage", string(stage), "rule", rep.Rule, "code", rep.Code)
		return chaosReply(rep)
	}
	return nil
}

// chaosData asks at DATA, about the sender and every accepted recipient.
func (s *session) chaosData(t *transaction) error {
	subjects := []string{t.sender}
	for _, r := range t.accepted {
		subjects = append(subjects, r.Address)
	}
	return s.chaos(chaos.Data, subjects...)
}
