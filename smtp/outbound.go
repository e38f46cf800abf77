package smtp

import (
	"bytes"
	"io"
	"strings"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/immp-mail/immp/delivery"
	"github.com/immp-mail/immp/outbound"
)

// Mail for other domains ([outbound] enabled): a recipient outside the
// local domains is accepted only from a logged-in client (submission) or
// a client in [smtp] trusted_networks, and is queued for delivery
// (package outbound); everyone else hears what CheckRecipient says
// (550 5.7.1 relay access denied): never an open relay.

// relayAllowed says whether this client may queue mail for other domains.
func (s *session) relayAllowed() bool {
	if s.srv.opts.Outbound == nil {
		return false
	}
	if s.authOK {
		return true
	}
	for _, p := range s.srv.opts.RelayNetworks {
		if p.Contains(s.ip.Unmap()) {
			return true
		}
	}
	return false
}

// relayRcpt takes a recipient in another domain for the queue; false
// leaves the recipient to CheckRecipient.
func (s *session) relayRcpt(t *transaction, to string) bool {
	if s.srv.opts.Deliverer.IsLocal(to) || !s.relayAllowed() || !remoteAddress(to) {
		return false
	}
	s.mu.Lock()
	t.remote = append(t.remote, to)
	s.mu.Unlock()
	t.rcpts = append(t.rcpts, rcptLog{addr: to, outcome: "relay"})
	return true
}

// remoteAddress is a plausible address at a domain: a local part, and a
// domain of dot-separated labels or an address literal.
func remoteAddress(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || len(addr) > 254 {
		return false
	}
	dom := addr[at+1:]
	if strings.HasPrefix(dom, "[") {
		return strings.HasSuffix(dom, "]")
	}
	for _, l := range strings.Split(dom, ".") {
		if l == "" || len(l) > 63 || strings.ContainsAny(l, " \t@<>()[]\\,;:\"") {
			return false
		}
	}
	return !strings.ContainsAny(addr, " \t\r\n<>")
}

// enqueueRemote reads the message, queues it durably for the remote
// recipients, and returns it again for the local ones. A non-nil reply
// ends the transaction.
func (s *session) enqueueRemote(t *transaction, env delivery.Envelope, body io.Reader) (io.Reader, *gosmtp.SMTPError) {
	msg, err := io.ReadAll(body)
	if err != nil {
		rep := s.rejected("DATA", t, "", err, replyFor(err))
		s.finish(t, outcomeOf(rep))
		return nil, rep
	}
	if !s.srv.opts.Submission {
		// A trusted network's client (a web application, a printer)
		// relays without logging in: its mail gets what submission adds,
		// as Postfix adds them for its own clients.
		if header, err := parseHeaderSection(headerOf(msg)); err == nil {
			msg = append(missingFields(header, t.id+"@"+s.srv.opts.Hostname, time.Now()), msg...)
		}
	}
	trace := outbound.Received(s.srv.opts.Hostname, env.Helo, env.ClientIP, env.TLS, env.AuthUser, t.id, t.utf8, time.Now())
	full := make([]byte, 0, len(trace)+len(msg))
	full = append(append(full, trace...), msg...)
	s.mu.Lock()
	remote := append([]string(nil), t.remote...)
	s.mu.Unlock()
	id, err := s.srv.opts.Outbound.Enqueue(s.srv.ctx, outbound.Message{
		ID: t.id, Sender: t.sender, Recipients: remote, UTF8: t.utf8,
	}, full)
	if err != nil {
		rep := s.rejectedAs("DATA", reasonLocal, t, "", err, errLocal)
		s.finish(t, "tempfail")
		return nil, rep
	}
	for j := range t.rcpts {
		if t.rcpts[j].outcome == "relay" {
			t.rcpts[j].outcome = "queued"
			t.rcpts[j].folder = id
		}
	}
	return bytes.NewReader(msg), nil
}

// queuedReply is the 250 for a message queued (and delivered locally, if
// it had local recipients too).
func queuedReply(id string) *gosmtp.SMTPError {
	return &gosmtp.SMTPError{Code: 250, EnhancedCode: gosmtp.EnhancedCode{2, 0, 0},
		Message: "Ok: queued as " + id}
}
