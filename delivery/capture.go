package delivery

import (
	"context"
	"strings"

	"github.com/immp-mail/immp/delivery/address"
	"github.com/immp-mail/immp/maildir"
)

// Capture ([testbed] capture): the test bed accepts mail to any address
// at any domain and files it into an account made for that address, and
// authenticated submission to other domains is stored for its recipients
// rather than relayed. The Mapper's AnyDomain makes every domain local,
// so CheckRecipient takes its local path for everything (capture comes
// before any relay decision), the spam guard and subinboxes work for
// captured accounts as for local ones, and ensureAccount creates the
// account whatever [accounts] auto_create says (a login does not).

// ensureAccount returns the account for a recipient, creating it under
// capture or with the store's AutoCreate.
func (d *Deliverer) ensureAccount(ctx context.Context, addr string) (maildir.Account, bool, error) {
	if d.opts.Capture {
		return d.opts.Store.CreateAccountIfMissing(ctx, addr)
	}
	return d.opts.Store.EnsureAccount(ctx, addr)
}

// postmasterHere says whether account (a mapped recipient) is
// postmaster@ one of the configured domains: under capture, postmaster@
// another domain is an address like any other and is captured as such.
func (d *Deliverer) postmasterHere(account string) bool {
	if !IsPostmaster(account) {
		return false
	}
	if !d.opts.Capture {
		return true
	}
	at := strings.LastIndexByte(account, '@')
	return address.Mapper{Domains: d.opts.Mapper.Domains}.IsLocal(account[at+1:])
}
