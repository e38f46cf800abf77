package autoconfig

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/internal/trickle"
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

	resp, d := trickle.Post(t, srv.Listener.Addr().String(),
		"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n", body, 50*time.Millisecond)
	if resp == nil || resp.StatusCode != http.StatusRequestTimeout || d > 3*time.Second {
		t.Fatalf("a trickled body: %v after %v, want 408 after about %v", resp, d, h.bodyTimeout)
	}

	resp, err := http.Post(srv.URL+"/autodiscover/autodiscover.xml", "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a body in time: %d", resp.StatusCode)
	}
}
