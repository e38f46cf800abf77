package immp

import (
	"errors"
	"strings"

	"github.com/immp-mail/immp/delivery/guard"
	"github.com/immp-mail/immp/immp/wire"
	"github.com/immp-mail/immp/maildir"
)

// mayVerify applies profile 8: trusted networks may ask about anyone; a
// logged-in user only about their own account; anyone else gets NOPERM.
// account is the in-address reduced to its account ("" if it is not one
// of ours).
func (c *conn) mayVerify(mailAddress string) (account string, err error) {
	t, mapErr := c.s.opts.Mapper.Map(mailAddress)
	if mapErr == nil {
		account = t.Account
	}
	if c.s.isTrusted(c.ip) {
		return account, nil
	}
	if c.state == stateAuth && account != "" && strings.EqualFold(account, c.acct.Address) {
		return account, nil
	}
	return "", errNo(codeNoPerm, "Not allowed from this address")
}

// draft 6.5.1, profile 8: OK not blocked, NO [BLOCKED], NO [NONEXISTENT]
// no such account, NO [UNAVAILABLE] cannot decide now.
func (c *conn) cmdVerifyGuard(cmd *wire.Command) error {
	sender, rcpt := cmd.Args[0], cmd.Args[1]
	if _, err := c.mayVerify(rcpt); err != nil {
		return err
	}
	v, err := c.s.opts.Guard.Verify(c.ctx, sender, rcpt)
	if err != nil {
		c.log.Warn("spam guard cannot decide", "err", err)
		return errNo(codeUnavailable, "Cannot decide now, try again later")
	}
	switch v {
	case guard.Allowed:
		return nil
	case guard.Blocked:
		return errNo(codeBlocked, "Sender blocked by spam guard agent")
	case guard.NoSuchAccount:
		return errNo(codeNonexistent, "No such account")
	}
	return errNo(codeUnavailable, "Cannot decide now, try again later")
}

// draft 6.5.2, profile 8: OK when the subinbox (either form, or a name
// REPLACEd into another) exists in the mail address's account.
func (c *conn) cmdVerifySubinbox(cmd *wire.Command) error {
	sub, addr := cmd.Args[0], cmd.Args[1]
	account, err := c.mayVerify(addr)
	if err != nil {
		return err
	}
	if account == "" {
		return errNo(codeNonexistent, "No such account")
	}
	acct, err := c.s.opts.Store.Account(c.ctx, account)
	if err != nil {
		if errors.Is(err, maildir.ErrNoSuchAccount) || errors.Is(err, maildir.ErrInvalidAddress) {
			return errNo(codeNonexistent, "No such account")
		}
		return err
	}
	if _, err := c.s.opts.Store.ResolveSubinbox(c.ctx, acct, sub); err != nil {
		if errors.Is(err, maildir.ErrNonexistent) || errors.Is(err, maildir.ErrInvalidName) ||
			errors.Is(err, maildir.ErrNotSubinbox) {
			return errNo(codeNonexistent, "No such subinbox")
		}
		return err
	}
	return nil
}
