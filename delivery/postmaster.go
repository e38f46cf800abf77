package delivery

import (
	"context"
	"errors"
	"strings"

	"github.com/immp-mail/immp/maildir"
)

// Postmaster routing (RFC 5321 4.5.1): mail to postmaster@ every local
// domain, and to a bare "postmaster", is accepted even where no account
// of that name exists. An account named postmaster@<that domain> gets its
// own mail; otherwise the mail goes to the postmaster route:
//
//  1. Options.Postmaster (config [smtp] postmaster), by default
//     postmaster@<first local domain>; with auto_create it is created on
//     first use like any recipient;
//  2. if that account does not exist, the oldest account (the lowest ID:
//     on a self-hosted server, the operator's first), so that the mail is
//     accepted whenever there is anyone to read it;
//  3. with no account at all, the recipient is refused as unknown.
//
// The spam guard of the account the mail goes to applies, as for any
// recipient.

// postmasterLocal is the reserved local part, matched in any case.
const postmasterLocal = "postmaster"

// IsPostmaster reports whether account ("local@domain", as the mapper
// returns it) is the reserved postmaster mailbox of its domain.
func IsPostmaster(account string) bool {
	local, _, ok := strings.Cut(account, "@")
	return ok && strings.EqualFold(local, postmasterLocal)
}

// postmasterTarget is the configured route, or postmaster@<first domain>.
func (d *Deliverer) postmasterTarget() string {
	if d.opts.Postmaster != "" {
		return strings.ToLower(d.opts.Postmaster)
	}
	if len(d.opts.Mapper.Domains) == 0 {
		return ""
	}
	return postmasterLocal + "@" + strings.ToLower(strings.TrimSuffix(d.opts.Mapper.Domains[0], "."))
}

// PostmasterRoute returns the account postmaster mail goes to now and
// whether that is the fallback (step 2) rather than the configured
// account. Nothing is created (it reports the route, e.g. at startup).
// maildir.ErrNoSuchAccount: no account at all.
func (d *Deliverer) PostmasterRoute(ctx context.Context) (acct maildir.Account, fallback bool, err error) {
	acct, fallback, _, err = d.route(ctx, false)
	return acct, fallback, err
}

// route is PostmasterRoute; with create, the configured account is made
// when the store auto-creates accounts (created says so), as a delivery
// to it would.
func (d *Deliverer) route(ctx context.Context, create bool) (acct maildir.Account, fallback, created bool, err error) {
	target := d.postmasterTarget()
	if create {
		acct, created, err = d.opts.Store.EnsureAccount(ctx, target)
	} else {
		acct, err = d.opts.Store.Account(ctx, target)
	}
	if !errors.Is(err, maildir.ErrNoSuchAccount) {
		return acct, false, created, err
	}
	all, err := d.opts.Store.Accounts(ctx)
	if err != nil {
		return maildir.Account{}, false, false, err
	}
	if len(all) == 0 {
		return maildir.Account{}, false, false, maildir.ErrNoSuchAccount
	}
	oldest := all[0]
	for _, a := range all[1:] {
		if a.ID < oldest.ID {
			oldest = a
		}
	}
	return oldest, true, false, nil
}

// postmasterAccount is the account that mail to the postmaster mailbox
// account (postmaster@<a local domain>) is filed into: its own if it
// exists, else the route's. created: the route's account was made now.
func (d *Deliverer) postmasterAccount(ctx context.Context, account string) (maildir.Account, bool, error) {
	acct, err := d.opts.Store.Account(ctx, account)
	if !errors.Is(err, maildir.ErrNoSuchAccount) {
		return acct, false, err
	}
	acct, _, created, err := d.route(ctx, true)
	return acct, created, err
}
