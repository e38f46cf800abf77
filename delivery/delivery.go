package delivery

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/immp-mail/immp/delivery/address"
	"github.com/immp-mail/immp/delivery/guard"
	"github.com/immp-mail/immp/internal/metrics"
	"github.com/immp-mail/immp/maildir"
)

// Verifier is the spam guard's in-process check (*guard.Guard): a non-nil
// error means the verdict cannot be given now.
type Verifier interface {
	Verify(ctx context.Context, sender, recipient string) (guard.Verdict, error)
}

// Txn is the mailbox layer's delivery transaction (*maildir.Delivery) as
// Deliver uses it.
type Txn interface {
	io.Writer
	AddRecipient(acct maildir.Account, folder string) error
	Commit(ctx context.Context) ([]maildir.Delivered, error)
	Abort() error
}

// Options configures a Deliverer.
type Options struct {
	Store   *maildir.Store // required
	Mapper  address.Mapper // local domains and plus addressing
	Guard   Verifier       // required: the spam guard
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// Hostname names this server in Received headers.
	Hostname string
	// Postmaster is the account that mail to postmaster@ any local domain
	// goes to when no account of that name exists (RFC 5321 4.5.1;
	// postmaster.go). "": postmaster@<first local domain>.
	Postmaster string
	// WrapTxn, when set, wraps every delivery transaction. It exists only
	// to inject storage faults in tests (a full or failing disk cannot be
	// made for real there); leave it nil otherwise.
	WrapTxn func(Txn) Txn
	// Capture is the test bed's capture of everything ([testbed]
	// capture; capture.go). Mapper.AnyDomain goes with it.
	Capture bool
}

// Deliverer checks recipients and delivers messages; safe for concurrent
// use.
type Deliverer struct {
	opts Options
	log  *slog.Logger
	bufs sync.Pool // *[]byte of copyBufSize: body copy buffers
}

// New checks opts and returns a Deliverer.
func New(opts Options) (*Deliverer, error) {
	if opts.Store == nil {
		return nil, errors.New("delivery: Store is required")
	}
	if opts.Guard == nil {
		return nil, errors.New("delivery: Guard is required")
	}
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Deliverer{opts: opts, log: log}, nil
}

// Hostname is the name used in Received headers.
func (d *Deliverer) Hostname() string { return d.opts.Hostname }

// IsLocal reports whether addr's domain is one of the local domains.
func (d *Deliverer) IsLocal(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return false
	}
	return d.opts.Mapper.IsLocal(addr[at+1:])
}

// Recipient is one accepted recipient of a transaction.
type Recipient struct {
	Address  string          // as given in RCPT TO
	Account  maildir.Account // the account it maps to
	Subinbox string          // address form ("work", "office/work"); "" is INBOX
}

// CheckRecipient decides at RCPT time whether mail from sender ("" for
// the null sender) to rcpt is accepted (draft 2.2.2, profile 9).
// authenticated says the client has logged in (submission): a non-local
// domain is then refused as "no outbound relay" rather than as a relay
// attempt. Refusals are *Error.
func (d *Deliverer) CheckRecipient(ctx context.Context, sender, rcpt string, authenticated bool) (Recipient, error) {
	given := rcpt
	if strings.EqualFold(rcpt, postmasterLocal) && len(d.opts.Mapper.Domains) > 0 {
		// RFC 5321 4.5.1: "RCPT TO:<Postmaster>", no domain.
		rcpt = postmasterLocal + "@" + d.opts.Mapper.Domains[0]
	}
	if !d.IsLocal(rcpt) {
		if authenticated {
			return Recipient{}, fail(ReasonNoRelay, nil)
		}
		return Recipient{}, fail(ReasonRelayDenied, nil)
	}
	t, err := d.opts.Mapper.Map(rcpt)
	if err != nil { // address.ErrInvalid: no mailbox can be named so
		return Recipient{}, fail(ReasonBadAddress, err)
	}
	var acct maildir.Account
	var created bool
	if d.postmasterHere(t.Account) {
		acct, created, err = d.postmasterAccount(ctx, t.Account)
	} else {
		acct, created, err = d.ensureAccount(ctx, t.Account) // capture.go
	}
	switch {
	case errors.Is(err, maildir.ErrNoSuchAccount):
		return Recipient{}, fail(ReasonNoSuchAccount, err)
	case errors.Is(err, maildir.ErrInvalidAddress):
		return Recipient{}, fail(ReasonBadAddress, err)
	case err != nil:
		return Recipient{}, fail(ReasonUndecided, err)
	}
	if inv, ok := d.opts.Guard.(interface{ Invalidate() }); ok && created {
		inv.Invalidate() // the guard caches "no such account" otherwise
	}
	guarded := rcpt
	if acct.Address != t.Account { // postmaster, routed: that account's guard
		guarded = acct.Address
	}
	v, err := d.opts.Guard.Verify(ctx, sender, guarded)
	if err != nil {
		return Recipient{}, fail(ReasonUndecided, err)
	}
	switch v {
	case guard.Allowed:
	case guard.Blocked:
		return Recipient{}, fail(ReasonBlocked, nil)
	case guard.NoSuchAccount:
		return Recipient{}, fail(ReasonNoSuchAccount, nil)
	default:
		return Recipient{}, fail(ReasonUndecided, errors.New("unknown verdict"))
	}
	return Recipient{Address: given, Account: acct, Subinbox: t.Subinbox}, nil
}

// Authenticate checks a submission login against the mailbox layer
// (maildir.ErrAuthFailed when wrong; any other error is temporary).
func (d *Deliverer) Authenticate(ctx context.Context, user, password string) (maildir.Account, error) {
	return d.opts.Store.Authenticate(ctx, user, password)
}

// Owns reports whether addr is one of acct's addresses: a local domain
// and mapping to that account, with or without a subinbox or +detail (so
// also a REPLACEd subinbox name, which maps like any other); and
// postmaster@ a local domain when acct is where that mail goes now.
func (d *Deliverer) Owns(ctx context.Context, acct maildir.Account, addr string) bool {
	if !d.IsLocal(addr) {
		return false
	}
	t, err := d.opts.Mapper.Map(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(t.Account, acct.Address) {
		return true
	}
	if !IsPostmaster(t.Account) {
		return false
	}
	if _, err := d.opts.Store.Account(ctx, t.Account); !errors.Is(err, maildir.ErrNoSuchAccount) {
		return false // a postmaster account of its own, or cannot tell
	}
	route, _, err := d.PostmasterRoute(ctx)
	return err == nil && route.ID == acct.ID
}
