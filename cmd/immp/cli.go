package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/maildir"
)

// cliEnv is what every verb gets: its context and standard streams.
type cliEnv struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string // os.Getenv; tests pass their own

	// verb is the first argument ("user", "serve"): loadConfig decides
	// from it whether the data directory's owner must be this process's
	// user (owner.go).
	verb string
	// systemConfig is the last place config discovery looks
	// (defaultSystemConfig; tests point it elsewhere).
	systemConfig string
	reload       <-chan struct{} // one value per SIGHUP (serve); nil in tests
}

func (e cliEnv) errorf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "immp: "+format+"\n", args...)
}

// usageError reports a usage problem in one line, then the verb's
// synopsis and where its flags are described; it returns exitUsage.
func (e cliEnv) usageError(fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "immp %s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fmt.Fprintf(e.stderr, "usage: %s\n(\"immp help %s\" describes every flag)\n", synopsisOf(fs), fs.Name())
	return exitUsage
}

// newFlags makes a verb's flag set; name is the verb as typed ("user
// add"), usage its synopsis line.
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

// synopsisOf is the usage line newFlags was given.
func synopsisOf(fs *flag.FlagSet) string {
	var b bytes.Buffer
	out := fs.Output()
	fs.SetOutput(&b)
	fs.Usage()
	fs.SetOutput(out)
	line, _, _ := strings.Cut(b.String(), "\n")
	return strings.TrimPrefix(line, "Usage: ")
}

// parseFlags parses args; done is true when the caller should return code.
// -h prints the verb's usage and flags on stdout (0). A bad flag, and a
// flag written after a positional argument (Go's flag package would take
// it for an argument and the command would run without it), get one line
// naming the problem and the synopsis (2).
func parseFlags(e cliEnv, fs *flag.FlagSet, args []string) (code int, done bool) {
	out := fs.Output()
	fs.SetOutput(io.Discard) // the flag package's own dump is replaced below
	err := fs.Parse(args)
	fs.SetOutput(out)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(e.stdout)
		fs.Usage()
		fs.SetOutput(out)
		return exitOK, true
	}
	if err != nil {
		return e.usageError(fs, "%s", flagProblem(err)), true
	}
	rest := fs.Args()
	if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
		return 0, false // "--": whatever follows is an argument
	}
	for _, a := range rest {
		name, isFlag := flagName(a)
		if !isFlag {
			continue
		}
		if h := name == "h" || name == "help"; h || fs.Lookup(name) != nil {
			if h {
				fs.SetOutput(e.stdout)
				fs.Usage()
				fs.SetOutput(out)
				return exitOK, true
			}
			flags, positional := permute(fs, rest)
			fixed := append(append(append([]string{}, args[:len(args)-len(rest)]...), flags...), positional...)
			return e.usageError(fs, "flag %s comes after the argument %q: flags go first, as in\n  immp %s %s",
				a, rest[0], fs.Name(), strings.Join(fixed, " ")), true
		}
		return e.usageError(fs, "%s looks like a flag but %s has no flag -%s (an argument that starts with \"-\" goes after \"--\")",
			a, fs.Name(), name), true
	}
	return 0, false
}

// permute splits args into the flags (with their values) and the
// positional arguments, in their order: what the command line should have
// been.
func permute(fs *flag.FlagSet, args []string) (flags, positional []string) {
	for i := 0; i < len(args); i++ {
		name, ok := flagName(args[i])
		f := fs.Lookup(name)
		if !ok || f == nil {
			positional = append(positional, args[i])
			continue
		}
		flags = append(flags, args[i])
		b, isBool := f.Value.(interface{ IsBoolFlag() bool })
		if !strings.Contains(args[i], "=") && !(isBool && b.IsBoolFlag()) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return flags, positional
}

// flagName is the name in "-name", "--name" or "-name=value".
func flagName(arg string) (string, bool) {
	if len(arg) < 2 || arg[0] != '-' || arg == "--" {
		return "", false
	}
	name := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
	name, _, _ = strings.Cut(name, "=")
	return name, name != ""
}

// flagProblem rewords the flag package's errors.
func flagProblem(err error) string {
	msg := err.Error()
	if n, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return "unknown flag " + n
	}
	return msg
}

// configFlag adds -config. Without it, loadConfig looks for the file
// (configfind.go).
func configFlag(e cliEnv, fs *flag.FlagSet) *string {
	return fs.String("config", "",
		"config `FILE` (default: $IMMP_CONFIG, else ./immp.toml, else /etc/immp/immp.toml, else the built-in test-bed profile)")
}

// loadConfig loads the config at path, or the one config discovery finds
// when path is empty (saying on stderr which, or that it is the built-in
// test-bed profile). For verbs that write into the data directory it
// refuses to go on as another user than the directory's owner (owner.go).
// Errors are printed; ok false means exit with exitUsage.
func loadConfig(e cliEnv, path string) (config.Config, bool) {
	src := findConfig(e, path)
	if src.note != "" {
		fmt.Fprintf(e.stderr, "immp: %s\n", src.note)
	}
	var c config.Config
	if src.path == "" {
		c = config.Default()
		if err := c.Validate(); err != nil {
			e.errorf("built-in config: %v", err)
			return c, false
		}
	} else {
		var err error
		if c, err = config.Load(src.path); err != nil {
			e.errorf("config: %v", err)
			return c, false
		}
	}
	if writesData(e.verb) {
		if msg := ownerProblem(c.DataDir); msg != "" {
			fmt.Fprintf(e.stderr, "immp %s: %s\n", e.verb, msg)
			return c, false
		}
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
		fmt.Fprintf(e.stderr, "immp %s: missing sub-command, one of: %s\n(\"immp help %s\" describes them)\n",
			family, strings.Join(known, ", "), family)
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
	fmt.Fprintf(e.stderr, "immp %s: unknown sub-command %q%s, one of: %s\n(\"immp help %s\" describes them)\n",
		family, args[0], didYouMean(args[0], known), strings.Join(known, ", "), family)
	return "", nil, exitUsage, true
}

// didYouMean suggests the known word closest to w, if one is close.
func didYouMean(w string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(w, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is Levenshtein's distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// openStore opens cfg's mailbox layer for a verb that works on it directly
// (beside a running server: SQLite in WAL mode, the folders' own locks).
// A failure is printed; ok false means exit with exitFail.
func openStore(e cliEnv, cfg config.Config) (*maildir.Store, bool) {
	store, err := maildir.Open(e.ctx, maildir.Options{DataDir: cfg.DataDir, Logger: slog.New(slog.DiscardHandler),
		DefaultQuota: int64(cfg.Accounts.Quota)})
	if err != nil {
		e.errorf("opening %s: %v", cfg.DataDir, err)
		return nil, false
	}
	return store, true
}
