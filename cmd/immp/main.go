package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes (DESIGN "Contracts").
const (
	exitOK    = 0
	exitFail  = 1 // runtime failure
	exitUsage = 2 // usage or configuration error
)

const usageText = `immp is an all-in-one mail server: SMTP, IMAP and IMMP over one mailbox.

Usage:
  immp serve [-config FILE]               run the servers
  immp config example                     print a commented example config
  immp config check -config FILE          validate a config file
  immp user add|del|passwd|list [-config FILE] [ADDRESS]
                                          manage accounts (password on stdin)
  immp guard agents|add-agent|del-agent|entries|add|del [flags] ARGS
                                          manage the spam guard over IMMP
  immp subinbox create|delete|rename|replace|move|list [flags] ARGS
                                          manage subinboxes over IMMP (IMAP fallback)
  immp import maildir|mbox [-config FILE] ACCOUNT ...
                                          import a Maildir++ tree or an mbox file
  immp backup|restore [-config FILE] DIR  copy the running server's data / restore it
  immp healthcheck [-config FILE]         exit 0 when the local server is healthy
  immp version                            print the version

Run "immp VERB -h" for a verb's flags. -config defaults to $IMMP_CONFIG;
without either, the built-in test-bed profile is used.
Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	// After the first signal, default handling again: a second Ctrl-C
	// ends the process at once instead of waiting out the grace period.
	context.AfterFunc(ctx, stop)
	code := runContext(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// runContext is the whole CLI (args without the program name), with a
// context whose end (a signal, in main) makes serve shut down gracefully.
func runContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	env := cliEnv{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	verb, rest := args[0], args[1:]
	switch verb {
	case "serve":
		return cmdServe(env, rest)
	case "config":
		return cmdConfig(env, rest)
	case "user":
		return cmdUser(env, rest)
	case "guard":
		return cmdGuard(env, rest)
	case "subinbox":
		return cmdSubinbox(env, rest)
	case "import":
		return cmdImport(env, rest)
	case "backup":
		return cmdBackup(env, rest)
	case "restore":
		return cmdRestore(env, rest)
	case "healthcheck":
		return cmdHealthcheck(env, rest)
	case "version":
		return cmdVersion(env, rest)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	fmt.Fprintf(stderr, "immp: unknown verb %q\n\n%s", verb, usageText)
	return exitUsage
}
