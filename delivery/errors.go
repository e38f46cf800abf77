package delivery

import (
	"errors"

	"github.com/immp-mail/immp/maildir"
)

// Reason says why a recipient or a delivery was refused. The protocol
// packages map each reason to their wire reply in one place.
type Reason int

const (
	// ReasonBadAddress: the address cannot name a mailbox (syntax, empty
	// or dot components, over-long). Permanent.
	ReasonBadAddress Reason = iota + 1
	// ReasonRelayDenied: the domain is not local and the client is not
	// authenticated (never an open relay). Permanent.
	ReasonRelayDenied
	// ReasonNoRelay: the domain is not local and the client is
	// authenticated, but outbound relay is not configured. Permanent.
	ReasonNoRelay
	// ReasonNoSuchAccount: local domain, no such account. Permanent.
	ReasonNoSuchAccount
	// ReasonBlocked: the sender is blocked by the recipient's spam guard.
	// Permanent.
	ReasonBlocked
	// ReasonUndecided: the check could not be made now (spam guard or
	// account lookup unavailable). Temporary.
	ReasonUndecided
	// ReasonStorageFull: the disk is full. Temporary.
	ReasonStorageFull
	// ReasonStorage: any other storage failure. Temporary.
	ReasonStorage
	// ReasonBody: reading the message from the client failed (too large,
	// aborted, timed out); Err is the reader's error.
	ReasonBody
	// ReasonMailboxFull: at RCPT time, the recipient's account is at or
	// over its storage quota, or would be with the declared size.
	// Temporary: the user may make room.
	ReasonMailboxFull
	// ReasonOverQuota: after the data, the message does not fit in a
	// recipient's storage quota; nothing was delivered. Permanent.
	ReasonOverQuota
)

var reasonNames = map[Reason]string{
	ReasonBadAddress:    "bad_address",
	ReasonRelayDenied:   "relay_denied",
	ReasonNoRelay:       "no_outbound_relay",
	ReasonNoSuchAccount: "no_such_account",
	ReasonBlocked:       "blocked",
	ReasonUndecided:     "undecided",
	ReasonStorageFull:   "storage_full",
	ReasonStorage:       "storage_error",
	ReasonBody:          "body_error",
	ReasonMailboxFull:   "mailbox_full",
	ReasonOverQuota:     "over_quota",
}

// String is the reason's short name, as used in logs.
func (r Reason) String() string {
	if s, ok := reasonNames[r]; ok {
		return s
	}
	return "unknown"
}

// Temporary says whether the client should retry later.
func (r Reason) Temporary() bool {
	switch r {
	case ReasonUndecided, ReasonStorageFull, ReasonStorage, ReasonMailboxFull:
		return true
	}
	return false
}

// Error is a refusal with its reason; Err is the cause, for logs only (it
// must never reach the wire).
type Error struct {
	Reason Reason
	Err    error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return "delivery: " + e.Reason.String()
	}
	return "delivery: " + e.Reason.String() + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns err's Reason, or 0 when err is not (wrapping) an *Error.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return 0
}

func fail(r Reason, err error) *Error { return &Error{Reason: r, Err: err} }

// storageErr classifies a mailbox layer failure: a full disk (or quota)
// is told apart so the client hears 452 rather than 451 (RFC 3463 4.3.1).
func storageErr(err error) *Error {
	if errors.Is(err, maildir.ErrOverQuota) {
		return fail(ReasonOverQuota, err)
	}
	if maildir.Full(err) {
		return fail(ReasonStorageFull, err)
	}
	return fail(ReasonStorage, err)
}
