package imap

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// dialFrom connects from a loopback address and returns the greeting.
func dialFrom(t *testing.T, local, addr string) (net.Conn, string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return c, line
}

// TestConnectionCaps: over MaxConns connections on the listener a client
// reads "* BYE [UNAVAILABLE] ... try again later", over MaxConnsPerIP
// from its address "* BYE [LIMIT] ..." (RFC 9051 7.1.5, RFC 5530), and
// is closed; a closed connection frees its slots.
func TestConnectionCaps(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{mutate: func(o *Options) { o.MaxConns = 3; o.MaxConnsPerIP = 2 }})
	const busy = "* BYE [UNAVAILABLE] Too many connections, try again later\r\n"
	const perIP = "* BYE [LIMIT] Too many connections from your address\r\n"
	a, line := dialFrom(t, "127.0.0.1", e.addr)
	if !strings.HasPrefix(line, "* OK") {
		t.Fatalf("greeting %q", line)
	}
	dialFrom(t, "127.0.0.1", e.addr)
	if _, line := dialFrom(t, "127.0.0.1", e.addr); line != perIP {
		t.Errorf("third from one address: %q, want %q", line, perIP)
	}
	if _, line := dialFrom(t, "127.0.0.2", e.addr); !strings.HasPrefix(line, "* OK") {
		t.Errorf("other address: %q", line)
	}
	if _, line := dialFrom(t, "127.0.0.3", e.addr); line != busy {
		t.Errorf("fourth connection: %q, want %q", line, busy)
	}
	io.WriteString(a, "Z LOGOUT\r\n")
	io.ReadAll(a)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, line := dialFrom(t, "127.0.0.3", e.addr)
		if strings.HasPrefix(line, "* OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not given back: %q", line)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
