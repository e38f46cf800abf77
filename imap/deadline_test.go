package imap

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// A read that hit its deadline stays failed, even when imapserver arms a
// fresh deadline and data is waiting: a slowloris client, timed out in
// the middle of a command, must not get a new 30 s for the next one.
func TestReadTimeoutIsFinal(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &countedConn{Conn: a, closed: func() {}}
	c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("first read: %v, want a timeout", err)
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	go b.Write([]byte("x"))
	if n, err := c.Read(make([]byte, 1)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after the timeout: %d, %v; want the timeout again", n, err)
	}
}
