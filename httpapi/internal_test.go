package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/maildir"
)

// TestWaitSubscribesFirst: a message stored after a wait looked at what
// is stored, and before it started waiting, is still its answer (the
// wait subscribed before it looked).
func TestWaitSubscribesFirst(t *testing.T) {
	ctx := context.Background()
	st, err := maildir.Open(ctx, maildir.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acct, err := st.AddAccount(ctx, "mo@example.com", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{Store: st, Testbed: true})
	if err != nil {
		t.Fatal(err)
	}
	a.afterScan = func() {
		d, err := st.BeginDelivery(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		d.AddRecipient(acct, "INBOX")
		io.WriteString(d, "From: x@shop.test\r\nSubject: in the gap\r\n\r\nx\r\n")
		if _, err := d.Commit(ctx); err != nil {
			t.Error(err)
		}
		// Settle the folder: the message is published (and any
		// subscription told) before the wait goes on.
		if _, err := st.OpenFolder(ctx, acct, "INBOX"); err != nil {
			t.Error(err)
		}
	}
	srv := httptest.NewServer(a)
	defer srv.Close()
	start := time.Now()
	resp, err := http.Get(srv.URL + "/api/v1/messages/wait?subject=gap&timeout=3s")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m Message
	json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != 200 || m.Subject != "in the gap" {
		t.Fatalf("%d %+v after %v: the message stored between looking and waiting was missed", resp.StatusCode, m, time.Since(start))
	}
}

// TestSlowBody: a request body that does not come within bodyTimeout is
// answered 408 and the connection freed, however its octets trickle; a
// body that comes in time is served as usual.
func TestSlowBody(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := maildir.Open(ctx, maildir.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := New(Options{Store: st, Testbed: true})
	if err != nil {
		t.Fatal(err)
	}
	a.bodyTimeout = 500 * time.Millisecond
	srv := httptest.NewServer(a)
	defer srv.Close()

	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := `{"address":"slow@example.com","password":"pw-123456789"}`
	fmt.Fprintf(c, "POST /api/v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() { // an octet every 100 ms: each read renews nothing
		for i := 0; i < len(body); i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
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
		t.Fatalf("a trickled body: %d after %v, want 408 after about %v", resp.StatusCode, d, a.bodyTimeout)
	}
	if _, err := st.Account(ctx, "slow@example.com"); err == nil {
		t.Error("the account was created from a body that never came")
	}

	resp, err = http.Post(srv.URL+"/api/v1/accounts", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("a body in time: %d", resp.StatusCode)
	}
}
