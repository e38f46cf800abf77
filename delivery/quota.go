package delivery

import (
	"context"
	"errors"

	"github.com/immp-mail/immp/maildir"
)

// CheckQuota decides at RCPT time whether the recipient's mailbox has
// room for a message of size octets (MAIL's SIZE parameter, RFC 1870; 0
// when not given): ReasonMailboxFull when its account is at or over its
// storage quota, or would be with this message (maildir/quota.go). The
// definitive check is Deliver's, with the message's real size.
func (d *Deliverer) CheckQuota(ctx context.Context, r Recipient, size int64) error {
	err := d.opts.Store.CheckQuota(ctx, r.Account, size)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, maildir.ErrOverQuota):
		return fail(ReasonMailboxFull, err)
	default:
		return fail(ReasonUndecided, err)
	}
}
