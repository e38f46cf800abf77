package integration

import (
	"bufio"
	"context"
	"fmt"
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

	"github.com/immp-mail/immp/internal/syncbuf"
)

// binary is the path of the immp binary built by TestMain.
var binary string

// httpClient is for the operations endpoint: never wait unbounded on a
// server that accepted and went quiet.
var httpClient = &http.Client{Timeout: 10 * time.Second}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "immp-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "immp")
	build := exec.Command("go", "build", "-o", binary, "github.com/immp-mail/immp/cmd/immp")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building immp:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needTool returns the path of an external program, skipping the test when
// it is missing (failing under CI=true).
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/lib/postfix/sbin"} {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed; CI must install it (.ci/run)", name)
	}
	t.Skipf("%s is not installed", name)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// freePort returns a loopback address with a port that was free a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		// The kernel may hand a port out again once it is closed: never
		// give the same one to two listeners of this test process (two of
		// one config would fail startup with "also used by").
		handedOut.Lock()
		dup := handedOut.ports[addr]
		handedOut.ports[addr] = true
		handedOut.Unlock()
		if !dup {
			return addr
		}
	}
}

// handedOut is every address freePort has returned in this process.
var handedOut = struct {
	sync.Mutex
	ports map[string]bool
}{ports: map[string]bool{}}

// server is one running immp process.
type server struct {
	t       testing.TB
	cmd     *exec.Cmd
	dataDir string
	config  string
	bin     string            // the binary run; "" is the one TestMain built
	addrs   map[string]string // "smtp", "submission", "imap", "imaps", "immp", "immps", "http"
	log     syncbuf.Buffer
	done    chan error
}

// serverOptions tunes the config a test server is started with.
type serverOptions struct {
	domains    []string
	autoCreate bool
	noIMMP     bool   // leave the IMMP listener off: its address refuses connections
	extra      string // more TOML appended to the generated file
	dataDir    string // data_dir; "" is a fresh directory under t.TempDir()
	// tables adds lines inside a table the harness writes itself
	// ("smtp", "imap", "immp", "http"), where extra cannot: TOML forbids
	// defining a table twice.
	tables map[string]string
	binary string            // the immp binary to run; "" is the one TestMain built
	addrs  map[string]string // listener addresses chosen by the test ("http"); others free ports
}

// startServer writes a config with every listener on a free loopback port
// and runs `immp serve -config FILE` until the test ends.
func startServer(t testing.TB, opts serverOptions) *server {
	t.Helper()
	if len(opts.domains) == 0 {
		opts.domains = []string{"example.org"}
	}
	dir := t.TempDir()
	s := &server{t: t, dataDir: filepath.Join(dir, "data"), config: filepath.Join(dir, "immp.toml"), done: make(chan error, 1), bin: opts.binary}
	if opts.dataDir != "" {
		s.dataDir = opts.dataDir
	}
	s.addrs = map[string]string{}
	for _, k := range []string{"smtp", "submission", "imap", "immp", "http"} {
		s.addrs[k] = opts.addrs[k]
		if s.addrs[k] == "" {
			s.addrs[k] = freePort(t)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "hostname = %q\ndata_dir = %q\ndomains = [", "mx.test", s.dataDir)
	for i, d := range opts.domains {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", d)
	}
	b.WriteString("]\n\n")
	fmt.Fprintf(&b, "[smtp]\nlisten = %q\n%s\n[submission]\nlisten = %q\n\n[imap]\nlisten = %q\n%s\n[http]\nlisten = %q\n%s\n",
		s.addrs["smtp"], opts.tables["smtp"], s.addrs["submission"], s.addrs["imap"], opts.tables["imap"], s.addrs["http"], opts.tables["http"])
	if !opts.noIMMP {
		fmt.Fprintf(&b, "[immp]\nlisten = %q\n%s\n", s.addrs["immp"], opts.tables["immp"])
	}
	fmt.Fprintf(&b, "[accounts]\nauto_create = %v\n\n", opts.autoCreate)
	b.WriteString(opts.extra)
	if err := os.WriteFile(s.config, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	s.start()
	return s
}

func (s *server) start() {
	t := s.t
	t.Helper()
	bin := binary
	if s.bin != "" {
		bin = s.bin
	}
	s.cmd = exec.Command(bin, "serve", "-config", s.config)
	s.cmd.Dir = filepath.Dir(s.config)
	s.cmd.Stdout = &s.log
	s.cmd.Stderr = &s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() { s.stop() })
	s.waitReady()
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("immp serve exited with %v; log:\n%s", err, s.logs())
		}
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		s.t.Errorf("immp serve did not stop within 30s of SIGTERM; log:\n%s", s.logs())
	}
	s.cmd = nil
}

// kill stops the process with SIGKILL, as a crash would.
func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// restart starts the process again on the same config and data.
func (s *server) restart() { s.start() }

// readyTimeout bounds how long a fresh process may take to answer 200 on
// /readyz; the -race binary of the soak test is the slowest starter.
const readyTimeout = 60 * time.Second

// waitReady polls /readyz until it answers 200. Every poll has its own
// short timeout: a listener that is bound but not yet served accepts the
// connection and says nothing, and an unbounded GET would wait for it
// forever. A process that never gets ready is sent SIGQUIT first, so the
// failure shows its goroutines, not just a timeout.
func (s *server) waitReady() {
	t := s.t
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	url := "http://" + s.addrs["http"] + "/readyz"
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.cmd = nil // gone: the cleanup's stop must not wait for it
			t.Fatalf("immp serve exited early (%v); log:\n%s", err, s.logs())
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("/readyz: %s", resp.Status)
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	// SIGQUIT makes the Go runtime print every goroutine and exit.
	s.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
	t.Fatalf("immp serve not ready after %v (last poll: %v); log and goroutines:\n%s", readyTimeout, lastErr, s.logs())
}

func (s *server) logs() string { return s.log.String() }

// immp runs the binary with args against this server's config, feeding
// stdin, and returns stdout, stderr and the exit code.
func (s *server) immp(t testing.TB, stdin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	return runBinary(t, stdin, env, args...)
}

func runBinary(t testing.TB, stdin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), env...)
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

// addUser creates an account through the CLI while the server runs.
func (s *server) addUser(t testing.TB, address, password string) {
	t.Helper()
	out, errOut, code := s.immp(t, password+"\n", nil, "user", "add", "-config", s.config, address)
	if code != 0 {
		t.Fatalf("immp user add %s: exit %d\nstdout: %s\nstderr: %s", address, code, out, errOut)
	}
}

// run executes an external program and fails the test if it fails.
func run(t testing.TB, stdin string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// metric reads one sample's value from the server's /metrics, matching the
// full sample name with labels as Prometheus prints them.
func (s *server) metric(t testing.TB, sample string) string {
	t.Helper()
	resp, err := httpClient.Get("http://" + s.addrs["http"] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, sample+" ") {
			return strings.TrimSpace(strings.TrimPrefix(line, sample))
		}
	}
	return ""
}

// runAllowFail runs a program and returns its combined output whatever its
// exit status.
func runAllowFail(t testing.TB, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out)
}

func canConnect(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
