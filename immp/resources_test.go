package immp

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestMaxConns: past MaxConns open connections on a listener, a client
// gets "* BYE [UNAVAILABLE]" and is closed (on the implicit-TLS port it
// is closed without a word); a freed slot serves again.
func TestMaxConns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.MaxConns = 2 })
	a := e.dial()
	e.dial()
	nc, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(nc)
	if got := string(b); got != "* BYE [UNAVAILABLE] Too many connections, try again later\r\n" {
		t.Errorf("third connection read %q", got)
	}
	a.ok("Z LOGOUT")
	if !a.closed() {
		t.Fatal("open after LOGOUT")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		nc, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		line, _ := bufio.NewReader(nc).ReadString('\n')
		nc.Close()
		if strings.HasPrefix(line, "* OK ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not given back: %q", line)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The implicit-TLS listener counts its own connections.
	var held []*tls.Conn
	for range 2 {
		tc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", e.tlsAddr, e.clientTLS)
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		if line, err := bufio.NewReader(tc).ReadString('\n'); err != nil || !strings.HasPrefix(line, "* OK ") {
			t.Fatalf("TLS greeting %q, %v", line, err)
		}
		held = append(held, tc)
	}
	if _, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", e.tlsAddr, e.clientTLS); err == nil {
		t.Error("third TLS connection completed a handshake; want it closed")
	}
}
