package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/immp-mail/immp/config"
)

// TestMain lets the test binary act as the immp binary for the tests that
// need a real process (signals): with IMMP_TEST_MAIN=1 it runs main.
func TestMain(m *testing.M) {
	if os.Getenv("IMMP_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// cli runs the CLI in-process and returns stdout, stderr and the exit code.
func cli(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return cliWithEnv(t, nil, stdin, args...)
}

// cliWithEnv is cli with an environment of its own (nothing else is seen).
func cliWithEnv(t *testing.T, env map[string]string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb strings.Builder
	getenv := func(k string) string { return env[k] }
	code := runContext(context.Background(), args, strings.NewReader(stdin), &out, &errb, getenv)
	return out.String(), errb.String(), code
}

// writeConfig writes a config file with the given TOML after a data_dir
// and domains of its own.
func writeConfig(t *testing.T, extra string) (path, dataDir string) {
	t.Helper()
	dir := t.TempDir()
	dataDir = filepath.Join(dir, "data")
	path = filepath.Join(dir, "immp.toml")
	src := fmt.Sprintf("hostname = \"mx.test\"\ndata_dir = %q\ndomains = [\"example.org\"]\n%s", dataDir, extra)
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, dataDir
}

func TestUsageAndConfigExitCodes(t *testing.T) {
	t.Parallel()
	bad, _ := writeConfig(t, "[smtp]\nlisen = \":25\"\n")
	badCIDR, _ := writeConfig(t, "[immp]\ntrusted_networks = [\"10.1.2.3/40\"]\n")
	good, _ := writeConfig(t, "[smtp]\nlisten = \"127.0.0.1:0\"\n")
	cases := []struct {
		args   []string
		code   int
		stderr string // must appear in stderr
	}{
		{nil, exitUsage, "Usage"},
		{[]string{"frobnicate"}, exitUsage, `unknown verb "frobnicate"`},
		{[]string{"-h"}, exitOK, ""},
		{[]string{"serve", "-bogus"}, exitUsage, "-bogus"},
		{[]string{"serve", "extra"}, exitUsage, "serve takes no arguments"},
		{[]string{"serve", "-config", filepath.Join(t.TempDir(), "none.toml")}, exitUsage, "none.toml"},
		{[]string{"serve", "-config", bad}, exitUsage, "smtp.lisen"},
		{[]string{"serve", "-config", badCIDR}, exitUsage, "immp.trusted_networks"},
		{[]string{"config"}, exitUsage, "missing sub-command"},
		{[]string{"config", "nope"}, exitUsage, `unknown sub-command "nope"`},
		{[]string{"config", "check"}, exitOK, "using the built-in test-bed profile"},
		{[]string{"user", "add", "a@example.org", "-config", good}, exitUsage, "flag -config comes after the argument \"a@example.org\""},
		{[]string{"user", "ad"}, exitUsage, `unknown sub-command "ad" (did you mean "add"?)`},
		{[]string{"usr"}, exitUsage, `(did you mean "user"?)`},
		{[]string{"user", "add", "-nope", "a@example.org"}, exitUsage, "immp user add: unknown flag -nope\nusage: immp user add "},
		{[]string{"user", "add", "a@example.org", "-nope"}, exitUsage, "has no flag -nope"},
		{[]string{"completion"}, exitUsage, "name the shell"},
		{[]string{"config", "check", "-config", bad}, exitUsage, "smtp.lisen: unknown key"},
		{[]string{"config", "check", "-config", good}, exitOK, ""},
		{[]string{"config", "example", "x"}, exitUsage, "no arguments"},
		{[]string{"user", "add"}, exitUsage, "exactly one ADDRESS"},
		{[]string{"user", "list", "x"}, exitUsage, "no arguments"},
		{[]string{"user", "add", "-config", bad, "a@example.org"}, exitUsage, "smtp.lisen"},
		{[]string{"guard", "add", "-user", "a@example.org", "onlyone"}, exitUsage, "wrong number of arguments"},
		{[]string{"guard", "agents"}, exitUsage, "-user is required"},
		{[]string{"guard", "zap"}, exitUsage, "unknown sub-command"},
		{[]string{"subinbox", "move", "-user", "a@example.org", "a", "b"}, exitUsage, "wrong number of arguments"},
		{[]string{"subinbox", "create", "n"}, exitUsage, "-user is required"},
		{[]string{"subinbox", "create", "-frob", "n"}, exitUsage, "-frob"},
		{[]string{"healthcheck", "-config", good}, exitUsage, "http.listen is off"},
		{[]string{"version", "x"}, exitUsage, "no arguments"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Parallel()
			_, stderr, code := cli(t, "", c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			if !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr lacks %q:\n%s", c.stderr, stderr)
			}
		})
	}
}

// TestHelpEverywhere: -h on every verb and sub-command exits 0 with a usage.
func TestHelpEverywhere(t *testing.T) {
	t.Parallel()
	verbs := [][]string{
		{"serve"}, {"config", "example"}, {"config", "check"}, {"healthcheck"}, {"version"},
		{"user", "add"}, {"user", "del"}, {"user", "passwd"}, {"user", "list"},
		{"guard", "agents"}, {"guard", "add-agent"}, {"guard", "del-agent"}, {"guard", "entries"}, {"guard", "add"}, {"guard", "del"},
		{"subinbox", "create"}, {"subinbox", "delete"}, {"subinbox", "rename"}, {"subinbox", "replace"}, {"subinbox", "move"}, {"subinbox", "list"},
		{"doctor"}, {"completion"}, {"user", "quota"},
		{"user"}, {"guard"}, {"subinbox"}, {"config"},
	}
	for _, v := range verbs {
		out, errOut, code := cli(t, "", append(v, "-h")...)
		if code != exitOK {
			t.Errorf("%v -h: exit %d", v, code)
		}
		if !strings.Contains(out+errOut, "Usage") {
			t.Errorf("%v -h printed no usage:\n%s%s", v, out, errOut)
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	out, _, code := cli(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "immp ") {
		t.Errorf("version: %d %q", code, out)
	}
}

// TestConfigExampleChecks: what "config example" prints passes "config
// check" as printed (DESIGN "Contracts").
func TestConfigExampleChecks(t *testing.T) {
	t.Parallel()
	out, _, code := cli(t, "", "config", "example")
	if code != 0 || out != config.Example() {
		t.Fatalf("config example: exit %d", code)
	}
	path := filepath.Join(t.TempDir(), "immp.toml")
	os.WriteFile(path, []byte(out), 0o600)
	out, errOut, code := cli(t, "", "config", "check", "-config", path)
	if code != 0 || !strings.Contains(out, "OK") || !strings.Contains(out, "smtp.listen") {
		t.Errorf("config check of the example: exit %d\n%s%s", code, out, errOut)
	}
}

// TestShippedExampleIsCurrent: the repository's immp.example.toml is what
// "config example" prints.
func TestShippedExampleIsCurrent(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../immp.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != config.Example() {
		t.Error("immp.example.toml differs from \"immp config example\"; regenerate it with: go run ./cmd/immp config example > immp.example.toml")
	}
}

func TestUserCommands(t *testing.T) {
	t.Parallel()
	cfg, _ := writeConfig(t, "")
	steps := []struct {
		stdin  string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"pw-alice\n", []string{"user", "add", "-config", cfg, "Alice@Example.org"}, exitOK, "", "done"},
		{"again\n", []string{"user", "add", "-config", cfg, "alice@example.org"}, exitFail, "", "already exists"},
		{"pw-bob", []string{"user", "add", "-config", cfg, "bob@example.org"}, exitOK, "", ""},
		{"", []string{"user", "add", "-config", cfg, "carol@example.org"}, exitUsage, "", "no password"},
		{"\n", []string{"user", "add", "-config", cfg, "carol@example.org"}, exitUsage, "", "empty password"},
		{"pw\n", []string{"user", "add", "-config", cfg, "not an address"}, exitUsage, "", "ADDRESS"},
		{"pw\n", []string{"user", "add", "-config", cfg, "dave@elsewhere.test"}, exitUsage, "", "domains"},
		{"", []string{"user", "list", "-config", cfg}, exitOK, "alice@example.org\t0B\tunlimited\nbob@example.org\t0B\tunlimited\n", ""},
		{"new-pw\n", []string{"user", "passwd", "-config", cfg, "alice@example.org"}, exitOK, "", ""},
		{"x\n", []string{"user", "passwd", "-config", cfg, "nobody@example.org"}, exitFail, "", "no account"},
		{"", []string{"user", "del", "-config", cfg, "bob@example.org"}, exitOK, "", ""},
		{"", []string{"user", "del", "-config", cfg, "bob@example.org"}, exitFail, "", "no account"},
		{"", []string{"user", "list", "-config", cfg}, exitOK, "alice@example.org\t0B\tunlimited\n", ""},
		{"pw-carol\n", []string{"user", "add", "-config", cfg, "-quota", "10MiB", "carol@example.org"}, exitOK, "", "done"},
		{"pw\n", []string{"user", "add", "-config", cfg, "-quota", "lots", "dan@example.org"}, exitUsage, "", "-quota"},
		{"", []string{"user", "quota", "-config", cfg, "alice@example.org", "1GiB"}, exitOK, "", "done"},
		{"", []string{"user", "quota", "-config", cfg, "alice@example.org"}, exitOK, "alice@example.org\t0B\t1GiB (own)\n", ""},
		{"", []string{"user", "quota", "-config", cfg, "alice@example.org", "big"}, exitUsage, "", "SIZE"},
		{"", []string{"user", "quota", "-config", cfg, "nobody@example.org", "1GiB"}, exitFail, "", "no account"},
		{"", []string{"user", "quota", "-config", cfg}, exitUsage, "", "ADDRESS"},
		{"", []string{"user", "list", "-config", cfg}, exitOK, "alice@example.org\t0B\t1GiB (own)\ncarol@example.org\t0B\t10MiB (own)\n", ""},
		{"", []string{"user", "quota", "-config", cfg, "alice@example.org", "default"}, exitOK, "", "done"},
		{"", []string{"user", "quota", "-config", cfg, "carol@example.org", "unlimited"}, exitOK, "", "done"},
		{"", []string{"user", "list", "-config", cfg}, exitOK, "alice@example.org\t0B\tunlimited\ncarol@example.org\t0B\tunlimited (own)\n", ""},
	}
	for _, s := range steps {
		out, errOut, code := cli(t, s.stdin, s.args...)
		if code != s.code || (s.stdout != "" && out != s.stdout) || !strings.Contains(errOut, s.stderr) {
			t.Errorf("%v: exit %d stdout %q stderr %q; want %d %q %q", s.args, code, out, errOut, s.code, s.stdout, s.stderr)
		}
	}
}

// '+' in a new account's name is refused with one line saying why, and
// exit 2; nothing is created.
func TestUserAddPlus(t *testing.T) {
	t.Parallel()
	cfg, _ := writeConfig(t, "")
	out, errOut, code := cli(t, "pw\n", "user", "add", "-config", cfg, "alice+x@example.org")
	want := `immp: user add: invalid account address: alice+x@example.org: '+' is not allowed in an account name: ` +
		`it is reserved for plus addressing (alice+x@example.org means subinbox "x" of alice@example.org)` + "\n"
	if code != exitUsage || out != "" || errOut != want {
		t.Fatalf("exit %d stdout %q stderr %q; want 2 and %q", code, out, errOut, want)
	}
	if out, _, _ := cli(t, "", "user", "list", "-config", cfg); out != "" {
		t.Fatalf("accounts after refusal: %q", out)
	}
}
