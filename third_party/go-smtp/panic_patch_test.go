package smtp_test

import (
	"bufio"
	"bytes"
	"errors"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// panicListener hands out connections whose first Read panics, once.
type panicListener struct {
	net.Listener
	once sync.Once
}

type panicConn struct{ net.Conn }

func (panicConn) Read([]byte) (int, error) { panic("injected fault") }

func (l *panicListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	var out net.Conn = c
	l.once.Do(func() { out = panicConn{c} })
	return out, nil
}

// TestServerPanicRecovered: a panic outside the command handlers (here in
// the connection's Read, while reading a command line) closes that
// connection and is logged with its stack; the server goes on serving.
func TestServerPanicRecovered(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return nil, errors.New("no sessions here")
	}))
	s.Domain = "localhost"
	logs := &lockedBuf{}
	s.ErrorLog = log.New(logs, "", 0)
	go s.Serve(&panicListener{Listener: l})
	defer s.Close()

	for i, want := range []string{"220 ", "220 "} {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, want) {
			t.Fatalf("connection %d: greeting %q, %v", i, line, err)
		}
		c.Write([]byte("NOOP\r\n"))
		line, err := r.ReadString('\n')
		if i == 0 && err == nil {
			t.Errorf("got %q after the panic, want the connection closed", line)
		}
		if i == 1 && (err != nil || !strings.HasPrefix(line, "250 ")) {
			t.Errorf("server not serving after a panic: %q, %v", line, err)
		}
		c.Close()
	}
	// The connection is closed while the panic unwinds, before the
	// line is logged: the client can see the close first.
	logged := func(out string) bool {
		return strings.Contains(out, "smtp: panic serving") && strings.Contains(out, "injected fault") && strings.Contains(out, "panic_patch_test.go")
	}
	for deadline := time.Now().Add(5 * time.Second); !logged(logs.String()); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks the panic or its stack:\n%s", logs.String())
		}
	}
}
