package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"
)

// newPassword gets the password of "user add" and "user passwd": from
// -password-file (its first line), else typed twice at a terminal without
// echo, else the first line of standard input (a pipe). It is never
// echoed, printed or logged.
func newPassword(e cliEnv, file, addr string) (string, error) {
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("-password-file: %w", err)
		}
		defer f.Close()
		pw, err := readPassword(f)
		if err != nil {
			return "", fmt.Errorf("-password-file %s: %s", file, strings.Replace(err.Error(), "standard input", "its first line", 1))
		}
		return pw, nil
	}
	fd, ok := terminalFD(e)
	if !ok {
		return readPassword(e.stdin)
	}
	fmt.Fprintf(e.stderr, "New password for %s: ", addr)
	first, err := term.ReadPassword(fd)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if len(first) == 0 {
		return "", errors.New("empty password; nothing changed")
	}
	fmt.Fprintf(e.stderr, "Retype it: ")
	second, err := term.ReadPassword(fd)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if string(first) != string(second) {
		return "", errors.New("the two passwords differ; nothing changed")
	}
	return string(first), nil
}

// terminalFD is standard input's descriptor when it is a terminal.
func terminalFD(e cliEnv) (int, bool) {
	f, ok := e.stdin.(interface{ Fd() uintptr })
	if !ok {
		return 0, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}
