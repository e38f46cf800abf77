package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"immp/config"
	"immp/maildir"
)

const userUsage = `Usage:
  immp user add [-config FILE] ADDRESS      create an account; password on stdin
  immp user passwd [-config FILE] ADDRESS   set a new password; password on stdin
  immp user del [-config FILE] ADDRESS      delete an account and its mail
  immp user list [-config FILE]             print every account, one per line

They open the data directory of the config directly and work while the
server runs. The password is the first line of standard input, e.g.
  printf '%s\n' "$PASSWORD" | immp user add -config immp.toml alice@example.org
`

func cmdUser(e cliEnv, args []string) int {
	verb, rest, code, done := subVerb(e, "user", userUsage, args, []string{"add", "del", "passwd", "list"})
	if done {
		return code
	}
	synopsis := "immp user " + verb + " [-config FILE] ADDRESS"
	if verb == "list" {
		synopsis = "immp user list [-config FILE]"
	}
	fs := newFlags(e, "user "+verb, synopsis)
	path := configFlag(e, fs)
	if code, done := parseFlags(e, fs, rest); done {
		return code
	}
	want := 1
	if verb == "list" {
		want = 0
	}
	if fs.NArg() != want {
		if want == 0 {
			return e.usageError(fs, "user list takes no arguments")
		}
		return e.usageError(fs, "user %s needs exactly one ADDRESS", verb)
	}
	cfg, ok := loadConfig(e, *path)
	if !ok {
		return exitUsage
	}
	var addr, password string
	if want == 1 {
		var err error
		check := maildir.CanonicalAddress
		if verb == "add" {
			check = maildir.NewAccountAddress // no '+': plus addressing
		}
		addr, err = check(fs.Arg(0))
		if errors.Is(err, maildir.ErrPlusInAddress) {
			e.errorf("user add: %v", err) // one line: the usage would not help
			return exitUsage
		}
		if err != nil {
			return e.usageError(fs, "ADDRESS %q: %v", fs.Arg(0), err)
		}
		if verb == "add" && !inDomains(cfg, addr) {
			e.errorf("domains: %s is not one of the configured domains %v", addr[strings.LastIndexByte(addr, '@')+1:], cfg.Domains)
			return exitUsage
		}
	}
	if verb == "add" || verb == "passwd" {
		var err error
		if password, err = readPassword(e.stdin); err != nil {
			e.errorf("user %s: %v", verb, err)
			return exitUsage
		}
	}

	store, err := maildir.Open(e.ctx, maildir.Options{DataDir: cfg.DataDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		e.errorf("opening %s: %v", cfg.DataDir, err)
		return exitFail
	}
	defer store.Close()

	switch verb {
	case "add":
		_, err = store.AddAccount(e.ctx, addr, password)
	case "passwd":
		err = store.SetPassword(e.ctx, addr, password)
	case "del":
		err = store.DeleteAccount(e.ctx, addr)
	case "list":
		var accts []maildir.Account
		accts, err = store.Accounts(e.ctx)
		for _, a := range accts {
			fmt.Fprintln(e.stdout, a.Address)
		}
	}
	switch {
	case err == nil:
		if verb != "list" {
			fmt.Fprintf(e.stderr, "immp: user %s %s: done\n", verb, addr)
		}
		return exitOK
	case errors.Is(err, maildir.ErrAccountExists):
		e.errorf("user %s: %s already exists", verb, addr)
	case errors.Is(err, maildir.ErrNoSuchAccount):
		e.errorf("user %s: no account %s", verb, addr)
	case maildir.Temporary(err):
		e.errorf("user %s: %v (the database is locked by another process, or the disk is full or read-only; try again later)", verb, err)
	default:
		e.errorf("user %s: %v", verb, err)
	}
	return exitFail
}

func inDomains(cfg config.Config, addr string) bool {
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	for _, d := range cfg.Domains {
		if strings.EqualFold(d, domain) {
			return true
		}
	}
	return false
}
