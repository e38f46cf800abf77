// Command immp is the one binary of the immp mail server: it runs the
// servers (serve) and manages what they serve (user, guard, subinbox).
//
//	immp serve [-config FILE]
//	immp config example | check -config FILE
//	immp user add|del|passwd|list [-config FILE] [ADDRESS]
//	immp guard agents|add-agent|del-agent|entries|add|del [flags] ARGS
//	immp subinbox create|delete|rename|replace|move|list [flags] ARGS
//	immp import maildir|mbox [-config FILE] ACCOUNT ... (package migrate)
//	immp backup|restore [-config FILE] DIR               (package backup)
//	immp healthcheck [-config FILE]
//	immp version
//
// Flags follow Go's flag package and come after the verb, before the
// positional arguments. Passwords are never taken from the command line:
// user commands read them from standard input, the IMMP client commands
// from $IMMP_PASSWORD or standard input. -config defaults to $IMMP_CONFIG;
// without either, the built-in test-bed profile is used (config.Default).
//
// Exit codes (DESIGN "Contracts"): 0 ok, 1 runtime failure, 2 usage or
// configuration error, with the offending flag or key named.
//
// Every verb goes through run, which takes its arguments and standard
// streams explicitly, so tests call the CLI in-process.
package main
