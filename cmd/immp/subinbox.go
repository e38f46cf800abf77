package main

import (
	"fmt"
	"log/slog"

	"github.com/immp-mail/immp/immp/fallback"
)

const subinboxUsage = `Usage (flags: -user ADDRESS [-config FILE] [-immp HOST:PORT] [-imap HOST:PORT] [-tls|-starttls] [-insecure]):
  immp subinbox create [flags] NAME            create a subinbox (its parent must exist)
  immp subinbox delete [flags] NAME            delete a subinbox and its messages
  immp subinbox rename [flags] OLD NEW         rename (children move along)
  immp subinbox replace [flags] OLD NEW        merge OLD into NEW; mail to OLD goes to NEW
  immp subinbox move [flags] NAME FROM TO      move subinbox NAME from parent FROM to TO ("" = INBOX)
  immp subinbox list [flags] [PATTERN]         print subinboxes in address form, one per line

Names in address form (office/work, leaf first, as in office/work/alice@...)
or absolute form (INBOX/work/office). When the IMMP server refuses the
connection, the same is done over IMAP (draft 5.6) and a note is printed
on stderr. The password is read from $IMMP_PASSWORD, else from stdin.
The addresses and the domain of a bare -user name come from the config
(found as for every verb) unless -immp, -imap and a full address are given.
`

func cmdSubinbox(e cliEnv, args []string) int {
	verbs := []string{"create", "delete", "rename", "replace", "move", "list"}
	verb, rest, code, done := subVerb(e, "subinbox", subinboxUsage, args, verbs)
	if done {
		return code
	}
	synopsis := map[string]string{
		"create":  "immp subinbox create [flags] NAME",
		"delete":  "immp subinbox delete [flags] NAME",
		"rename":  "immp subinbox rename [flags] OLD NEW",
		"replace": "immp subinbox replace [flags] OLD NEW",
		"move":    "immp subinbox move [flags] NAME FROM TO",
		"list":    "immp subinbox list [flags] [PATTERN]",
	}[verb]
	fs := newFlags(e, "subinbox "+verb, synopsis)
	cf := addClientFlags(fs, true)
	if code, done := parseFlags(e, fs, rest); done {
		return code
	}
	want := map[string]int{"create": 1, "delete": 1, "rename": 2, "replace": 2, "move": 3}[verb]
	n := fs.NArg()
	switch {
	case verb == "list" && n > 1, verb != "list" && n != want:
		return e.usageError(fs, "wrong number of arguments")
	case *cf.user == "":
		return e.usageError(fs, "-user is required")
	case *cf.tls && *cf.starttls:
		return e.usageError(fs, "-tls and -starttls exclude each other")
	}
	if !cf.resolve(e, fs) {
		return exitUsage
	}
	pw, err := cf.password(e)
	if err != nil {
		e.errorf("subinbox: %v", err)
		return exitUsage
	}
	ctx, cancel := cf.context(e)
	defer cancel()
	m, fellBack, err := fallback.Dial(ctx, fallback.Options{
		IMMPAddr: *cf.immp, IMAPAddr: *cf.imap, User: *cf.user, Password: pw,
		TLS: cf.tlsConfig(), StartTLS: *cf.starttls, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		e.errorf("subinbox: connecting to IMMP at %s: %v", *cf.immp, err)
		return exitFail
	}
	defer m.Close()
	if fellBack {
		fmt.Fprintf(e.stderr, "immp: IMMP at %s refused the connection; fell back to IMAP at %s (draft 5.6)\n", *cf.immp, *cf.imap)
	}

	a := fs.Args()
	switch verb {
	case "create":
		err = m.Create(ctx, a[0])
	case "delete":
		err = m.Delete(ctx, a[0])
	case "rename":
		err = m.Rename(ctx, a[0], a[1])
	case "replace":
		err = m.Replace(ctx, a[0], a[1])
	case "move":
		err = m.Move(ctx, a[0], a[1], a[2])
	case "list":
		pattern := "*"
		if n == 1 {
			pattern = a[0]
		}
		var names []string
		names, err = m.List(ctx, "", pattern)
		for _, name := range names {
			fmt.Fprintln(e.stdout, name)
		}
	}
	if err != nil {
		e.errorf("subinbox %s: %v", verb, err)
		return exitFail
	}
	return exitOK
}
