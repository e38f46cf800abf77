package main

import (
	"fmt"
	"strings"
)

// usageText is what "immp help" prints: every verb's synopsis.
func usageText() string {
	var b strings.Builder
	b.WriteString("immp is an all-in-one mail server: SMTP, IMAP and IMMP over one mailbox.\n\nUsage:\n")
	for _, v := range verbs() {
		line := "immp " + v.usage
		if len(line) > 38 {
			fmt.Fprintf(&b, "  %s\n  %-38s  %s\n", line, "", v.help)
		} else {
			fmt.Fprintf(&b, "  %-38s  %s\n", line, v.help)
		}
	}
	b.WriteString(`
"immp help VERB" (or "immp VERB -h") describes a verb and its flags.
Flags go after the verb and before the arguments.

Verbs that use a config take -config FILE; without it they use
$IMMP_CONFIG, else ./immp.toml, else /etc/immp/immp.toml, else the
built-in test-bed profile, and say on stderr which.
Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
`)
	return b.String()
}

// cmdHelp is "immp help [VERB [SUB]]": the same as "immp VERB [SUB] -h".
func cmdHelp(e cliEnv, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stdout, usageText())
		return exitOK
	}
	return run(e, append(append([]string{}, args...), "-h"))
}

// joinWords is "a, b, c".
func joinWords(w []string) string { return strings.Join(w, ", ") }
