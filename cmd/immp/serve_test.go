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
	"syscall"
	"testing"
	"time"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/internal/syncbuf"
	"github.com/immp-mail/immp/server"
)

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
func startTestDaemon(t *testing.T, extra string) (*server.Server, string) {
	t.Helper()
	d, path, _ := startTestDaemonLogs(t, extra)
	return d, path
}

// startTestDaemonLogs is startTestDaemon that also returns the log.
func startTestDaemonLogs(t *testing.T, extra string) (*server.Server, string, *syncbuf.Buffer) {
	t.Helper()
	path, _ := writeConfig(t, allListeners+extra)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	logs := new(syncbuf.Buffer)
	d, err := startDaemon(context.Background(), cfg, newLogger(cfg.Log, logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
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
	return d, path, logs
}

// testHTTP bounds every request: a bound listener that is not yet served
// accepts and says nothing.
var testHTTP = &http.Client{Timeout: 5 * time.Second}

func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := testHTTP.Get(url); err == nil {
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
	var logs syncbuf.Buffer
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
	resp, err := testHTTP.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

// TestLogsJSONWithoutPasswords: [log] format = "json" gives one JSON
// object per line, and neither a good nor a wrong password ever appears.
func TestLogsJSONWithoutPasswords(t *testing.T) {
	t.Parallel()
	d, cfg, logs := startTestDaemonLogs(t, "[log]\nformat = \"json\"\nlevel = \"debug\"\n")
	const good, bad = "Good-Secret-7f3a", "Wrong-Secret-9c1d"
	if _, errOut, code := cli(t, good+"\n", "user", "add", "-config", cfg, "erin@example.org"); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	for _, pw := range []string{good, bad} {
		cli(t, pw+"\n", "guard", "agents", "-immp", d.Addr("immp.listen"), "-user", "erin@example.org")
		cli(t, pw+"\n", "subinbox", "list", "-immp", freeAddr(t), "-imap", d.Addr("imap.listen"), "-user", "erin@example.org")
	}
	out := logs.String()
	if strings.Contains(out, good) || strings.Contains(out, bad) {
		t.Errorf("a password is in the log:\n%s", out)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON log line: %q", line)
		}
		n++
	}
	if n < 4 {
		t.Errorf("only %d log lines:\n%s", n, out)
	}
}
