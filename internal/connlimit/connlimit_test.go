package connlimit

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
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

// An admitted connection half-closes like the TCP connection below it:
// the client reads the end of the stream while its own side stays open
// (the server can still read what it sends), so a lingering close above
// works through the limiter. Without CloseWrite the servers above fell
// back to a full close, and the client's pipelined input turned it into
// a reset.
func TestAdmittedConnHalfCloses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c, ok := New(1).Admit(server)
	if !ok {
		t.Fatal("not admitted")
	}
	defer c.Close()
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok {
		t.Fatal("an admitted TCP connection cannot be half-closed")
	}
	if _, err := c.Write([]byte("bye\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	client.SetDeadline(time.Now().Add(5 * time.Second))
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if got, err := io.ReadAll(client); err != nil || string(got) != "bye\r\n" {
		t.Fatalf("client read %q, %v; want the reply, then the end", got, err)
	}
	if _, err := client.Write([]byte("NOOP\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "NOOP\r\n" {
		t.Fatalf("server read %q, %v after its half-close; want the client's input", buf[:n], err)
	}
}
