package maildir

import (
	"context"
	"errors"
	"fmt"
)

// CreateAccountIfMissing is EnsureAccount whatever Options.AutoCreate
// says: the account for address, created (without a password) if there
// is none. For delivery that files mail to any address (the test bed's
// capture); a login still creates nothing without AutoCreate.
func (s *Store) CreateAccountIfMissing(ctx context.Context, address string) (Account, bool, error) {
	return s.ensureAccount(ctx, address, true)
}

func (s *Store) ensureAccount(ctx context.Context, address string, create bool) (Account, bool, error) {
	acct, err := s.Account(ctx, address)
	if err == nil || !errors.Is(err, ErrNoSuchAccount) || !create {
		return acct, false, err
	}
	acct, err = s.createAccount(ctx, address, "")
	if errors.Is(err, ErrAccountExists) { // lost a race: fine
		acct, err = s.Account(ctx, address)
		return acct, false, err
	}
	if errors.Is(err, ErrPlusInAddress) { // can never exist: unknown
		return Account{}, false, fmt.Errorf("%w: %w", ErrNoSuchAccount, err)
	}
	if err == nil {
		msg := "account created automatically (auto_create is on)"
		if !s.opts.AutoCreate {
			msg = "account created automatically for mail to it"
		}
		s.log.Warn(msg, "account", acct.Address)
	}
	return acct, err == nil, err
}
