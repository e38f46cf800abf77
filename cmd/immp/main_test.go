package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"immp/config"
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
		{[]string{"config", "check"}, exitUsage, "-config FILE is required"},
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
		{"", []string{"user", "list", "-config", cfg}, exitOK, "alice@example.org\nbob@example.org\n", ""},
		{"new-pw\n", []string{"user", "passwd", "-config", cfg, "alice@example.org"}, exitOK, "", ""},
		{"x\n", []string{"user", "passwd", "-config", cfg, "nobody@example.org"}, exitFail, "", "no account"},
		{"", []string{"user", "del", "-config", cfg, "bob@example.org"}, exitOK, "", ""},
		{"", []string{"user", "del", "-config", cfg, "bob@example.org"}, exitFail, "", "no account"},
		{"", []string{"user", "list", "-config", cfg}, exitOK, "alice@example.org\n", ""},
	}
	for _, s := range steps {
		out, errOut, code := cli(t, s.stdin, s.args...)
		if code != s.code || (s.stdout != "" && out != s.stdout) || !strings.Contains(errOut, s.stderr) {
			t.Errorf("%v: exit %d stdout %q stderr %q; want %d %q %q", s.args, code, out, errOut, s.code, s.stdout, s.stderr)
		}
	}
}

// allListeners is a config with every listener on a random loopback port.
const allListeners = `
shutdown_grace = "10s"
[smtp]
listen = "127.0.0.1:0"
[submission]
listen = "127.0.0.1:0"
[imap]
listen = "127.0.0.1:0"
tls_listen = "127.0.0.1:0"
[immp]
listen = "127.0.0.1:0"
tls_listen = "127.0.0.1:0"
[http]
listen = "127.0.0.1:0"
[tls]
self_signed = true
`

// startTestDaemon runs a daemon in-process; it stops with the test.
func startTestDaemon(t *testing.T, extra string) (*daemon, string) {
	t.Helper()
	path, _ := writeConfig(t, allListeners+extra)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	d, err := startDaemon(context.Background(), cfg, newLogger(cfg.Log, &logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("daemon did not stop; log:\n%s", logs.String())
		}
	})
	waitReady(t, "http://"+d.Addr("http.listen")+"/readyz")
	return d, path
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s not ready", url)
}

// TestServeAllListeners starts every listener on random ports and checks
// each greets in its protocol, over TLS where configured.
func TestServeAllListeners(t *testing.T) {
	t.Parallel()
	d, _ := startTestDaemon(t, "")
	greet := map[string]string{
		"smtp.listen": "220 ", "submission.listen": "220 ",
		"imap.listen": "* OK", "imap.tls_listen": "* OK",
		"immp.listen": "* OK", "immp.tls_listen": "* OK",
	}
	for key, prefix := range greet {
		addr := d.Addr(key)
		var line string
		var err error
		if strings.HasSuffix(key, "tls_listen") {
			line, err = greetingTLS(addr)
		} else {
			line, err = greeting(addr)
		}
		if err != nil || !strings.HasPrefix(line, prefix) {
			t.Errorf("%s (%s): greeting %q, %v; want %q", key, addr, line, err, prefix)
		}
	}
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/metrics": "immp_connections_total"} {
		body, code := httpGet(t, "http://"+d.Addr("http.listen")+path)
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("%s: %d %q", path, code, body)
		}
	}
}

// TestServeBindFailure: a port in use fails startup with exit 1, naming
// the key and the address.
func TestServeBindFailure(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	path, _ := writeConfig(t, fmt.Sprintf("[smtp]\nlisten = \"127.0.0.1:0\"\n[imap]\nlisten = %q\n", busy.Addr().String()))
	_, errOut, code := cli(t, "", "serve", "-config", path)
	if code != exitFail || !strings.Contains(errOut, "imap.listen") || !strings.Contains(errOut, busy.Addr().String()) {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	d, _ := startTestDaemon(t, "")
	up, _ := writeConfig(t, fmt.Sprintf("[http]\nlisten = %q\n", d.Addr("http.listen")))
	out, errOut, code := cli(t, "", "healthcheck", "-config", up)
	if code != exitOK {
		t.Errorf("healthcheck of a running server: exit %d %s%s", code, out, errOut)
	}
	closed := freeAddr(t)
	down, _ := writeConfig(t, fmt.Sprintf("[http]\nlisten = %q\n", closed))
	if _, errOut, code := cli(t, "", "healthcheck", "-config", down); code != exitFail {
		t.Errorf("healthcheck of nothing: exit %d %s", code, errOut)
	}
}

// TestGuardCLI drives the spam guard verbs against a running server.
func TestGuardCLI(t *testing.T) {
	t.Parallel()
	d, cfg := startTestDaemon(t, "")
	if _, errOut, code := cli(t, "pw-alice\n", "user", "add", "-config", cfg, "alice@example.org"); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	base := []string{"-immp", d.Addr("immp.listen"), "-user", "alice@example.org"}
	g := func(stdin string, verb string, args ...string) (string, string, int) {
		return cli(t, stdin, append(append([]string{"guard", verb}, base...), args...)...)
	}
	steps := []struct {
		verb   string
		args   []string
		code   int
		stdout string
	}{
		{"add-agent", []string{"lists"}, exitOK, ""},
		{"add-agent", []string{"lists"}, exitFail, ""},
		{"agents", nil, exitOK, "alice@example.org\nlists\n"},
		{"agents", []string{"li*"}, exitOK, "lists\n"},
		{"add", []string{"lists", "*@spam.test"}, exitOK, ""},
		{"add", []string{"lists", "bob@spam.test"}, exitOK, ""},
		{"add", []string{"nosuch", "x@y.test"}, exitFail, ""},
		{"entries", []string{"lists"}, exitOK, "*@spam.test\nbob@spam.test\n"},
		{"entries", []string{"lists", "bob*"}, exitOK, "bob@spam.test\n"},
		{"del", []string{"lists", "bob@spam.test"}, exitOK, ""},
		{"del", []string{"lists", "bob@spam.test"}, exitFail, ""},
		{"del-agent", []string{"lists"}, exitOK, ""},
		{"agents", nil, exitOK, "alice@example.org\n"},
	}
	for _, s := range steps {
		out, errOut, code := g("pw-alice\n", s.verb, s.args...)
		if code != s.code || (s.stdout != "" && out != s.stdout) {
			t.Errorf("guard %s %v: exit %d stdout %q stderr %q; want %d %q", s.verb, s.args, code, out, errOut, s.code, s.stdout)
		}
	}
	// A wrong password is a runtime failure, and says so.
	if _, errOut, code := g("wrong\n", "agents"); code != exitFail || !strings.Contains(errOut, "AUTHENTICATIONFAILED") {
		t.Errorf("wrong password: exit %d %s", code, errOut)
	}
	// $IMMP_PASSWORD wins over stdin.
	env := map[string]string{"IMMP_PASSWORD": "pw-alice"}
	if out, errOut, code := cliWithEnv(t, env, "wrong\n", append([]string{"guard", "agents"}, base...)...); code != exitOK || out != "alice@example.org\n" {
		t.Errorf("IMMP_PASSWORD: exit %d %q %s", code, out, errOut)
	}
}

// TestSignalDrainsTransaction runs immp serve as a real process, starts an
// SMTP transaction, sends SIGTERM in the middle of DATA, and checks that
// the transaction still completes with 250, the message is on disk, and
// the process exits 0.
func TestSignalDrainsTransaction(t *testing.T) {
	t.Parallel()
	path, dataDir := writeConfig(t, allListeners+"[accounts]\nauto_create = true\n[log]\nformat = \"json\"\n")
	cmd := exec.Command(os.Args[0], "serve", "-config", path)
	cmd.Env = append(os.Environ(), "IMMP_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	addrs := make(chan map[string]string, 1)
	var logs syncBuffer
	go func() {
		got := map[string]string{}
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			var rec struct{ Msg, Key, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				if rec.Msg == "listening" && rec.Key != "" {
					got[rec.Key] = rec.Addr
				}
				if rec.Msg == "immp ready" {
					addrs <- got
				}
			}
		}
		done <- cmd.Wait()
	}()
	var a map[string]string
	select {
	case a = <-addrs:
	case err := <-done:
		t.Fatalf("exited early: %v\n%s", err, logs.String())
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("not ready\n%s", logs.String())
	}

	c, err := net.DialTimeout("tcp", a["smtp.listen"], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	expect := func(prefix string) {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("reading reply (want %s): %v\n%s", prefix, err, logs.String())
			}
			if len(line) >= 4 && line[3] == '-' {
				continue
			}
			if !strings.HasPrefix(line, prefix) {
				t.Fatalf("got %q, want %s", line, prefix)
			}
			return
		}
	}
	send := func(s string) { io.WriteString(c, s) }
	expect("220")
	send("EHLO client.test\r\n")
	expect("250")
	send("MAIL FROM:<bob@remote.test>\r\n")
	expect("250")
	send("RCPT TO:<dev@example.org>\r\n")
	expect("250")
	send("DATA\r\n")
	expect("354")
	send("Subject: in flight\r\n\r\nfirst half\r\n")

	// Mid-transaction: ask the process to stop, and wait until it has
	// stopped accepting before finishing the message.
	cmd.Process.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for canDial(a["imap.listen"]) {
		if time.Now().After(deadline) {
			t.Fatalf("still accepting IMAP 10s after SIGTERM\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	send("second half\r\n.\r\n")
	expect("250")
	send("QUIT\r\n")

	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("did not exit after SIGTERM\n%s", logs.String())
	}
	files, _ := filepath.Glob(filepath.Join(dataDir, "mail", "example.org", "dev", "Maildir", "new", "*"))
	if len(files) != 1 {
		t.Fatalf("want the message in INBOX/new, got %v", files)
	}
	body, _ := os.ReadFile(files[0])
	if !strings.Contains(string(body), "second half") {
		t.Errorf("message incomplete:\n%s", body)
	}
}

func greeting(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return bufio.NewReader(c).ReadString('\n')
}

func greetingTLS(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	tc := tlsClient(c)
	return bufio.NewReader(tc).ReadString('\n')
}

func canDial(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpGet(t *testing.T, url string) (string, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
