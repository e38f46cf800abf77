package smtp

import (
	"io"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/immp-mail/immp/delivery"
	"github.com/immp-mail/immp/msgauth"
)

// dmarcRejected is a message whose From domain fails DMARC under
// p=reject; reply.go answers it with errDMARCReject, reject.go logs it
// as a policy refusal.
type dmarcRejected struct{ domain string }

func (e *dmarcRejected) Error() string { return "DMARC policy of " + e.domain + " says reject" }

// errDMARCReject is the end-of-DATA reply to a DMARC failure under
// p=reject (RFC 7489 6.6.4, 7.3... the 550 5.7.1 of RFC 7372 3.1).
func errDMARCReject(domain string) *gosmtp.SMTPError {
	return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1},
		Message: "Message rejected: DMARC policy of " + domain + " says reject"}
}

// checking reports whether this session's mail gets the inbound checks:
// the Receiver-SMTP with checks configured, a client neither logged in
// nor in [smtp] trusted_networks. Everything else takes the fast path,
// which streams the message straight into the mailbox.
func (s *session) checking() bool {
	o := &s.srv.opts
	if o.Checks == nil || o.Submission || s.authOK {
		return false
	}
	for _, p := range o.TrustedNetworks {
		if p.Contains(s.ip.Unmap()) {
			return false
		}
	}
	return true
}

// startChecks begins SPF for t at MAIL time, so that its lookups run
// while the client sends recipients and data.
func (s *session) startChecks(t *transaction) {
	if !s.checking() {
		return
	}
	t.spf = s.srv.opts.Checks.StartSPF(msgauth.Envelope{IP: s.ip, Helo: s.conn.Hostname(), MailFrom: t.sender})
}

// checkMessage spools the message, runs the checks and returns what to
// deliver: the message with our forged Authentication-Results removed,
// and env with the new field and the Junk choice. A DMARC p=reject
// failure is a *dmarcRejected. release frees the spool; call it after
// delivery.
func (s *session) checkMessage(t *transaction, env *delivery.Envelope, body io.Reader) (_ io.Reader, release func(), _ error) {
	sp := msgauth.NewSpool(s.srv.opts.SpoolDir, 0)
	release = func() { sp.Close() }
	if _, err := io.Copy(sp, body); err != nil {
		return nil, release, err
	}
	checked, err := s.srv.opts.Checks.Check(s.srv.ctx, t.spf, sp)
	if err != nil {
		return nil, release, err
	}
	v := checked.Verdict
	t.auth = v.Summary
	switch v.Action {
	case msgauth.Reject:
		s.log.Info("message refused by DMARC policy", "id", t.id, "from_domain", v.Domain, "auth", v.Summary)
		return nil, release, &dmarcRejected{domain: v.Domain}
	case msgauth.Quarantine:
		env.Junk = true
		t.auth += " quarantined"
	}
	env.AuthResults = v.Header
	return checked.Message, release, nil
}
