package smtp

import (
	"errors"
	"net"

	gosmtp "github.com/emersion/go-smtp"

	"immp/delivery"
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
	errFromNotOwned = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1},
		Message: "From header must name only addresses of the authenticated account"}
	errShuttingDown = &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 3, 2},
		Message: "Service shutting down, try again later"}
	errTooLarge = &gosmtp.SMTPError{Code: 552, EnhancedCode: gosmtp.EnhancedCode{5, 3, 4},
		Message: "Message size exceeds fixed maximum message size"}
	errLineTooLong = &gosmtp.SMTPError{Code: 500, EnhancedCode: gosmtp.EnhancedCode{5, 5, 2},
		Message: "Line too long"}
	errTimeout = &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 4, 2},
		Message: "Timeout reading message data"}
	errLocal = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0},
		Message: "Local error in processing, try again later"}
)

// deliveredReply is the 250 after DATA or BDAT LAST, naming the
// transaction id that the log line and the Received header carry. It is
// an *SMTPError only because go-smtp takes the reply from that type; a nil
// error would answer "OK: queued", which is not what happened.
func deliveredReply(id string) *gosmtp.SMTPError {
	return &gosmtp.SMTPError{Code: 250, EnhancedCode: gosmtp.EnhancedCode{2, 0, 0},
		Message: "Ok: delivered as " + id}
}

// reasonReplies maps delivery's reasons to the wire (profile 9; RFC 3463).
var reasonReplies = map[delivery.Reason]*gosmtp.SMTPError{
	delivery.ReasonBadAddress: {Code: 553, EnhancedCode: gosmtp.EnhancedCode{5, 1, 3},
		Message: "Bad destination mailbox address"},
	delivery.ReasonRelayDenied: {Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1},
		Message: "Relay access denied"},
	delivery.ReasonNoRelay: {Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1},
		Message: "outbound relay is not configured"},
	delivery.ReasonNoSuchAccount: {Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1},
		Message: "No such mailbox"},
	delivery.ReasonBlocked: {Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1},
		Message: "Sender refused by the recipient's spam guard"},
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
