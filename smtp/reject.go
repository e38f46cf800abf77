package smtp

import (
	"errors"
	"log/slog"
	"strconv"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/immp-mail/immp/delivery"
)

// Reason classes of a refusal, the "reason" key of an "smtp rejected" log
// line (docs/logging.md). They say whose move it is: the sender's
// (no_such_user, bad_address, relay, size, policy, auth), the recipient's
// (guard, quota), or this server's (storage, local, shutdown, timeout,
// rate: too many refused recipients or connections).
const (
	reasonNoSuchUser = "no_such_user"
	reasonBadAddress = "bad_address"
	reasonGuard      = "guard"
	reasonGuardUndec = "guard_undecided"
	reasonRelay      = "relay"
	reasonQuota      = "quota"
	reasonStorage    = "storage"
	reasonSize       = "size"
	reasonPolicy     = "policy"
	reasonAuth       = "auth"
	reasonRate       = "rate"
	reasonShutdown   = "shutdown"
	reasonTimeout    = "timeout"
	reasonSyntax     = "syntax"
	reasonLocal      = "local"
)

// reasonClass classifies err, answered with rep, for the log.
func reasonClass(err error, rep *gosmtp.SMTPError) string {
	switch delivery.ReasonOf(err) {
	case delivery.ReasonNoSuchAccount:
		return reasonNoSuchUser
	case delivery.ReasonBadAddress:
		return reasonBadAddress
	case delivery.ReasonBlocked:
		return reasonGuard
	case delivery.ReasonUndecided:
		return reasonGuardUndec
	case delivery.ReasonRelayDenied, delivery.ReasonNoRelay:
		return reasonRelay
	case delivery.ReasonMailboxFull, delivery.ReasonOverQuota:
		return reasonQuota
	case delivery.ReasonStorage, delivery.ReasonStorageFull:
		return reasonStorage
	}
	var se *senderError
	switch {
	case errors.As(err, &se):
		if se.problem == senderHeaderTooLong {
			return reasonSize
		}
		return reasonPolicy
	case rep == errTooLarge:
		return reasonSize
	case rep == errSenderNotOwned:
		return reasonPolicy
	case errors.As(err, new(*dmarcRejected)):
		return reasonPolicy // the sender domain's DMARC policy (msgauth.go)
	case rep == errAuthRequired, rep == errAuthFailed, rep == errAuthTemp, rep == errEncryptionRequired,
		rep == errAuthSyntax, rep == errAuthUnsupported:
		return reasonAuth
	case rep == errTooManyBadRcpts:
		return reasonRate
	case rep == errShuttingDown:
		return reasonShutdown
	case rep == errTimeout, rep == errDataTimeout:
		return reasonTimeout
	case rep == errLineTooLong, rep == errSenderTooLong, rep == errRecipientTooLong:
		return reasonSyntax
	}
	return reasonLocal
}

// durMS is d in milliseconds with microsecond precision, the dur_ms of
// every protocol's log lines.
func durMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// limitRejected logs the refusals go-smtp makes by itself for a limit
// (Server.OnReject): a declared SIZE or a BDAT chunk over
// max_message_bytes (size), a recipient over max_recipients (rate).
func (s *Server) limitRejected(c *gosmtp.Conn, cmd, arg string, rep *gosmtp.SMTPError) {
	sess, ok := c.Session().(*session)
	if !ok {
		return
	}
	t, rcpt := sess.current(), ""
	switch cmd {
	case "MAIL":
		t = &transaction{sender: arg}
	case "RCPT":
		rcpt = arg
	}
	reason := reasonSize
	if cmd == "RCPT" {
		reason = reasonRate
	}
	sess.rejectedAs(cmd, reason, t, rcpt, nil, rep)
}

// replyText is a reply as written on the wire, without the CRLF.
func replyText(rep *gosmtp.SMTPError) string {
	s := strconv.Itoa(rep.Code)
	if rep.EnhancedCode != gosmtp.NoEnhancedCode && rep.EnhancedCode != (gosmtp.EnhancedCode{}) {
		e := rep.EnhancedCode
		s += " " + strconv.Itoa(e[0]) + "." + strconv.Itoa(e[1]) + "." + strconv.Itoa(e[2])
	}
	return s + " " + rep.Message
}

// rejected logs one refusal: the command, the reason class, the envelope
// so far and the reply sent; the session's logger adds proto, session,
// remote and user. A 4xx is a warning (someone may have to act), with
// the internal cause; a 5xx is information. It returns rep.
func (s *session) rejected(cmd string, t *transaction, rcpt string, err error, rep *gosmtp.SMTPError, extra ...any) *gosmtp.SMTPError {
	return s.rejectedAs(cmd, reasonClass(err, rep), t, rcpt, err, rep, extra...)
}

// rejectedAs is rejected with the reason class given.
func (s *session) rejectedAs(cmd, reason string, t *transaction, rcpt string, err error, rep *gosmtp.SMTPError, extra ...any) *gosmtp.SMTPError {
	attrs := []any{"cmd", cmd, "reason", reason, "status", rep.Code, "reply", replyText(rep)}
	if t != nil {
		if t.id != "" {
			attrs = append(attrs, "txn", t.id)
		}
		attrs = append(attrs, "from", t.sender)
	}
	if rcpt != "" {
		attrs = append(attrs, "rcpt", rcpt)
	}
	attrs = append(attrs, extra...)
	level := slog.LevelInfo
	if rep.Code/100 == 4 {
		level = slog.LevelWarn
		if err != nil && !errors.Is(err, rep) {
			attrs = append(attrs, "err", err.Error())
		}
	}
	s.log.Log(s.srv.ctx, level, "smtp rejected", attrs...)
	return rep
}
