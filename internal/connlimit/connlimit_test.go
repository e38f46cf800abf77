package connlimit

import (
	"net"
	"net/netip"
	"testing"
)

// pair returns the server side of a real loopback TCP connection dialled
// from local (so tests can stand for several client addresses).
func pair(t *testing.T, ln net.Listener, local string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAdmitCapsPerAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l := New(2)
	a := netip.MustParseAddr("127.0.0.1")

	c1, ok1 := l.Admit(pair(t, ln, "127.0.0.1"))
	c2, ok2 := l.Admit(pair(t, ln, "127.0.0.1"))
	extra := pair(t, ln, "127.0.0.1")
	_, ok3 := l.Admit(extra)
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("admitted %v %v %v, want true true false", ok1, ok2, ok3)
	}
	extra.Close()
	// Another address is not affected.
	other, ok := l.Admit(pair(t, ln, "127.0.0.2"))
	if !ok {
		t.Fatal("127.0.0.2 refused while only 127.0.0.1 is at its cap")
	}
	other.Close()

	// Closing twice (TLS and a counter may both close) frees one slot.
	c1.Close()
	c1.Close()
	if n := l.Open(a); n != 1 {
		t.Fatalf("open after one close = %d, want 1", n)
	}
	c3, ok := l.Admit(pair(t, ln, "127.0.0.1"))
	if !ok {
		t.Fatal("slot not given back on Close")
	}
	c2.Close()
	c3.Close()
	if n := l.Open(a); n != 0 {
		t.Fatalf("open after all closed = %d, want 0", n)
	}
}

func TestNilLimiterAdmitsAll(t *testing.T) {
	if l := New(0); l != nil {
		t.Fatal("New(0) should be unlimited (nil)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var l *Limiter
	for i := 0; i < 5; i++ {
		if _, ok := l.Admit(pair(t, ln, "127.0.0.1")); !ok {
			t.Fatal("nil limiter refused a connection")
		}
	}
}
