//go:build linux

package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/immp-mail/immp/internal/syncbuf"
)

// serveProcess is "immp serve" running as a real process (the test binary
// acting as immp, see TestMain), with its bound addresses by config key.
type serveProcess struct {
	cmd   *exec.Cmd
	addrs map[string]string
	logs  *syncbuf.Buffer
	done  chan error // the exit
}

// startServeProcess runs "immp serve -config path" (the config must log
// JSON) and waits until it is ready.
func startServeProcess(t *testing.T, path string) *serveProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "-config", path)
	cmd.Env = append(os.Environ(), "IMMP_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProcess{cmd: cmd, logs: new(syncbuf.Buffer), done: make(chan error, 1)}
	ready := make(chan map[string]string, 1)
	go func() {
		got := map[string]string{}
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.logs.Write(append(sc.Bytes(), '\n'))
			var rec struct{ Msg, Key, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				if rec.Msg == "listening" && rec.Key != "" {
					got[rec.Key] = rec.Addr
				}
				if rec.Msg == "immp ready" {
					ready <- got
				}
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	select {
	case p.addrs = <-ready:
	case err := <-p.done:
		t.Fatalf("exited early: %v\n%s", err, p.logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("not ready\n%s", p.logs.String())
	}
	return p
}

// openFiles counts the descriptors process pid has open.
func openFiles(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Skipf("cannot count the server's descriptors: %v", err)
	}
	return len(ents)
}

// TestAcceptAfterDescriptorExhaustion runs immp serve as a real process,
// lowers its open-files limit to just above what it uses, takes the rest
// with idle SMTP connections, dials every listener while the server has
// no descriptor left (the kernel queues those connections; accept fails
// with EMFILE), then hangs up the idle connections and checks that every
// listener (SMTP, submission, IMAP, IMAPS, IMMP, IMMPS, HTTP) then serves
// the queued clients and new ones: none stopped for good, and the process
// did not shut down.
func TestAcceptAfterDescriptorExhaustion(t *testing.T) {
	t.Parallel()
	path, _ := writeConfig(t, `
shutdown_grace = "2s"
[smtp]
listen = "127.0.0.1:0"
max_conns_per_ip = -1
max_conns = -1
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
[log]
format = "json"
`)
	p := startServeProcess(t, path)
	pid := p.cmd.Process.Pid
	var lim unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &lim); err != nil {
		t.Skipf("prlimit: %v", err)
	}
	const spare = 8
	low := unix.Rlimit{Cur: uint64(openFiles(t, pid) + spare), Max: lim.Max}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &low, nil); err != nil {
		t.Skipf("prlimit: %v", err)
	}
	t.Logf("server open-files limit lowered to %d", low.Cur)

	// Take every descriptor left with idle SMTP connections, until one
	// is not greeted: the server can no longer accept.
	var hogs []net.Conn
	defer func() {
		for _, c := range hogs {
			c.Close()
		}
	}()
	for exhausted := false; !exhausted; {
		if len(hogs) > 10*spare {
			t.Fatalf("%d connections greeted under a limit of %d descriptors", len(hogs), low.Cur)
		}
		c, err := net.DialTimeout("tcp", p.addrs["smtp.listen"], 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		hogs = append(hogs, c)
		c.SetReadDeadline(time.Now().Add(time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		switch {
		case err == nil && strings.HasPrefix(line, "220 "):
		case isTimeout(err):
			exhausted = true
		default:
			t.Fatalf("idle SMTP connection %d: %q, %v\n%s", len(hogs), line, err, p.logs.String())
		}
	}
	t.Logf("descriptors exhausted after %d connections", len(hogs))

	// Dial every listener now: the connections wait in the kernel's
	// queue while accept fails.
	keys := []string{"smtp.listen", "submission.listen", "imap.listen", "imap.tls_listen",
		"immp.listen", "immp.tls_listen", "http.listen"}
	waiting := map[string]net.Conn{}
	for _, k := range keys {
		c, err := net.DialTimeout("tcp", p.addrs[k], 5*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		defer c.Close()
		waiting[k] = c
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.logs.String(), "accept failed; retrying") {
		if time.Now().After(deadline) {
			t.Fatalf("no accept failure logged\n%s", p.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // several failed accepts on every listener

	for _, c := range hogs {
		c.Close()
	}
	hogs = nil

	for _, k := range keys {
		if err := expectServed(k, waiting[k]); err != nil {
			t.Errorf("%s: queued connection not served after descriptors came back: %v", k, err)
		}
		c, err := net.DialTimeout("tcp", p.addrs[k], 5*time.Second)
		if err != nil {
			t.Errorf("%s: %v", k, err)
			continue
		}
		if err := expectServed(k, c); err != nil {
			t.Errorf("%s: new connection not served: %v", k, err)
		}
		c.Close()
	}
	select {
	case err := <-p.done:
		t.Fatalf("the server exited: %v", err)
	default:
	}
	if t.Failed() {
		t.Logf("server log:\n%s", p.logs.String())
	}
}

// expectServed checks that c is answered in the protocol of the listener
// under key: a greeting (over TLS for tls_listen), or an HTTP response.
func expectServed(key string, c net.Conn) error {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var r io.Reader = c
	want := map[string]string{"smtp.listen": "220 ", "submission.listen": "220 ", "http.listen": "HTTP/1.1 200 "}[key]
	switch {
	case want == "HTTP/1.1 200 ":
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: immp\r\nConnection: close\r\n\r\n"); err != nil {
			return err
		}
	case strings.HasSuffix(key, "tls_listen"):
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			return err
		}
		r = tc
		want = "* OK "
	case want == "":
		want = "* OK "
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		return fmt.Errorf("%w (read %q)", err, line)
	}
	if !strings.HasPrefix(line, want) {
		return fmt.Errorf("read %q, want %q", line, want)
	}
	return nil
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
