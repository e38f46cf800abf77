package maildir

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxEntryLen is the longest spam guard entry (profile 7).
const MaxEntryLen = 320

func agentKey(name string) string { return strings.ToLower(name) }

func checkAgentName(name string) error {
	if name == "" || len(name) > 320 || !utf8.ValidString(name) {
		return fmt.Errorf("%w: invalid agent name", ErrInvalidName)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: invalid agent name", ErrInvalidName)
		}
	}
	return nil
}

func checkEntry(e string) error {
	if e == "" || len(e) > MaxEntryLen || !utf8.ValidString(e) {
		return fmt.Errorf("%w: invalid spam entry", ErrInvalidAddress)
	}
	for _, r := range e {
		if r <= 0x20 || r == 0x7f {
			return fmt.Errorf("%w: invalid spam entry", ErrInvalidAddress)
		}
	}
	return nil
}

// bumpGuard advances the guard version inside a write transaction.
func bumpGuard(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, "UPDATE meta SET value = value + 1 WHERE key = 'guard_version'")
	return dbErr("bump guard version", err)
}

// Agents lists the account's spam guard agents, sorted case-insensitively.
func (s *Store) Agents(ctx context.Context, acct Account) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT name FROM agents WHERE account_id = ? ORDER BY name_key, name", acct.ID)
	if err != nil {
		return nil, dbErr("list agents", err)
	}
	return scanStrings(rows, "list agents")
}

// AddAgent creates an agent; an existing name (any case) is ErrAgentExists.
func (s *Store) AddAgent(ctx context.Context, acct Account, name string) error {
	if err := checkAgentName(name); err != nil {
		return err
	}
	return s.guardTx(ctx, acct, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO agents(account_id, name, name_key) VALUES (?, ?, ?)", acct.ID, name, agentKey(name))
		if err != nil {
			return dbErr("add agent", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: %s", ErrAgentExists, name)
		}
		return nil
	})
}

// DeleteAgent removes an agent and its entries (profile 7).
func (s *Store) DeleteAgent(ctx context.Context, acct Account, name string) error {
	return s.guardTx(ctx, acct, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM agents WHERE account_id = ? AND name_key = ?", acct.ID, agentKey(name))
		if err != nil {
			return dbErr("delete agent", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: %s", ErrNoSuchAgent, name)
		}
		return nil
	})
}

// Entries lists one agent's entries, sorted.
func (s *Store) Entries(ctx context.Context, acct Account, agent string) ([]string, error) {
	var id int64
	err := s.rdb.QueryRowContext(ctx, "SELECT id FROM agents WHERE account_id = ? AND name_key = ?", acct.ID, agentKey(agent)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchAgent, agent)
	}
	if err != nil {
		return nil, dbErr("lookup agent", err)
	}
	rows, err := s.rdb.QueryContext(ctx, "SELECT entry FROM entries WHERE agent_id = ? ORDER BY entry_key, entry", id)
	if err != nil {
		return nil, dbErr("list entries", err)
	}
	return scanStrings(rows, "list entries")
}

// AllEntries lists the entries of all the account's agents, lower-cased,
// sorted and without duplicates (what the guard matches against).
func (s *Store) AllEntries(ctx context.Context, acct Account) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT DISTINCT e.entry_key FROM entries e JOIN agents a ON a.id = e.agent_id
		WHERE a.account_id = ? ORDER BY e.entry_key`, acct.ID)
	if err != nil {
		return nil, dbErr("list entries", err)
	}
	return scanStrings(rows, "list entries")
}

// AddEntry stores an entry under an agent (ErrNoSuchAgent, ErrEntryExists).
func (s *Store) AddEntry(ctx context.Context, acct Account, agent, entry string) error {
	if err := checkEntry(entry); err != nil {
		return err
	}
	return s.guardTx(ctx, acct, func(tx *sql.Tx) error {
		id, err := agentID(ctx, tx, acct, agent)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO entries(agent_id, entry, entry_key) VALUES (?, ?, ?)", id, entry, strings.ToLower(entry))
		if err != nil {
			return dbErr("add entry", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: %s", ErrEntryExists, entry)
		}
		return nil
	})
}

// DeleteEntry removes an entry (ErrNoSuchAgent, ErrNoSuchEntry).
func (s *Store) DeleteEntry(ctx context.Context, acct Account, agent, entry string) error {
	return s.guardTx(ctx, acct, func(tx *sql.Tx) error {
		id, err := agentID(ctx, tx, acct, agent)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM entries WHERE agent_id = ? AND entry_key = ?", id, strings.ToLower(entry))
		if err != nil {
			return dbErr("delete entry", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: %s", ErrNoSuchEntry, entry)
		}
		return nil
	})
}

func agentID(ctx context.Context, tx *sql.Tx, acct Account, agent string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, "SELECT id FROM agents WHERE account_id = ? AND name_key = ?", acct.ID, agentKey(agent)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: %s", ErrNoSuchAgent, agent)
	}
	return id, dbErr("lookup agent", err)
}

// guardTx runs fn in a write transaction that also bumps the guard version.
func (s *Store) guardTx(ctx context.Context, acct Account, fn func(*sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return dbErr("begin", err)
	}
	defer tx.Rollback()
	var one int
	if err := tx.QueryRowContext(ctx, "SELECT 1 FROM accounts WHERE id = ?", acct.ID).Scan(&one); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrNoSuchAccount, acct.Address)
		}
		return dbErr("lookup account", err)
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := bumpGuard(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbErr("commit", err)
	}
	s.guardLocal.Add(1)
	return nil
}

// GuardVersion returns a number that changes whenever accounts, agents or
// entries change, in this process or another. Every such change bumps
// meta.guard_version in its own transaction. Reading it is cheap: while
// this process has made no change and the database and WAL files look
// the same as at the last look (two stat calls), the cached value is
// returned; at least every guardRecheck, and whenever anything moved, one
// PRAGMA data_version on a pinned read connection (it moves whenever
// another connection commits) decides whether the counter is read again.
func (s *Store) GuardVersion(ctx context.Context) (int64, error) {
	s.verMu.Lock()
	defer s.verMu.Unlock()
	local := s.guardLocal.Load()
	dbID := statID(s.dbPath)
	walID := statID(s.dbPath + "-wal")
	if s.verOK && local == s.verLocal && dbID == s.verDB && walID == s.verWAL && time.Since(s.verAt) < guardRecheck {
		return s.verVal, nil
	}
	if s.verConn == nil {
		c, err := s.rdb.Conn(ctx)
		if err != nil {
			return 0, dbErr("guard version", err)
		}
		s.verConn = c
		s.verOK = false
	}
	var dv int64
	if err := s.verConn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&dv); err != nil {
		s.verConn.Close()
		s.verConn = nil
		return 0, dbErr("guard version", err)
	}
	if !s.verOK || dv != s.verDV {
		var v int64
		if err := s.verConn.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'guard_version'").Scan(&v); err != nil {
			return 0, dbErr("guard version", err)
		}
		s.verDV, s.verVal = dv, v
	}
	s.verOK, s.verLocal, s.verDB, s.verWAL, s.verAt = true, local, dbID, walID, time.Now()
	return s.verVal, nil
}

// guardRecheck bounds how long the stat-based shortcut of GuardVersion is
// trusted (a change by another process within one timestamp tick that
// leaves the WAL's size unchanged would otherwise go unseen).
const guardRecheck = 250 * time.Millisecond

func scanStrings(rows *sql.Rows, what string) ([]string, error) {
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, dbErr(what, err)
		}
		out = append(out, v)
	}
	return out, dbErr(what, rows.Err())
}
