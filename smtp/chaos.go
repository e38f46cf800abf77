package smtp

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/immp-mail/immp/internal/chaos"
)

// Fault injection for the test bed (package internal/chaos): each stage
// of a session asks Options.Chaos whether to answer a chosen reply
// instead. A nil engine never does.

func chaosReply(rep chaos.Reply) *gosmtp.SMTPError {
	return &gosmtp.SMTPError{Code: rep.Code, EnhancedCode: gosmtp.EnhancedCode(rep.Enhanced), Message: rep.Text}
}

// chaosGreeting answers a connection from ip with the reply of a
// matching connect rule in place of the 220 greeting, and closes it (RFC
// 5321 3.1: a server may refuse a connection with a 554 or 421 greeting).
// It reports whether it did.
func (s *Server) chaosGreeting(c net.Conn, ip netip.Addr) bool {
	rep, ok := s.opts.Chaos.Check(chaos.Connect, ip.String())
	if !ok {
		return false
	}
	line := fmt.Sprintf("%d %d.%d.%d %s\r\n", rep.Code, rep.Enhanced[0], rep.Enhanced[1], rep.Enhanced[2], rep.Text)
	s.serverLog.Info("chaos rule answered", "stage", string(chaos.Connect), "rule", rep.Rule, "code", rep.Code, "remote", ip.String())
	go func() {
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte(line))
		c.Close()
	}()
	return true
}

// chaosConnect is asked when a client opens its session on an
// implicit-TLS listener (EHLO/HELO, where go-smtp makes the session),
// whose greeting cannot be replaced before the handshake.
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
