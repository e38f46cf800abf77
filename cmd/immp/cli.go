package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/immp-mail/immp/config"
)

// cliEnv is what every verb gets: its context and standard streams.
type cliEnv struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string // os.Getenv; tests pass their own
	reload         <-chan struct{}     // one value per SIGHUP (serve); nil in tests
}

func (e cliEnv) errorf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "immp: "+format+"\n", args...)
}

// usageError reports a usage problem and returns exitUsage.
func (e cliEnv) usageError(fs *flag.FlagSet, format string, args ...any) int {
	e.errorf(format, args...)
	fmt.Fprintln(e.stderr)
	fs.SetOutput(e.stderr)
	fs.Usage()
	return exitUsage
}

// newFlags makes a verb's flag set; usage is the synopsis line(s).
func newFlags(e cliEnv, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n", usage)
		var any bool
		fs.VisitAll(func(*flag.Flag) { any = true })
		if any {
			fmt.Fprintln(fs.Output(), "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args; done is true when the caller should return code
// (help was asked for: 0; bad flags: 2).
func parseFlags(e cliEnv, fs *flag.FlagSet, args []string) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, true
		}
		return exitUsage, true // flag has printed the problem and usage
	}
	return 0, false
}

// configFlag adds -config with $IMMP_CONFIG as its default.
func configFlag(e cliEnv, fs *flag.FlagSet) *string {
	return fs.String("config", e.getenv("IMMP_CONFIG"),
		"config `FILE` (default $IMMP_CONFIG; none: the built-in test-bed profile)")
}

// loadConfig loads path, or the built-in profile when path is empty.
// Errors are printed; ok false means exit with exitUsage.
func loadConfig(e cliEnv, path string) (config.Config, bool) {
	if path == "" {
		c := config.Default()
		if err := c.Validate(); err != nil {
			e.errorf("built-in config: %v", err)
			return c, false
		}
		return c, true
	}
	c, err := config.Load(path)
	if err != nil {
		e.errorf("config: %v", err)
		return c, false
	}
	return c, true
}

// readPassword reads one line from r: the password, without its line end.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if errors.Is(err, io.EOF) {
			return "", errors.New("no password on standard input")
		}
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("empty password on standard input")
	}
	return pw, nil
}

// subVerb splits "VERB rest..." for verb families, answering -h and an
// unknown or missing sub-verb.
func subVerb(e cliEnv, family, usage string, args []string, known []string) (string, []string, int, bool) {
	if len(args) == 0 {
		fmt.Fprintf(e.stderr, "immp %s: missing sub-command\n\n%s", family, usage)
		return "", nil, exitUsage, true
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, usage)
		return "", nil, exitOK, true
	}
	for _, k := range known {
		if args[0] == k {
			return args[0], args[1:], 0, false
		}
	}
	fmt.Fprintf(e.stderr, "immp %s: unknown sub-command %q\n\n%s", family, args[0], usage)
	return "", nil, exitUsage, true
}
