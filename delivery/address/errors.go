package address

import "errors"

// Sentinel errors; every error from this package wraps one of them.
var (
	// ErrInvalid: the address is syntactically unusable (SMTP 501/553).
	ErrInvalid = errors.New("invalid address")
	// ErrNotLocal: the domain is not one of ours (SMTP 550 5.7.1 relay
	// denied unless the client may relay).
	ErrNotLocal = errors.New("domain is not local")
)

// Error says why an address was refused. Reason is a short, fixed English
// phrase for logs; it never contains the address.
type Error struct {
	Err    error // ErrInvalid or ErrNotLocal
	Reason string
}

func (e *Error) Error() string { return "address: " + e.Err.Error() + ": " + e.Reason }

// Unwrap lets errors.Is see the sentinel.
func (e *Error) Unwrap() error { return e.Err }

func invalid(reason string) error { return &Error{Err: ErrInvalid, Reason: reason} }
