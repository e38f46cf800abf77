package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/internal/syncbuf"
)

// dialFrom connects to addr from a loopback address of 127/8.
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// firstLine reads c's first line (a greeting); "" if it is closed first.
func firstLine(c net.Conn) string {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return line
}

// TestConnectionCapsFromConfig: every listener holds its section's
// max_conns, the next client is told so in the listener's protocol and
// closed (on implicit-TLS ports closed without a word), [http] also caps
// per address, and the refusals are counted in /metrics.
func TestConnectionCapsFromConfig(t *testing.T) {
	t.Parallel()
	path, _ := writeConfig(t, `
[smtp]
listen = "127.0.0.1:0"
max_conns = 1
[submission]
listen = "127.0.0.1:0"
max_conns = 1
[imap]
listen = "127.0.0.1:0"
tls_listen = "127.0.0.1:0"
max_conns = 1
[immp]
listen = "127.0.0.1:0"
tls_listen = "127.0.0.1:0"
max_conns = 1
[http]
listen = "127.0.0.1:0"
max_conns = 2
max_conns_per_ip = 1
[tls]
self_signed = true
`)
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
		<-done
	})

	busy := map[string]string{
		"smtp.listen":       "421 4.7.0 mx.test Too many connections, try again later\r\n",
		"submission.listen": "421 4.7.0 mx.test Too many connections, try again later\r\n",
		"imap.listen":       "* BYE [UNAVAILABLE] Too many connections, try again later\r\n",
		"immp.listen":       "* BYE [UNAVAILABLE] Too many connections, try again later\r\n",
		"imap.tls_listen":   "",
		"immp.tls_listen":   "",
	}
	for key, want := range busy {
		held := dialFrom(t, "127.0.0.1", d.Addr(key))
		if strings.HasSuffix(key, "tls_listen") {
			tc := tlsClient(held)
			tc.SetDeadline(time.Now().Add(5 * time.Second))
			if line, err := bufio.NewReader(tc).ReadString('\n'); err != nil || !strings.HasPrefix(line, "* OK") {
				t.Fatalf("%s: first connection: %q, %v", key, line, err)
			}
		} else if line := firstLine(held); strings.HasPrefix(line, "421") || strings.HasPrefix(line, "* BYE") || line == "" {
			t.Fatalf("%s: first connection: %q", key, line)
		}
		over := dialFrom(t, "127.0.0.1", d.Addr(key))
		over.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(over)
		if got := string(b); got != want {
			t.Errorf("%s: connection over max_conns read %q, want %q", key, got, want)
		}
	}

	// [http]: one connection per address, two in all; a request is
	// answered 503 when over either.
	http := d.Addr("http.listen")
	held := []net.Conn{dialFrom(t, "127.0.0.2", http)}
	for _, from := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		c := dialFrom(t, from, http)
		if from == "127.0.0.3" {
			held = append(held, c) // within both caps: waits for a request
			continue
		}
		if line := firstLine(c); !strings.HasPrefix(line, "HTTP/1.1 503 ") {
			t.Errorf("HTTP from %s over a cap: %q, want 503", from, line)
		}
	}
	for _, c := range held {
		c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := dialFrom(t, "127.0.0.5", http)
		io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: immp\r\nConnection: close\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c)
		c.Close()
		body := string(b)
		if strings.HasPrefix(body, "HTTP/1.1 200 ") {
			for _, m := range []string{
				`immp_connections_refused_total{protocol="imap",reason="max_conns"} 2`,
				`immp_connections_refused_total{protocol="smtp",reason="max_conns"} 1`,
				`immp_connections_refused_total{protocol="submission",reason="max_conns"} 1`,
				`immp_connections_refused_total{protocol="immp",reason="max_conns"} 2`,
				`immp_connections_refused_total{protocol="http",reason="max_conns_per_ip"} 1`,
				`immp_connections_refused_total{protocol="http",reason="max_conns"} `, // and /metrics asked before the hang-ups were seen
			} {
				if !strings.Contains(body, m) {
					t.Errorf("/metrics lacks %s", m)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics not served once the held connections closed: %q", body)
		}
		time.Sleep(50 * time.Millisecond) // the server has not seen the hang-ups yet
	}
}
