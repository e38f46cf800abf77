package immp

import (
	"context"
	"errors"

	"github.com/immp-mail/immp/delivery/guard"
	"github.com/immp-mail/immp/immp/wire"
	"github.com/immp-mail/immp/internal/throttle"
	"github.com/immp-mail/immp/maildir"
)

// replyError is an outcome a handler chose, with its wire status, response
// code and client-facing text.
type replyError struct {
	status, code, text string
}

func (e *replyError) Error() string { return e.status + " [" + e.code + "] " + e.text }

// errAnswered tells execute that the handler already wrote the command's
// completion itself.
var errAnswered = errors.New("completion already sent")

// errNo is a NO completion with a response code (profile 2).
func errNo(code, text string) error { return &replyError{status: wire.NO, code: code, text: text} }

// errBad is a BAD completion: syntax, or a command not valid now.
func errBad(text string) error { return &replyError{status: wire.BAD, text: text} }

// errBadCode is a BAD completion with a response code.
func errBadCode(code, text string) error {
	return &replyError{status: wire.BAD, code: code, text: text}
}

// Response codes (RFC 5530 and profile 2).
const (
	codeAlreadyExists = "ALREADYEXISTS"
	codeNonexistent   = "NONEXISTENT"
	codeNoPerm        = "NOPERM"
	codeInUse         = "INUSE"
	codeCannot        = "CANNOT"
	codeLimit         = "LIMIT"
	codeUnavailable   = "UNAVAILABLE"
	codeAuthFailed    = "AUTHENTICATIONFAILED"
	codePrivacy       = "PRIVACYREQUIRED"
	codeClientBug     = "CLIENTBUG"
	codeServerBug     = "SERVERBUG"
	codeBlocked       = "BLOCKED"
)

// storeErrors maps the mailbox layer's errors to the wire; texts are fixed
// so that no internal detail reaches the client.
var storeErrors = []struct {
	err        error
	code, text string
}{
	{maildir.ErrNonexistent, codeNonexistent, "No such subinbox"},
	{maildir.ErrNoSuchAgent, codeNonexistent, "No such spam guard agent"},
	{maildir.ErrNoSuchEntry, codeNonexistent, "No such spam entry"},
	{maildir.ErrNoSuchAccount, codeNonexistent, "No such account"},
	{maildir.ErrAlreadyExists, codeAlreadyExists, "Subinbox already exists"},
	{maildir.ErrAgentExists, codeAlreadyExists, "Spam guard agent already exists"},
	{maildir.ErrEntryExists, codeAlreadyExists, "Spam entry already exists"},
	{maildir.ErrAccountExists, codeAlreadyExists, "Account already exists"},
	{maildir.ErrHasChildren, codeInUse, "Subinbox has children"},
	{maildir.ErrInbox, codeCannot, "Not permitted on INBOX"},
	{maildir.ErrNotSubinbox, codeCannot, "Not a subinbox"},
	{maildir.ErrInsideItself, codeCannot, "Target lies inside the source"},
	{maildir.ErrInvalidName, codeCannot, "Invalid name"},
	{maildir.ErrInvalidAddress, codeCannot, "Invalid address or entry"},
	{guard.ErrInvalidEntry, codeCannot, "Invalid spam entry"},
	{maildir.ErrReadOnly, codeCannot, "Read-only"},
	{maildir.ErrAuthFailed, codeAuthFailed, loginFailedText},
}

// translate turns a handler's outcome into the completion: the ONE place
// where errors become wire replies (brief: errors typed, translated once).
// Unexpected errors are logged here and answered with a generic text.
func (c *conn) translate(cmd *wire.Command, err error) (status, code, text string) {
	if err == nil {
		return wire.OK, "", cmd.Name + " completed"
	}
	var re *replyError
	if errors.As(err, &re) {
		return re.status, re.code, re.text
	}
	for _, m := range storeErrors {
		if errors.Is(err, m.err) {
			return wire.NO, m.code, m.text
		}
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, maildir.ErrAuthBusy), errors.Is(err, throttle.ErrBusy):
		// The server is shutting down, or the password could not be
		// checked now (profile 2: UNAVAILABLE).
		return wire.NO, codeUnavailable, "Server busy, try again later"
	case maildir.Temporary(err):
		// Disk full, read-only file system, database locked past
		// busy_timeout: temporary, not a server bug.
		c.log.Warn("storage unavailable", "cmd", cmd.Name, "err", err)
		return wire.NO, codeUnavailable, "Storage temporarily unavailable"
	}
	c.log.Error("command failed", "cmd", cmd.Name, "err", err)
	return wire.NO, codeServerBug, "Internal server error"
}
