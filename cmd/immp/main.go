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

// verb is one command of the CLI.
type verb struct {
	name  string
	run   func(cliEnv, []string) int
	usage string // synopsis after "immp "
	help  string // what it does, one line
}

// verbs is the command line, in the order "immp help" lists it. A new
// verb is one line here; help, completion and the unknown-verb message
// follow from it.
func verbs() []verb {
	return []verb{
		{"serve", cmdServe, "serve [-config FILE] [-data-dir DIR] [-addr-file PATH]", "run the servers"},
		{"config", cmdConfig, "config example|check [-config FILE]", "print a commented example config, or check one"},
		{"doctor", cmdDoctor, "doctor [-config FILE]", "check the config and the data directory's owners and modes"},
		{"user", cmdUser, "user add|del|passwd|list|quota [flags] [ADDRESS]", "manage accounts (password prompted, or on stdin)"},
		{"guard", cmdGuard, "guard agents|add-agent|del-agent|entries|add|del [flags] ARGS", "manage the spam guard over IMMP"},
		{"subinbox", cmdSubinbox, "subinbox create|delete|rename|replace|move|list [flags] ARGS", "manage subinboxes over IMMP (IMAP fallback)"},
		{"dkim", cmdDKIM, "dkim keygen|show [flags] DOMAIN", "make a DKIM signing key, print its DNS record"},
		{"dns", cmdDNS, "dns records|check [-config FILE] DOMAIN", "print the DNS records to publish, or check them"},
		{"queue", cmdQueue, "queue list|show ID|flush|delete ID [-config FILE]", "look at and act on the outbound queue"},
		{"import", cmdImport, "import maildir|mbox [-config FILE] ACCOUNT ...", "import a Maildir++ tree or an mbox file (idempotent)"},
		{"backup", cmdBackup, "backup [-config FILE] DIR", "copy the running server's data consistently into DIR"},
		{"restore", cmdRestore, "restore [-config FILE] DIR", "restore a backup into an empty data directory"},
		{"healthcheck", cmdHealthcheck, "healthcheck [-config FILE]", "exit 0 when the local server is healthy"},
		{"completion", cmdCompletion, "completion bash|zsh", "print a shell completion script"},
		{"version", cmdVersion, "version", "print the version"},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	// After the first signal, default handling again: a second Ctrl-C
	// ends the process at once instead of waiting out the grace period.
	context.AfterFunc(ctx, stop)
	env := cliEnv{ctx: ctx, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		systemConfig: defaultSystemConfig, reload: notifyReload()}
	code := run(env, os.Args[1:])
	stop()
	os.Exit(code)
}

// runContext is the whole CLI (args without the program name), with a
// context whose end (a signal, in main) makes serve shut down gracefully.
func runContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return run(cliEnv{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, systemConfig: defaultSystemConfig}, args)
}

// run dispatches args to their verb.
func run(e cliEnv, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usageText())
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help":
		fmt.Fprint(e.stdout, usageText())
		return exitOK
	case "help":
		return cmdHelp(e, rest)
	}
	e.verb = name
	var names []string
	for _, v := range verbs() {
		if v.name == name {
			return v.run(e, rest)
		}
		names = append(names, v.name)
	}
	fmt.Fprintf(e.stderr, "immp: unknown verb %q%s\nverbs: %s (\"immp help\" describes them)\n",
		name, didYouMean(name, names), joinWords(names))
	return exitUsage
}
