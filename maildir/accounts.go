package maildir

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// CanonicalAddress lower-cases and checks an account address
// "local@domain". The local part is a dot-atom without "/" (it becomes a
// directory name and "/" is the subinbox separator); the domain is a host
// name. Anything else is ErrInvalidAddress.
func CanonicalAddress(address string) (string, error) {
	a := strings.ToLower(strings.TrimSpace(address))
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 || len(a) > 254 {
		return "", fmt.Errorf("%w: %q", ErrInvalidAddress, address)
	}
	local, domain := a[:at], a[at+1:]
	if len(local) > 64 || !validLocal(local) || !validDomain(domain) {
		return "", fmt.Errorf("%w: %q", ErrInvalidAddress, address)
	}
	return a, nil
}

// ErrPlusInAddress is why a new account may not have '+' in its local
// part: "alice+x@example.org" is plus addressing, subinbox "x" of
// alice@example.org (profile 9), so such an account would never get its
// mail and alice could send as it. Errors carrying it also match
// ErrInvalidAddress.
var ErrPlusInAddress = errors.New("'+' is not allowed in an account name: it is reserved for plus addressing")

// NewAccountAddress is CanonicalAddress with the rules that only a new
// account's name must follow: no '+' in the local part (ErrPlusInAddress).
// Lookups stay with CanonicalAddress, so an account made before this rule
// can still be found, logged into and deleted.
func NewAccountAddress(address string) (string, error) {
	a, err := CanonicalAddress(address)
	if err != nil {
		return "", err
	}
	at := strings.LastIndexByte(a, '@')
	if plus := strings.IndexByte(a[:at], '+'); plus >= 0 {
		return "", fmt.Errorf("%w: %s: %w (%s means subinbox %q of %s)", ErrInvalidAddress, a,
			ErrPlusInAddress, a, a[plus+1:at], a[:plus]+a[at:])
	}
	return a, nil
}

func validLocal(l string) bool {
	if l == "" || l[0] == '.' || l[len(l)-1] == '.' || strings.Contains(l, "..") {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.':
		case strings.IndexByte("!#$%&'*+-=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// AccountDir returns the account's Maildir root:
// <data>/mail/<domain>/<local>/Maildir.
func (s *Store) AccountDir(acct Account) string {
	local, domain, _ := strings.Cut(acct.Address, "@")
	return filepath.Join(s.mailDir, domain, local, "Maildir")
}

// defaultFolders are created beside INBOX with every account (issue 2),
// with their RFC 6154 special-use attributes. Dovecot keeps no special-use
// on disk, so it is known by name.
var defaultFolders = []struct{ name, use string }{
	{"Sent", `\Sent`}, {"Drafts", `\Drafts`}, {"Trash", `\Trash`},
	{"Junk", `\Junk`}, {"Archive", `\Archive`},
}

func specialUse(name string) string {
	for _, f := range defaultFolders {
		if f.name == name {
			return f.use
		}
	}
	return ""
}

// AddAccount creates an account with the given password, its Maildir, the
// default folders and the default spam guard agent (profile 7). The name
// follows NewAccountAddress: '+' in it is ErrPlusInAddress.
func (s *Store) AddAccount(ctx context.Context, address, password string) (Account, error) {
	if password == "" {
		return Account{}, errors.New("maildir: empty password")
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return Account{}, err
	}
	return s.createAccount(ctx, address, hash)
}

// EnsureAccount returns the account for address, creating it (without a
// password: the first Authenticate sets it) when the store runs with
// AutoCreate. created says whether it was made now. Without AutoCreate an
// unknown address is ErrNoSuchAccount.
func (s *Store) EnsureAccount(ctx context.Context, address string) (Account, bool, error) {
	return s.ensureAccount(ctx, address, s.opts.AutoCreate) // ensure.go
}

func (s *Store) createAccount(ctx context.Context, address, hash string) (Account, error) {
	addr, err := NewAccountAddress(address)
	if err != nil {
		return Account{}, err
	}
	now := time.Now()
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return Account{}, dbErr("begin", err)
	}
	defer tx.Rollback()
	var exists int
	err = tx.QueryRowContext(ctx, "SELECT 1 FROM accounts WHERE address = ?", addr).Scan(&exists)
	if err == nil {
		return Account{}, fmt.Errorf("%w: %s", ErrAccountExists, addr)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return Account{}, dbErr("lookup account", err)
	}
	// IDs are never reused (lifecycle.go): the next one is past every ID
	// ever given, which meta.last_account_id remembers across deletions.
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT max(
		COALESCE((SELECT value FROM meta WHERE key = 'last_account_id'), 0),
		COALESCE((SELECT max(id) FROM accounts), 0)) + 1`).Scan(&id); err != nil {
		return Account{}, dbErr("next account id", err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO accounts(id, address, password, created) VALUES (?, ?, ?, ?)", id, addr, hash, now.Unix()); err != nil {
		return Account{}, dbErr("insert account", err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO meta(key, value) VALUES ('last_account_id', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", id); err != nil {
		return Account{}, dbErr("insert account", err)
	}
	// The default agent is named as the login user, the full address (profile 7).
	if _, err := tx.ExecContext(ctx, "INSERT INTO agents(account_id, name, name_key) VALUES (?, ?, ?)", id, addr, addr); err != nil {
		return Account{}, dbErr("insert agent", err)
	}
	if err := bumpGuard(ctx, tx); err != nil {
		return Account{}, err
	}
	acct := Account{ID: id, Address: addr, Created: time.Unix(now.Unix(), 0)}
	// Create the Maildir before committing: an account row without its
	// Maildir must never be visible. A leftover tree (an account deleted
	// by hand) is reused as it is.
	if err := s.createMaildir(acct); err != nil {
		return Account{}, err
	}
	if err := tx.Commit(); err != nil {
		return Account{}, dbErr("commit", err)
	}
	s.guardLocal.Add(1)
	s.log.Info("account created", "account", addr)
	return acct, nil
}

// createMaildir makes INBOX and the default folders, durably.
func (s *Store) createMaildir(acct Account) error {
	root := s.AccountDir(acct)
	if err := os.MkdirAll(filepath.Dir(root), 0o700); err != nil {
		return fmt.Errorf("maildir: create account dir: %w", err)
	}
	if err := s.makeMaildir(root, false); err != nil {
		return err
	}
	for _, f := range defaultFolders {
		dir := filepath.Join(root, encodeFolderDir(f.name))
		if err := s.makeMaildir(dir, true); err != nil {
			return err
		}
	}
	// Dovecot subscribes the default folders it auto-creates; do the same,
	// and INBOX too, so IMAP clients that show subscribed folders only see
	// them (subscriptions.go).
	subs, err := readSubscriptions(root)
	if err != nil {
		return err
	}
	subs = addSub(subs, "INBOX")
	for _, f := range defaultFolders {
		subs = addSub(subs, f.name)
	}
	if err := writeSubscriptions(root, subs, !s.opts.NoSync); err != nil {
		return err
	}
	return s.fsyncDir(filepath.Dir(root))
}

// DeleteAccount removes the account, its agents, entries and aliases, and
// its whole Maildir.
func (s *Store) DeleteAccount(ctx context.Context, address string) error {
	acct, err := s.Account(ctx, address)
	if err != nil {
		return err
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return dbErr("begin", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM accounts WHERE id = ?", acct.ID); err != nil {
		return dbErr("delete account", err)
	}
	if err := bumpGuard(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbErr("commit", err)
	}
	s.guardLocal.Add(1)
	s.accountDeleted(acct)
	root := s.AccountDir(acct)
	// Rename first so a half-removed tree is never mistaken for a mailbox.
	trash := filepath.Join(s.mailDir, fmt.Sprintf(".deleted-%d-%d", acct.ID, time.Now().UnixNano()))
	if err := os.Rename(filepath.Dir(root), trash); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("maildir: remove account tree: %w", err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("maildir: remove account tree: %w", err)
	}
	s.log.Info("account deleted", "account", acct.Address)
	return nil
}

// SetPassword changes an account's password.
func (s *Store) SetPassword(ctx context.Context, address, password string) error {
	if password == "" {
		return errors.New("maildir: empty password")
	}
	addr, err := CanonicalAddress(address)
	if err != nil {
		return err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return err
	}
	res, err := s.wdb.ExecContext(ctx, "UPDATE accounts SET password = ? WHERE address = ?", hash, addr)
	if err != nil {
		return dbErr("set password", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s", ErrNoSuchAccount, addr)
	}
	return nil
}

// Authenticate checks a password. Unknown account and wrong password give
// the same ErrAuthFailed after the same work (a dummy verify), so timing
// does not tell which (draft 7). With AutoCreate an unknown account is
// created with this password, and an account made by EnsureAccount (no
// password yet) takes this one.
//
// A password verified lately against the account's current hash is taken
// from the auth cache without argon2id (authcache.go); every other check
// waits for a hashing slot and fails with ErrAuthBusy when none frees up
// in time (password.go).
func (s *Store) Authenticate(ctx context.Context, address, password string) (Account, error) {
	addr, err := CanonicalAddress(address)
	if err != nil || password == "" {
		return Account{}, s.dummyVerify(ctx, password)
	}
	var acct Account
	var hash string
	var created int64
	err = s.rdb.QueryRowContext(ctx, "SELECT id, address, password, created FROM accounts WHERE address = ?", addr).
		Scan(&acct.ID, &acct.Address, &hash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		if !s.opts.AutoCreate {
			return Account{}, s.dummyVerify(ctx, password)
		}
		acct, err = s.AddAccount(ctx, addr, password)
		if errors.Is(err, ErrAccountExists) {
			return s.Authenticate(ctx, addr, password)
		}
		if errors.Is(err, ErrPlusInAddress) { // no such account can be made
			return Account{}, ErrAuthFailed
		}
		if err != nil {
			return Account{}, err
		}
		s.log.Warn("account created at first login (auto_create is on)", "account", addr)
		return acct, nil
	}
	if err != nil {
		return Account{}, dbErr("lookup account", err)
	}
	acct.Created = time.Unix(created, 0)
	if hash == "" {
		if !s.opts.AutoCreate {
			return Account{}, s.dummyVerify(ctx, password)
		}
		h, err := s.hashPassword(ctx, password)
		if err != nil {
			return Account{}, err
		}
		res, err := s.wdb.ExecContext(ctx, "UPDATE accounts SET password = ? WHERE id = ? AND password = ''", h, acct.ID)
		if err != nil {
			return Account{}, dbErr("set password", err)
		}
		if n, _ := res.RowsAffected(); n == 0 { // someone else set it first
			return s.Authenticate(ctx, addr, password)
		}
		return acct, nil
	}
	if s.authCache.hit(addr, password, hash) {
		return acct, nil
	}
	ok, err := s.verifyPassword(ctx, hash, password)
	if errors.Is(err, errBadHash) {
		s.log.Error("unusable password hash", "account", addr, "err", err)
		return Account{}, ErrAuthFailed
	}
	if err != nil {
		return Account{}, err // no hashing slot in time, or ctx done
	}
	if !ok {
		return Account{}, ErrAuthFailed
	}
	s.authCache.put(addr, password, hash)
	return acct, nil
}

// dummyVerify does a verification's work for a login that cannot succeed,
// so that it takes as long as a wrong password (draft 7), and returns
// ErrAuthFailed, or the gate's error when no hashing slot was had: a busy
// server answers an unknown account as it answers a known one.
func (s *Store) dummyVerify(ctx context.Context, password string) error {
	if _, err := s.verifyPassword(ctx, s.dummyHash, password); err != nil {
		return err
	}
	return ErrAuthFailed
}

// Account looks an account up by address (any case).
func (s *Store) Account(ctx context.Context, address string) (Account, error) {
	addr, err := CanonicalAddress(address)
	if err != nil {
		return Account{}, fmt.Errorf("%w: %w", ErrNoSuchAccount, err)
	}
	ver, verr := s.GuardVersion(ctx)
	if verr == nil {
		if e, ok := s.accounts.get(ver, addr); ok {
			if !e.found {
				return Account{}, fmt.Errorf("%w: %s", ErrNoSuchAccount, addr)
			}
			return e.acct, nil
		}
	}
	var acct Account
	var created int64
	err = s.rdb.QueryRowContext(ctx, "SELECT id, address, created FROM accounts WHERE address = ?", addr).
		Scan(&acct.ID, &acct.Address, &created)
	if errors.Is(err, sql.ErrNoRows) {
		if verr == nil {
			s.accounts.put(ver, addr, cachedAccount{})
		}
		return Account{}, fmt.Errorf("%w: %s", ErrNoSuchAccount, addr)
	}
	if err != nil {
		return Account{}, dbErr("lookup account", err)
	}
	acct.Created = time.Unix(created, 0)
	if verr == nil {
		s.accounts.put(ver, addr, cachedAccount{acct: acct, found: true})
	}
	return acct, nil
}

// Accounts lists every account, sorted by address.
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT id, address, created FROM accounts ORDER BY address")
	if err != nil {
		return nil, dbErr("list accounts", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		var a Account
		var created int64
		if err := rows.Scan(&a.ID, &a.Address, &created); err != nil {
			return nil, dbErr("list accounts", err)
		}
		a.Created = time.Unix(created, 0)
		out = append(out, a)
	}
	return out, dbErr("list accounts", rows.Err())
}

// dbErr wraps a database error with what was being done; nil stays nil.
func dbErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("maildir: %s: %w", what, err)
}
