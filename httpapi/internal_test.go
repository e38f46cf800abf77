package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/internal/trickle"
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

	body := `{"address":"slow@example.com","password":"pw-123456789"}`
	resp, d := trickle.Post(t, srv.Listener.Addr().String(),
		"POST /api/v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n", body, 100*time.Millisecond)
	if resp == nil || resp.StatusCode != http.StatusRequestTimeout || d > 3*time.Second {
		t.Fatalf("a trickled body: %v after %v, want 408 after about %v", resp, d, a.bodyTimeout)
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
