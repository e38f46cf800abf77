package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/maildir"
)

const userUsage = `Usage:
  immp user add [-config FILE] [-quota SIZE] ADDRESS   create an account
  immp user passwd [-config FILE] ADDRESS              set a new password
  immp user del [-config FILE] ADDRESS                 delete an account and its mail
  immp user list [-config FILE]                        print every account with its storage use
  immp user quota [-config FILE] ADDRESS [SIZE]        set the account's quota, or print its use

They open the data directory of the config directly and work while the
server runs, as the user that owns the data directory. At a terminal,
add and passwd ask for the password twice without showing it; otherwise
it is the first line of standard input, or of -password-file FILE:
  printf '%s\n' "$PASSWORD" | immp user add -config immp.toml alice@example.org
  immp user add -config immp.toml -password-file pw.txt alice@example.org

user list prints one line per account, fields separated by a tab: the
address, the storage used (the sizes of all its messages), and the quota
("unlimited", or a size; "(own)" when set on the account, otherwise the
[accounts] quota of the config). SIZE is a size as in the config ("1GiB",
"500MB", "0" or "unlimited" for no limit), or "default" to follow
[accounts] quota again.
`

func cmdUser(e cliEnv, args []string) int {
	verb, rest, code, done := subVerb(e, "user", userUsage, args, []string{"add", "del", "passwd", "list", "quota"})
	if done {
		return code
	}
	synopsis := map[string]string{
		"add":    "immp user add [-config FILE] [-quota SIZE] [-password-file FILE] ADDRESS",
		"passwd": "immp user passwd [-config FILE] [-password-file FILE] ADDRESS",
		"del":    "immp user del [-config FILE] ADDRESS",
		"list":   "immp user list [-config FILE]",
		"quota":  "immp user quota [-config FILE] ADDRESS [SIZE]",
	}[verb]
	fs := newFlags(e, "user "+verb, synopsis)
	path := configFlag(e, fs)
	var quotaFlag, pwFile *string
	if verb == "add" {
		quotaFlag = fs.String("quota", "", "the account's own storage quota `SIZE` (\"1GiB\", \"0\" unlimited); default: [accounts] quota")
	}
	if verb == "add" || verb == "passwd" {
		pwFile = fs.String("password-file", "", "read the password from the first line of `FILE` (for scripts);\n"+
			"default: prompt twice at a terminal, else the first line of standard input")
	}
	if code, done := parseFlags(e, fs, rest); done {
		return code
	}
	switch n := fs.NArg(); {
	case verb == "list" && n != 0:
		return e.usageError(fs, "user list takes no arguments")
	case verb == "quota" && (n < 1 || n > 2):
		return e.usageError(fs, "user quota needs an ADDRESS and, to set it, a SIZE")
	case verb != "list" && verb != "quota" && n != 1:
		return e.usageError(fs, "user %s needs exactly one ADDRESS", verb)
	}
	var limit *int64
	if verb == "add" && *quotaFlag != "" {
		l, err := config.ParseQuota(*quotaFlag)
		if err != nil {
			return e.usageError(fs, "-quota: %v", err)
		}
		limit = &l
	}
	if verb == "quota" && fs.NArg() == 2 {
		l, err := config.ParseQuota(fs.Arg(1))
		if err != nil {
			return e.usageError(fs, "SIZE: %v", err)
		}
		limit = &l
	}
	cfg, ok := loadConfig(e, *path)
	if !ok {
		return exitUsage
	}
	var addr, password string
	if verb != "list" {
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
		if password, err = newPassword(e, *pwFile, addr); err != nil {
			e.errorf("user %s: %v", verb, err)
			return exitUsage
		}
	}

	store, ok := openStore(e, cfg)
	if !ok {
		return exitFail
	}
	defer store.Close()

	var err error
	quiet := false
	switch verb {
	case "add":
		_, err = store.AddAccount(e.ctx, addr, password)
		if err == nil && limit != nil {
			err = store.SetQuota(e.ctx, addr, *limit)
		}
	case "passwd":
		err = store.SetPassword(e.ctx, addr, password)
	case "del":
		err = store.DeleteAccount(e.ctx, addr)
	case "list":
		quiet = true
		var accts []maildir.Account
		if accts, err = store.Accounts(e.ctx); err == nil {
			err = printUsage(e, store, accts)
		}
	case "quota":
		if limit != nil {
			err = store.SetQuota(e.ctx, addr, *limit)
			break
		}
		quiet = true
		var a maildir.Account
		if a, err = store.Account(e.ctx, addr); err == nil {
			err = printUsage(e, store, []maildir.Account{a})
		}
	}
	switch {
	case err == nil:
		if !quiet {
			fmt.Fprintf(e.stderr, "immp: user %s %s: done (%s)\n", verb, addr, userDone(verb, cfg, limit))
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

// printUsage writes "address<TAB>used<TAB>quota" per account.
func printUsage(e cliEnv, store *maildir.Store, accts []maildir.Account) error {
	for _, a := range accts {
		u, err := store.Usage(e.ctx, a)
		if err != nil {
			return fmt.Errorf("usage of %s: %w", a.Address, err)
		}
		quota := "unlimited"
		if u.Limit > 0 {
			quota = config.Size(u.Limit).String()
		}
		if u.Own {
			quota += " (own)"
		}
		fmt.Fprintf(e.stdout, "%s\t%s\t%s\n", a.Address, config.Size(u.Used).Human(), quota)
	}
	return nil
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

// userDone says what a changing user command did, in words.
func userDone(verb string, cfg config.Config, limit *int64) string {
	switch verb {
	case "add":
		q := "no storage quota"
		if cfg.Accounts.Quota > 0 {
			q = "quota " + cfg.Accounts.Quota.String() + " ([accounts] quota)"
		}
		if limit != nil {
			q = "own quota " + quotaText(*limit)
		}
		return "account created with the password given, " + q + "; mail in " + cfg.DataDir
	case "passwd":
		return "password changed; the next login needs it"
	case "del":
		return "account and all its mail deleted"
	case "quota":
		return "quota set to " + quotaText(*limit)
	}
	return verb
}

func quotaText(l int64) string {
	switch {
	case l == maildir.QuotaDefault:
		return "the [accounts] quota"
	case l == 0:
		return "unlimited"
	}
	return config.Size(l).String()
}
