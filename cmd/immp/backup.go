package main

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/immp-mail/immp/backup"
	"github.com/immp-mail/immp/maildir"
)

const backupUsage = `Usage: immp backup [-config FILE] DIR

Copy the data directory of the config into DIR (missing or empty) while
the server runs and delivers: the database as of one moment, then every
folder under its locks, so a message is in the backup with its UID or
not at all. Message files are hard-linked (copied across file systems).
DIR/MANIFEST.json holds the counts and the checksum of DIR/MANIFEST.files.
`

const restoreUsage = `Usage: immp restore [-config FILE] DIR

Restore the backup in DIR into the data directory of the config, which
must be missing or empty (stop the server and move the old one away
first). Every file is checked against the backup's manifest.
`

func cmdBackup(e cliEnv, args []string) int {
	fs := newFlags(e, "backup", "immp backup [-config FILE] DIR")
	path := configFlag(e, fs)
	if code, done := parseFlags(e, fs, args); done {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprint(e.stderr, backupUsage)
		return exitUsage
	}
	cfg, ok := loadConfig(e, *path)
	if !ok {
		return exitUsage
	}
	store, opened := openStore(e, cfg)
	if !opened {
		return exitFail
	}
	defer store.Close()
	start := time.Now()
	m, err := backup.Backup(e.ctx, store, fs.Arg(0))
	if errors.Is(err, backup.ErrNotEmpty) {
		e.errorf("backup: %v: give a new or empty directory", err)
		return exitFail
	}
	if err != nil {
		e.errorf("backup: %v", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "backup of %s in %s: %d accounts, %d folders, %d messages (%d linked, %d copied), %d files, %d octets, %s\n",
		cfg.DataDir, fs.Arg(0), m.Stats.Accounts, m.Stats.Folders, m.Stats.Messages, m.Stats.Linked, m.Stats.Copied,
		m.Files, m.Stats.Bytes, time.Since(start).Round(time.Millisecond))
	return exitOK
}

func cmdRestore(e cliEnv, args []string) int {
	fs := newFlags(e, "restore", "immp restore [-config FILE] DIR")
	path := configFlag(e, fs)
	if code, done := parseFlags(e, fs, args); done {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprint(e.stderr, restoreUsage)
		return exitUsage
	}
	cfg, ok := loadConfig(e, *path)
	if !ok {
		return exitUsage
	}
	m, err := backup.Restore(e.ctx, fs.Arg(0), cfg.DataDir)
	if errors.Is(err, backup.ErrNotEmpty) {
		e.errorf("restore: data_dir %v: restore only into an empty or missing directory (stop the server, move the old data away)", err)
		return exitFail
	}
	if err != nil {
		e.errorf("restore: %v", err)
		return exitFail
	}
	// The restored directory opens as a store (the schema is current).
	store, err := maildir.Open(e.ctx, maildir.Options{DataDir: cfg.DataDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		e.errorf("restore: the restored data does not open: %v", err)
		return exitFail
	}
	store.Close()
	fmt.Fprintf(e.stdout, "restored %s into %s: %d accounts, %d folders, %d messages, %d files verified\n",
		fs.Arg(0), cfg.DataDir, m.Stats.Accounts, m.Stats.Folders, m.Stats.Messages, m.Files)
	return exitOK
}
