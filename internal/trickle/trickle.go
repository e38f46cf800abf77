package trickle

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

// Post sends head (the request line and headers, each ending in CRLF;
// Content-Length is added) to addr, then body one octet every gap while
// it waits up to 10 s for the answer. It returns the answer (its body
// read and closed), nil when the server closed the connection without
// one, and how long after the head the answer or the close came.
func Post(t testing.TB, addr, head, body string, gap time.Duration) (*http.Response, time.Duration) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "%sContent-Length: %d\r\n\r\n", head, len(body)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := 0; i < len(body); i++ {
			select {
			case <-stop:
				return
			case <-time.After(gap):
			}
			if _, err := c.Write([]byte{body[i]}); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, time.Since(start)
	}
	resp.Body.Close()
	return resp, time.Since(start)
}
