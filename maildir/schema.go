package maildir

import (
	"context"
	"database/sql"
	"fmt"
)

// schemaVersion is stored in PRAGMA user_version. Version 3 added
// accounts.quota (quota.go).
const schemaVersion = 3

// The schema. Names and entries keep the spelling they were given and
// carry a lower-cased key for case-insensitive uniqueness (profile 7).
// meta.guard_version is bumped in the same transaction as every change to
// accounts, agents or entries, so any process sees the change (guard.go).
const schemaSQL = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta(key, value) VALUES ('guard_version', 1);
CREATE TABLE IF NOT EXISTS accounts (
	id       INTEGER PRIMARY KEY,
	address  TEXT NOT NULL UNIQUE,
	password TEXT NOT NULL DEFAULT '',
	created  INTEGER NOT NULL,
	quota    INTEGER -- octets; 0 unlimited; NULL the configured default
);
CREATE TABLE IF NOT EXISTS agents (
	id         INTEGER PRIMARY KEY,
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	name_key   TEXT NOT NULL,
	UNIQUE (account_id, name_key)
);
CREATE TABLE IF NOT EXISTS entries (
	agent_id  INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
	entry     TEXT NOT NULL,
	entry_key TEXT NOT NULL,
	PRIMARY KEY (agent_id, entry_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS aliases (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	old_key    TEXT NOT NULL,
	target     TEXT NOT NULL,
	PRIMARY KEY (account_id, old_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS folder_index (
	account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	key         TEXT NOT NULL,
	uidvalidity INTEGER NOT NULL,
	data        BLOB NOT NULL,
	PRIMARY KEY (account_id, key)
) WITHOUT ROWID;
`

func migrate(ctx context.Context, db *sql.DB) error {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("maildir: read schema version: %w", err)
	}
	if v > schemaVersion {
		return fmt.Errorf("maildir: database schema %d is newer than this program (%d)", v, schemaVersion)
	}
	if v == schemaVersion {
		// Current: nothing to write. Opening must not need the write
		// lock, or "immp user list" (and a server start) would fail
		// while another process holds it past busy_timeout.
		return nil
	}
	// One transaction: another process opening the same database at the
	// same time sees the old schema or the new one, never half of it.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("maildir: migrate schema: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, schemaSQL); err != nil {
		return fmt.Errorf("maildir: create schema: %w", err)
	}
	// Version 3: the per-account quota. A table made by an older version
	// lacks the column (CREATE TABLE IF NOT EXISTS left it as it was).
	var hasQuota int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM pragma_table_info('accounts') WHERE name = 'quota'").Scan(&hasQuota); err != nil {
		return fmt.Errorf("maildir: migrate schema: %w", err)
	}
	if hasQuota == 0 {
		if _, err := tx.ExecContext(ctx, "ALTER TABLE accounts ADD COLUMN quota INTEGER"); err != nil {
			return fmt.Errorf("maildir: add accounts.quota: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return fmt.Errorf("maildir: set schema version: %w", err)
	}
	return tx.Commit()
}
