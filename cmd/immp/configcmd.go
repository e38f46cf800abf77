package main

import (
	"fmt"

	"github.com/immp-mail/immp/config"
)

const configUsage = `Usage:
  immp config example                 print a complete commented example config
  immp config check -config FILE      validate FILE without starting anything
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
		fs := newFlags(e, "config check", "immp config check -config FILE")
		path := configFlag(e, fs)
		if code, done := parseFlags(e, fs, rest); done {
			return code
		}
		if fs.NArg() != 0 {
			return e.usageError(fs, "config check takes no arguments (the file goes after -config)")
		}
		if *path == "" {
			return e.usageError(fs, "-config FILE is required")
		}
		c, ok := loadConfig(e, *path)
		if !ok {
			return exitUsage
		}
		fmt.Fprintf(e.stdout, "%s: OK\n", *path)
		for _, l := range c.Listeners() {
			fmt.Fprintf(e.stdout, "  %-18s %s\n", l.Key, l.Addr)
		}
		return exitOK
	}
}
