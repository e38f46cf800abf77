package smtp

import (
	"errors"
	"net"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/immp-mail/immp/delivery"
	"github.com/immp-mail/immp/maildir"
)

// Replies of this package's own. Every error handed to go-smtp is one of
// these or comes from replyFor: go-smtp matches *SMTPError by type only.
var (
	errAuthRequired = &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0},
		Message: "Authentication required"}
	errEncryptionRequired = &gosmtp.SMTPError{Code: 538, EnhancedCode: gosmtp.EnhancedCode{5, 7, 11},
		Message: "Encryption required for requested authentication mechanism"}
	errAuthFailed = &gosmtp.SMTPError{Code: 535, EnhancedCode: gosmtp.EnhancedCode{5, 7, 8},
		Message: "Authentication credentials invalid"}
	errAuthTemp = &gosmtp.SMTPError{Code: 454, EnhancedCode: gosmtp.EnhancedCode{4, 7, 0},
		Message: "Temporary authentication failure"}
	errAuthSyntax = &gosmtp.SMTPError{Code: 501, EnhancedCode: gosmtp.EnhancedCode{5, 5, 2},
		Message: "Malformed authentication response"}
	errAuthUnsupported = &gosmtp.SMTPError{Code: 502, EnhancedCode: gosmtp.EnhancedCode{5, 5, 1},
		Message: "Authentication not available on this service"}
	errSenderNotOwned = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1},
		Message: "Sender address does not belong to the authenticated account"}
	errShuttingDown = &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 3, 2},
		Message: "Service shutting down, try again later"}
	errTooLarge = &gosmtp.SMTPError{Code: 552, EnhancedCode: gosmtp.EnhancedCode{5, 3, 4},
		Message: "Message size exceeds fixed maximum message size"}
	errLineTooLong = &gosmtp.SMTPError{Code: 500, EnhancedCode: gosmtp.EnhancedCode{5, 5, 2},
		Message: "Line too long, closing connection"}
	// RFC 5321 4.5.3.1.10 "501 Path too long"; RFC 3463 X.1.7 is a bad
	// sender address, X.1.3 a bad recipient address.
	errSenderTooLong = &gosmtp.SMTPError{Code: 501, EnhancedCode: gosmtp.EnhancedCode{5, 1, 7},
		Message: "Path too long"}
	errRecipientTooLong = &gosmtp.SMTPError{Code: 501, EnhancedCode: gosmtp.EnhancedCode{5, 1, 3},
		Message: "Path too long"}
	errTimeout = &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 4, 2},
		Message: "Timeout reading message data, closing connection"}
	errDataTimeout = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 4, 2},
		Message: "Message data not complete in the time allowed, closing connection"}
	errLocal = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0},
		Message: "Local error in processing, try again later"}
)

// recipientRejected is the text of both recipient refusals that say
// something about an account (unknown, or its guard refuses the sender).
const recipientRejected = "Recipient address rejected"

// errTooManyBadRcpts ends a session that reached Options.MaxBadRecipients
// (as Postfix's smtpd_hard_error_limit); the connection is closed after.
var errTooManyBadRcpts = &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 7, 0},
	Message: "Too many rejected recipients, closing connection"}

// deliveredReply is the 250 after DATA or BDAT LAST, naming the
// transaction id that the log line and the Received header carry. It is
// an *SMTPError only because go-smtp takes the reply from that type; a nil
// error would answer "OK: queued", which is not what happened.
func deliveredReply(id string) *gosmtp.SMTPError {
	return &gosmtp.SMTPError{Code: 250, EnhancedCode: gosmtp.EnhancedCode{2, 0, 0},
		Message: "Ok: delivered as " + id}
}

// senderReply is the reply to a submitted message whose sender fields
// fail the check (RFC 6409 8.1; RFC 5322 3.6): 550 5.7.1 saying which
// field and why; the address itself is only logged.
func senderReply(e *senderError) *gosmtp.SMTPError {
	policy := func(msg string) *gosmtp.SMTPError {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: msg}
	}
	switch e.problem {
	case senderHeaderTooLong:
		return &gosmtp.SMTPError{Code: 552, EnhancedCode: gosmtp.EnhancedCode{5, 3, 4},
			Message: "Header section too large to check the sender"}
	case senderNoFrom:
		return policy("Message has no From header; RFC 5322 3.6 requires exactly one")
	case senderManyFrom:
		return policy("Message has more than one From header; RFC 5322 3.6 requires exactly one")
	case senderManySender:
		return policy("Message has more than one Sender header; RFC 5322 3.6 allows one")
	case senderBadList:
		return policy(e.field + " header is not a valid address list; the sender cannot be checked")
	case senderNoAddress:
		return policy(e.field + " header names no address")
	case senderNotOwned:
		return policy(e.field + " header may name only addresses of the authenticated account")
	}
	return policy("Malformed header section; the sender cannot be checked")
}

// reasonReplies maps delivery's reasons to the wire (profile 9; RFC 3463).
var reasonReplies = map[delivery.Reason]*gosmtp.SMTPError{
	delivery.ReasonBadAddress: {Code: 553, EnhancedCode: gosmtp.EnhancedCode{5, 1, 3},
		Message: "Bad destination mailbox address"},
	delivery.ReasonRelayDenied: {Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1},
		Message: "Relay access denied"},
	delivery.ReasonNoRelay: {Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1},
		Message: "outbound relay is not configured"},
	// Unknown account and spam guard refusal differ only where profile 9
	// says they must, the enhanced code: same basic code, same text, same
	// delay and the same count towards the error limit (rcptlimit.go), so
	// a prober learns nothing more from either.
	delivery.ReasonNoSuchAccount: {Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1},
		Message: recipientRejected},
	delivery.ReasonBlocked: {Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1},
		Message: recipientRejected},
	delivery.ReasonUndecided: {Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0},
		Message: "Recipient cannot be verified now, try again later"},
	delivery.ReasonStorageFull: {Code: 452, EnhancedCode: gosmtp.EnhancedCode{4, 3, 1},
		Message: "Insufficient system storage, try again later"},
	delivery.ReasonStorage: errLocal,
	// RFC 3463 X.2.2 mailbox full: at RCPT the mailbox may have room
	// later (4xx); after the data the message does not fit (552, which
	// RFC 5321 4.5.3.1.10 names for storage allocation exceeded).
	delivery.ReasonMailboxFull: {Code: 452, EnhancedCode: gosmtp.EnhancedCode{4, 2, 2},
		Message: "Mailbox full, try again later"},
	delivery.ReasonOverQuota: {Code: 552, EnhancedCode: gosmtp.EnhancedCode{5, 2, 2},
		Message: "Mailbox full: the message exceeds the recipient's storage quota"},
}

// replyFor turns any error into the reply the client sees. It is the only
// translation of errors to the wire; no Go error text is ever sent.
func replyFor(err error) *gosmtp.SMTPError {
	if err == nil {
		return nil
	}
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		if se == gosmtp.ErrDataTooLarge {
			return errTooLarge
		}
		return se
	}
	var sender *senderError
	if errors.As(err, &sender) {
		return senderReply(sender)
	}
	var dr *dmarcRejected
	if errors.As(err, &dr) {
		return errDMARCReject(dr.domain)
	}
	if r := delivery.ReasonOf(err); r != 0 && r != delivery.ReasonBody {
		if rep, ok := reasonReplies[r]; ok {
			return rep
		}
	}
	// Errors reading the message from the client.
	var ne net.Error
	switch {
	case errors.Is(err, gosmtp.ErrTooLongLine):
		return errLineTooLong
	case errors.As(err, &ne) && ne.Timeout():
		return errTimeout
	}
	return errLocal
}

// authReply is the reply to credentials not accepted (RFC 4954 6): 535
// 5.7.8 when they are wrong (an unknown user and a wrong password alike),
// 454 4.7.0 when they could not be checked now: the address's earlier
// attempts hold its turn, every password hashing slot is taken, the
// storage is unavailable.
func authReply(err error) *gosmtp.SMTPError {
	if errors.Is(err, maildir.ErrAuthFailed) {
		return errAuthFailed
	}
	return errAuthTemp
}

// outcomeOf is the short word logged and counted for a refusal.
func outcomeOf(rep *gosmtp.SMTPError) string {
	if rep == nil {
		return "accepted"
	}
	if rep.Code/100 == 4 {
		return "tempfail"
	}
	return "rejected"
}
