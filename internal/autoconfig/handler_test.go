package autoconfig

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestSlowAutodiscoverBody: an Autodiscover body trickled an octet at a
// time is answered 408 at bodyTimeout and the connection closed; one
// that comes in time is answered as usual.
func TestSlowAutodiscoverBody(t *testing.T) {
	t.Parallel()
	h := &handler{s: FromConfig(testConfig(t, true)), log: slog.New(slog.DiscardHandler), bodyTimeout: 500 * time.Millisecond}
	srv := httptest.NewServer(http.HandlerFunc(h.autodiscover))
	defer srv.Close()
	body := `<Autodiscover xmlns="` + nsRequest + `"><Request><EMailAddress>alice@example.org</EMailAddress>` +
		`<AcceptableResponseSchema>` + NSOutlookResponse + `</AcceptableResponseSchema></Request></Autodiscover>`

	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n", len(body))
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := 0; i < len(body); i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := c.Write([]byte{body[i]}); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(start); resp.StatusCode != http.StatusRequestTimeout || d > 3*time.Second {
		t.Fatalf("a trickled body: %d after %v, want 408 after about %v", resp.StatusCode, d, h.bodyTimeout)
	}

	resp, err = http.Post(srv.URL+"/autodiscover/autodiscover.xml", "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a body in time: %d", resp.StatusCode)
	}
}
