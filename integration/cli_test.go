package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/immp-mail/immp/internal/syncbuf"
)

// runIn runs the binary in dir with env added, and returns stdout, stderr
// and the exit code.
func runIn(t *testing.T, dir string, env []string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(withoutEnv(os.Environ(), "IMMP_CONFIG"), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running immp %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

func withoutEnv(env []string, name string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, name+"=") {
			out = append(out, e)
		}
	}
	return out
}

// TestCLIConfigDiscovery: without -config a verb takes $IMMP_CONFIG, else
// ./immp.toml, else the built-in profile, and says which on stderr.
func TestCLIConfigDiscovery(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := "hostname = \"mx.example.org\"\ndata_dir = \"" + filepath.Join(dir, "data") + "\"\ndomains = [\"example.org\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "immp.toml"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runIn(t, dir, nil, "pw-bob\n", "user", "add", "bob@example.org")
	if code != 0 || !strings.Contains(errOut, "immp: using config immp.toml (found in the working directory)\n") ||
		!strings.Contains(errOut, "immp: user add bob@example.org: done (account created") {
		t.Fatalf("user add in a directory with immp.toml: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "immp.db")); err != nil {
		t.Errorf("the account is not in the config's data_dir: %v", err)
	}
	other := t.TempDir()
	out, errOut, code := runIn(t, other, []string{"IMMP_CONFIG=" + filepath.Join(dir, "immp.toml")}, "", "user", "list")
	if code != 0 || !strings.Contains(errOut, "(from $IMMP_CONFIG)") || !strings.HasPrefix(out, "bob@example.org\t") {
		t.Fatalf("user list with $IMMP_CONFIG: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runIn(t, other, nil, "", "config", "check")
	if code != 0 || !strings.Contains(errOut, "using the built-in test-bed profile") || !strings.Contains(out, "built-in test-bed profile: OK") {
		t.Fatalf("config check without any config: exit %d\n%s%s", code, out, errOut)
	}
	// -config wins over the rest and is not announced.
	_, errOut, code = runIn(t, dir, []string{"IMMP_CONFIG=/nonexistent.toml"}, "", "user", "list", "-config", "immp.toml")
	if code != 0 || strings.Contains(errOut, "using config") {
		t.Fatalf("-config: exit %d\n%s", code, errOut)
	}
}

// TestCLIClientVerbsUseConfig: guard and subinbox find the IMMP and IMAP
// addresses and the domain in the config.
func TestCLIClientVerbsUseConfig(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	s.addUser(t, "alice@example.org", "pw-alice")
	env := []string{"IMMP_PASSWORD=pw-alice"}
	if out, errOut, code := s.immp(t, "", env, "subinbox", "create", "-config", s.config, "-user", "alice", "work"); code != 0 {
		t.Fatalf("subinbox create with -config: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code := runIn(t, t.TempDir(), append(env, "IMMP_CONFIG="+s.config), "", "subinbox", "list", "-user", "alice")
	if code != 0 || strings.TrimSpace(out) != "work" {
		t.Fatalf("subinbox list with $IMMP_CONFIG: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := s.immp(t, "", env, "guard", "add", "-config", s.config, "-user", "alice", "alice@example.org", "*@spam.test"); code != 0 {
		t.Fatalf("guard add with -config: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = s.immp(t, "", env, "guard", "entries", "-config", s.config, "-user", "alice", "alice@example.org")
	if code != 0 || strings.TrimSpace(out) != "*@spam.test" {
		t.Fatalf("guard entries: exit %d\n%s%s", code, out, errOut)
	}
}

// TestCLIErrorsAreOneLine: usage mistakes through the binary: one line
// naming the problem, the synopsis, exit 2, no flag-package dump.
func TestCLIErrorsAreOneLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"user", "add", "alice@example.org", "-config", "f.toml"}, []string{
			`immp user add: flag -config comes after the argument "alice@example.org": flags go first, as in`,
			`  immp user add -config f.toml alice@example.org`,
			`usage: immp user add [-config FILE] [-quota SIZE] [-password-file FILE] ADDRESS`,
			`("immp help user add" describes every flag)`}},
		{[]string{"frobnicate"}, []string{`immp: unknown verb "frobnicate"`, `verbs: serve, config, doctor, user, guard`}},
		{[]string{"user"}, []string{`immp user: missing sub-command, one of: add, del, passwd, list, quota`, `("immp help user" describes them)`}},
		{[]string{"user", "add"}, []string{`immp user add: user add needs exactly one ADDRESS`, `usage: immp user add [-config FILE]`, `("immp help user add"`}},
		{[]string{"subinbox", "create", "-bogus", "x"}, []string{`immp subinbox create: unknown flag -bogus`, `usage: immp subinbox create [flags] NAME`, `("immp help subinbox create"`}},
	}
	for _, c := range cases {
		out, errOut, code := runIn(t, dir, nil, "", c.args...)
		lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
		if code != 2 || out != "" || len(lines) != len(c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr:\n%s", c.args, code, out, errOut)
			continue
		}
		for i, w := range c.want {
			if !strings.HasPrefix(lines[i], w) {
				t.Errorf("%v: line %d is %q, want %q", c.args, i+1, lines[i], w)
			}
		}
	}
	// help VERB and -h on every verb: the synopsis on stdout, exit 0.
	for _, v := range [][]string{{"serve"}, {"config", "check"}, {"doctor"}, {"user", "add"}, {"user", "passwd"},
		{"guard", "add"}, {"subinbox", "list"}, {"healthcheck"}, {"completion"}, {"version"}, {"user"}, {"guard"},
		{"dkim", "keygen"}, {"dns", "check"}, {"queue", "list"}, {"import", "mbox"}, {"backup"}, {"restore"}} {
		hOut, _, hCode := runIn(t, dir, nil, "", append(v, "-h")...)
		helpOut, _, helpCode := runIn(t, dir, nil, "", append([]string{"help"}, v...)...)
		if hCode != 0 || helpCode != 0 || hOut != helpOut || !strings.Contains(hOut, "Usage") {
			t.Errorf("%v: -h exit %d, help exit %d, outputs differ or lack Usage:\n%s\n---\n%s", v, hCode, helpCode, hOut, helpOut)
		}
	}
}

// TestCLICompletion: the bash script, sourced, registers the function and
// completes verbs, sub-commands and flags.
func TestCLICompletion(t *testing.T) {
	t.Parallel()
	bash := needTool(t, "bash")
	script := `source <("$IMMP" completion bash) || exit 1
complete -p immp
c() { COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _immp; echo "${COMPREPLY[*]}"; }
c immp ""
c immp us
c immp user ""
c immp user add -
c immp su
c immp help gu
`
	cmd := exec.Command(bash, "--norc", "--noprofile", "-c", script)
	cmd.Env = append(os.Environ(), "IMMP="+binary)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, b)
	}
	got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	want := []string{
		"complete -F _immp immp",
		"serve config doctor user guard subinbox dkim dns queue import backup restore healthcheck completion version help",
		"user",
		"add passwd del list quota",
		"-config -password-file -quota -h",
		"subinbox",
		"guard",
	}
	if len(got) != len(want) {
		t.Fatalf("bash printed:\n%s", b)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %q, want %q", i+1, got[i], want[i])
		}
	}
}

// zshComplete drives an interactive zsh on a pseudo-terminal (zsh/zpty):
// it loads compinit and the script from "immp completion zsh", types
// line and a Tab, and returns the candidates zsh's completion system
// offered, as its own matching filtered them. compadd is wrapped to print
// each match; the shell exits once completion is done.
const zshComplete = `zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z 'PROMPT= RPROMPT= PS2=; autoload -U compinit && compinit -u -D; source <("$IMMP" completion zsh) || exit 4'
zpty -w z 'bindkey "^I" complete-word'
zpty -w z 'compadd() { local -a __h; builtin compadd -A __h "$@"; local h; for h in $__h; do print -r -- "@@""C $h"; done; builtin compadd "$@"; }'
zpty -w z 'comppostfuncs=( __end ); __end() { print -r -- "@@""END"; exit }'
zpty -w -n z "$1"$'\t'
local line
while zpty -r z line; do
	line=${line%%$'\n'}; line=${line%%$'\r'}
	[[ $line == *@@END* ]] && break
	[[ $line == *@@C\ * ]] && print -r -- ${line#*@@C }
done
zpty -d z
`

// TestCLICompletionZsh: the zsh script, loaded by a real interactive zsh,
// completes what the bash one does through zsh's own completion system.
func TestCLICompletionZsh(t *testing.T) {
	t.Parallel()
	zsh := needTool(t, "zsh")
	dir := t.TempDir()
	harness := filepath.Join(dir, "complete.zsh")
	os.WriteFile(harness, []byte(zshComplete), 0o644)
	os.WriteFile(filepath.Join(dir, "immp.toml"), nil, 0o644)
	for _, c := range []struct{ line, want string }{
		{"immp us", "user"},
		{"immp user ", "add passwd del list quota"},
		{"immp user add -", "-config -password-file -quota -h"},
		{"immp su", "subinbox"},
		{"immp help gu", "guard"},
		{"immp completion ", "bash zsh"},
		{"immp serve -config imm", "immp.toml"}, // in dir
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cmd := exec.CommandContext(ctx, zsh, "-f", harness, c.line)
		cmd.Env = append(os.Environ(), "IMMP="+binary)
		cmd.Dir = dir
		b, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("zsh %q: %v\n%s", c.line, err, b)
		}
		var got []string
		for _, l := range strings.Fields(string(b)) {
			if !slices.Contains(got, l) { // _files adds a match once per pass
				got = append(got, l)
			}
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("zsh completes %q as %q, want %q", c.line, got, c.want)
		}
	}
}

// TestCLIConfigCheck: the mistakes of issue 18 through the binary, each
// naming its key.
func TestCLIConfigCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct {
		src, stream, want string
		code              int
	}{
		{`domains = ["*"]`, "stderr", `domains: "*": wildcards are not supported`, 2},
		{`domains = ["mail_x.example.org"]`, "stderr", `domains: "mail_x.example.org" is not a valid domain name`, 2},
		{"domains = [\"example.org\"]\n[smtp]\nlisten = \"0.0.0.0:2525\"\n[submission]\nlisten = \"127.0.0.1:2525\"", "stderr", "submission.listen: address \"127.0.0.1:2525\" is also used by smtp.listen", 2},
		{"domains = [\"example.org\"]\n[imap]\ntls_listen = \"127.0.0.1:9993\"", "stderr", "imap.tls_listen: needs a certificate", 2},
		{"domains = [\"example.org\"]\n[immp]\ntrusted_networks = [\"0.0.0.0/0\"]", "stderr", "immp.trusted_networks: 0.0.0.0/0 includes the whole Internet", 2},
		{"domains = [\"example.org\"]\n[immp]\ntrusted_networks = [\"::/0\"]", "stderr", "immp.trusted_networks: ::/0 includes the whole Internet", 2},
		{"domains = [\"example.org\"]\n[immp]\nlisten = \"0.0.0.0:3323\"\ntrusted_networks = [\"8.0.0.0/12\"]", "stdout", "warning: immp.trusted_networks: 8.0.0.0/12 is a wide public network", 0},
	}
	for i, c := range cases {
		path := filepath.Join(dir, "c"+string(rune('a'+i))+".toml")
		host := "hostname = \"mx.example.org\"\n"
		os.WriteFile(path, []byte(host+"data_dir = \"d\"\n"+c.src+"\n"), 0o600)
		out, errOut, code := runIn(t, dir, nil, "", "config", "check", "-config", path)
		got := errOut
		if c.stream == "stdout" {
			got = out
		}
		if code != c.code || !strings.Contains(got, c.want) {
			t.Errorf("%s: exit %d\nstdout: %s\nstderr: %s\nwant %d and %q", c.src, code, out, errOut, c.code, c.want)
		}
	}
	path := filepath.Join(dir, "short.toml")
	os.WriteFile(path, []byte("hostname = \"mx\"\ndata_dir = \"d\"\ndomains = [\"example.org\"]\n[smtp]\nlisten = \"0.0.0.0:25\"\n"), 0o600)
	out, _, code := runIn(t, dir, nil, "", "config", "check", "-config", path)
	if code != 0 || !strings.Contains(out, `warning: hostname: "mx" is not a fully qualified domain name`) {
		t.Errorf("short hostname: exit %d\n%s", code, out)
	}
}

// TestServeFindsConfig: serve started in a directory holding immp.toml
// uses it, says so, and does not claim to run the built-in profile.
func TestServeFindsConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	smtpAddr := freePort(t)
	src := "hostname = \"mx.example.org\"\ndata_dir = \"data\"\ndomains = [\"example.org\"]\n[smtp]\nlisten = \"" + smtpAddr + "\"\n"
	os.WriteFile(filepath.Join(dir, "immp.toml"), []byte(src), 0o600)
	cmd := exec.Command(binary, "serve")
	cmd.Dir = dir
	cmd.Env = withoutEnv(os.Environ(), "IMMP_CONFIG")
	var out syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "immp ready") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	log := out.String()
	if !strings.Contains(log, "immp: using config immp.toml (found in the working directory)\n") ||
		!strings.Contains(log, "(config: immp.toml)\n") || strings.Contains(log, "NO CONFIG FILE") {
		t.Errorf("serve in a directory with immp.toml:\n%s", log)
	}
}
