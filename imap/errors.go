package imap

import (
	"context"
	"errors"

	"github.com/emersion/go-imap/v2"

	"github.com/immp-mail/immp/internal/throttle"
	"github.com/immp-mail/immp/maildir"
)

// Wire errors this package returns itself.
var (
	errReadOnly = &imap.Error{Type: imap.StatusResponseTypeNo, Code: "READ-ONLY",
		Text: "Mailbox is selected read-only (EXAMINE)"}
	errNoSelected = &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug,
		Text: "No mailbox selected"}
	errFolderGone = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent,
		Text: "The selected mailbox was deleted or renamed"}
	errUnavailable = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable,
		Text: "Temporary failure, try again later"}
)

// toWire turns any error from the layers below into the response the client
// sees. It is the one place where mailbox-layer errors meet the wire
// (RFC 5530 response codes); Go error text never reaches a client.
func toWire(err error) error {
	if err == nil {
		return nil
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie
	}
	no := func(code imap.ResponseCode, text string) error {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
	}
	switch {
	case errors.Is(err, maildir.ErrNonexistent):
		return no(imap.ResponseCodeNonExistent, "No such mailbox")
	case errors.Is(err, maildir.ErrAlreadyExists):
		return no(imap.ResponseCodeAlreadyExists, "Mailbox already exists")
	case errors.Is(err, maildir.ErrHasChildren):
		return no(imap.ResponseCodeInUse, "Mailbox has children")
	case errors.Is(err, maildir.ErrInbox):
		return no(imap.ResponseCodeCannot, "Not permitted on INBOX")
	case errors.Is(err, maildir.ErrInvalidName):
		return no(imap.ResponseCodeCannot, "Invalid mailbox name")
	case errors.Is(err, maildir.ErrNotSubinbox):
		return no(imap.ResponseCodeCannot, "Not a subinbox")
	case errors.Is(err, maildir.ErrInsideItself):
		return no(imap.ResponseCodeCannot, "A mailbox cannot be moved inside itself")
	case errors.Is(err, maildir.ErrReadOnly):
		return errReadOnly
	case errors.Is(err, maildir.ErrOverQuota):
		// RFC 5530 3: APPEND or COPY would exceed the storage quota.
		return no(imap.ResponseCodeOverQuota, "Mailbox is over its storage quota")
	case errors.Is(err, maildir.ErrNoSuchMessage):
		return no(imap.ResponseCodeNonExistent, "No such message")
	case errors.Is(err, maildir.ErrAuthFailed), errors.Is(err, maildir.ErrNoSuchAccount),
		errors.Is(err, maildir.ErrInvalidAddress):
		return authFailed()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errUnavailable
	case errors.Is(err, maildir.ErrAuthBusy), errors.Is(err, throttle.ErrBusy):
		// The password could not be checked now (RFC 5530 UNAVAILABLE).
		return errUnavailable
	case maildir.Temporary(err):
		// Disk full, read-only file system, database locked: the client
		// retries later (RFC 5530 UNAVAILABLE); not a server bug.
		return errUnavailable
	}
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug,
		Text: "Internal error, the server log has details"}
}

// authFailed is the one failure answer for a wrong user or a wrong password
// (draft 7, RFC 9051 6.2.3), copied so no caller can alter the shared one.
func authFailed() error {
	e := *imapErrAuthFailed
	return &e
}

var imapErrAuthFailed = &imap.Error{Type: imap.StatusResponseTypeNo,
	Code: imap.ResponseCodeAuthenticationFailed, Text: "Authentication failed"}

// tryCreate marks a missing destination of COPY/MOVE/APPEND (RFC 9051 7.1).
func tryCreate(err error) error {
	if errors.Is(err, maildir.ErrNonexistent) {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate,
			Text: "No such mailbox"}
	}
	return err
}
