package maildir

import (
	"errors"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Temporary reports whether err is a storage condition that passes without
// a change to the program: the disk or a quota is full, the file system is
// read-only, or the database is locked by another process past
// busy_timeout, full or read-only. Protocol packages answer it with a
// temporary failure (SMTP 4xx, IMAP/IMMP NO [UNAVAILABLE]), never as a
// server bug: the client should retry.
func Temporary(err error) bool {
	if err == nil {
		return false
	}
	if Full(err) || errors.Is(err, syscall.EROFS) || errors.Is(err, ErrBusy) {
		return true
	}
	switch sqliteCode(err) {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_READONLY:
		return true
	}
	return false
}

// Full reports whether err says that the disk, a quota, or the database
// is full (RFC 3463 4.3.1: the SMTP client hears 452).
func Full(err error) bool {
	if err == nil {
		return false
	}
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		sqliteCode(err) == sqlite3.SQLITE_FULL
}

// sqliteCode is the primary result code of a SQLite error in err's chain,
// or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}
