package main

import (
	"fmt"

	"github.com/immp-mail/immp/immp/client"
)

const guardUsage = `Usage (flags: -user ADDRESS [-config FILE] [-immp HOST:PORT] [-tls|-starttls] [-insecure]):
  immp guard agents [flags] [PATTERN]          list your spam guard agents
  immp guard add-agent [flags] AGENT           create an agent
  immp guard del-agent [flags] AGENT           delete an agent and its entries
  immp guard entries [flags] AGENT [PATTERN..] list an agent's entries (patterns ANDed)
  immp guard add [flags] AGENT ENTRY           block a sender address or pattern (*@spam.example)
  immp guard del [flags] AGENT ENTRY           remove an entry

The password is read from $IMMP_PASSWORD, else from the first line of stdin.
The server's address and the domain of a bare -user name come from the
config (found as for every verb) unless -immp and a full address are given.
Every account has an agent named after its address from the start.
`

func cmdGuard(e cliEnv, args []string) int {
	verbs := []string{"agents", "add-agent", "del-agent", "entries", "add", "del"}
	verb, rest, code, done := subVerb(e, "guard", guardUsage, args, verbs)
	if done {
		return code
	}
	synopsis := map[string]string{
		"agents":    "immp guard agents [flags] [PATTERN]",
		"add-agent": "immp guard add-agent [flags] AGENT",
		"del-agent": "immp guard del-agent [flags] AGENT",
		"entries":   "immp guard entries [flags] AGENT [PATTERN...]",
		"add":       "immp guard add [flags] AGENT ENTRY",
		"del":       "immp guard del [flags] AGENT ENTRY",
	}[verb]
	fs := newFlags(e, "guard "+verb, synopsis)
	cf := addClientFlags(fs, false)
	if code, done := parseFlags(e, fs, rest); done {
		return code
	}
	n := fs.NArg()
	switch {
	case verb == "agents" && n > 1,
		(verb == "add-agent" || verb == "del-agent") && n != 1,
		verb == "entries" && n < 1,
		(verb == "add" || verb == "del") && n != 2:
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
		e.errorf("guard: %v", err)
		return exitUsage
	}
	ctx, cancel := cf.context(e)
	defer cancel()
	c, err := client.Dial(ctx, *cf.immp, client.Options{User: *cf.user, Password: pw, TLS: cf.tlsConfig(), StartTLS: *cf.starttls})
	if err != nil {
		e.errorf("guard: connecting to IMMP at %s: %v", *cf.immp, err)
		return exitFail
	}
	defer c.Close()
	defer c.Logout(ctx)

	var list []string
	switch verb {
	case "agents":
		list, err = c.SearchSpamGuardAgent(ctx, fs.Arg(0))
	case "add-agent":
		err = c.StoreSpamGuardAgent(ctx, fs.Arg(0))
	case "del-agent":
		err = c.DeleteSpamGuardAgent(ctx, fs.Arg(0))
	case "entries":
		list, err = c.SearchSpamEntry(ctx, fs.Arg(0), fs.Args()[1:]...)
	case "add":
		err = c.StoreSpamEntry(ctx, fs.Arg(0), fs.Arg(1))
	case "del":
		err = c.DeleteSpamEntry(ctx, fs.Arg(0), fs.Arg(1))
	}
	for _, s := range list {
		fmt.Fprintln(e.stdout, s)
	}
	if err != nil {
		e.errorf("guard %s: %v", verb, err)
		return exitFail
	}
	return exitOK
}
