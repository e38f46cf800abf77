// Command immp is the one binary of the immp mail server: it runs the
// servers (serve) and manages what they serve (user, guard, subinbox).
//
//	immp serve [-config FILE] [-data-dir DIR] [-addr-file PATH]
//	immp config example | check [-config FILE]
//	immp doctor [-config FILE]
//	immp user add|del|passwd|list|quota [-config FILE] [ADDRESS]
//	immp guard agents|add-agent|del-agent|entries|add|del [flags] ARGS
//	immp subinbox create|delete|rename|replace|move|list [flags] ARGS
//	immp dkim keygen|show [flags] DOMAIN
//	immp dns records|check [-config FILE] DOMAIN
//	immp import maildir|mbox [-config FILE] ACCOUNT ... (package migrate)
//	immp backup|restore [-config FILE] DIR               (package backup)
//	immp healthcheck [-config FILE]
//	immp completion bash|zsh
//	immp help [VERB [SUB]]
//	immp version
//
// The verbs are one table (verbs, main.go); help, completion and the
// unknown-verb message are derived from it and from each verb's -h.
//
// Shared behaviour lives in the helpers every verb calls (cli.go), so a
// new verb gets it by using them:
//   - newFlags/parseFlags: flags after the verb and before the arguments,
//     as Go's flag package wants; a flag written after an argument, an
//     unknown flag or a bad value is one line naming the problem, the
//     synopsis and the corrected command line, exit 2 (no flag dump). -h
//     prints the synopsis and flags on stdout, exit 0.
//   - configFlag/loadConfig: config discovery (configfind.go): -config,
//     $IMMP_CONFIG, ./immp.toml, /etc/immp/immp.toml, the built-in
//     test-bed profile; what was chosen without -config is said on
//     stderr. A verb that writes the data directory (all but guard,
//     subinbox, healthcheck, dns, config, doctor...) refuses to run as
//     another Unix user than the directory's owner (owner.go), naming the
//     owner and the command to use.
//   - subVerb: verb families; a missing or unknown sub-command lists the
//     known ones, with a suggestion when one is close.
//
// Passwords are never taken from the command line: user add and passwd
// prompt twice without echo at a terminal, else read the first line of
// stdin or of -password-file; the IMMP client verbs take $IMMP_PASSWORD
// or stdin. Exit codes (DESIGN "Contracts"): 0 ok, 1 runtime failure, 2
// usage or configuration error, with the offending flag or key named.
//
// Every verb goes through run, which takes its arguments and standard
// streams explicitly, so tests call the CLI in-process.
package main
