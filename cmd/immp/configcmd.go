package main

import (
	"fmt"

	"github.com/immp-mail/immp/config"
)

const configUsage = `Usage:
  immp config example                 print a complete commented example config
  immp config check [-config FILE]    validate the config without starting anything

config check finds the file as every verb does (-config, $IMMP_CONFIG,
./immp.toml, /etc/immp/immp.toml) and names the key of each problem:
errors (exit 2) stop the server from starting, warnings do not.
"immp doctor" also checks the data directory's owners and modes.
`

func cmdConfig(e cliEnv, args []string) int {
	verb, rest, code, done := subVerb(e, "config", configUsage, args, []string{"example", "check"})
	if done {
		return code
	}
	switch verb {
	case "example":
		fs := newFlags(e, "config example", "immp config example > immp.toml")
		if code, done := parseFlags(e, fs, rest); done {
			return code
		}
		if fs.NArg() != 0 {
			return e.usageError(fs, "config example takes no arguments")
		}
		fmt.Fprint(e.stdout, config.Example())
		return exitOK
	default: // check
		fs := newFlags(e, "config check", "immp config check [-config FILE]")
		path := configFlag(e, fs)
		if code, done := parseFlags(e, fs, rest); done {
			return code
		}
		if fs.NArg() != 0 {
			return e.usageError(fs, "config check takes no arguments (the file goes after -config)")
		}
		c, ok := loadConfig(e, *path)
		if !ok {
			return exitUsage
		}
		name := findConfig(e, *path).path
		if name == "" {
			name = "built-in test-bed profile"
		}
		fmt.Fprintf(e.stdout, "%s: OK\n", name)
		for _, w := range c.Warnings() {
			fmt.Fprintf(e.stdout, "warning: %v\n", w)
		}
		for _, l := range c.Listeners() {
			fmt.Fprintf(e.stdout, "  %-18s %s\n", l.Key, l.Addr)
		}
		return exitOK
	}
}
