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

// TestPreauthAutologout: before login, and in the anonymous state, a
// session without a command for PreauthTimeout is logged out; after a
// login as an account the long autologout timer (draft 5.4) applies.
func TestPreauthAutologout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.PreauthTimeout = time.Second })
	if e.srv.idle != MinIdleTimeout {
		t.Fatalf("idle timer %v, want %v", e.srv.idle, MinIdleTimeout)
	}

	fresh := e.dial()
	start := time.Now()
	fresh.expect("* BYE Autologout; idle for too long")
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("not-authenticated session logged out after %v, want about 1s", el)
	}
	if !fresh.closed() {
		t.Error("open after autologout")
	}

	// A command restarts the timer (it is an idle timer, not a deadline).
	busy := e.dial()
	for range 5 {
		time.Sleep(300 * time.Millisecond)
		busy.ok("N NOOP")
	}

	anon := e.dial()
	anon.ok("A LOGIN anonymous whoever")
	anon.expect("* BYE Autologout; idle for too long")

	in := e.dial()
	in.login("alice@example.org")
	time.Sleep(2 * time.Second)
	in.ok("B NOOP")
}

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
