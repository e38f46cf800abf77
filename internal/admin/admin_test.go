package admin

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/internal/trickle"
	"github.com/immp-mail/immp/maildir"
)

func TestParseQuota(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1GiB", 1 << 30, true}, {"500MB", 500e6, true}, {"0", 0, true}, {"unlimited", 0, true},
		{"Default", maildir.QuotaDefault, true}, {"lots", 0, false}, {"-1", 0, false},
	} {
		got, err := ParseQuota(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("%q: %d %v", c.in, got, err)
		}
		if err != nil && status(err) != http.StatusBadRequest {
			t.Errorf("%q: status %d", c.in, status(err))
		}
	}
}

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		origin, site string
		want         bool
	}{
		{"", "", true}, {"http://admin.test:8080", "", true}, {"http://admin.test:8080", "same-origin", true},
		{"http://evil.test", "", false}, {"", "cross-site", false}, {"", "same-site", false}, {"null", "", false},
	} {
		r, _ := http.NewRequest("POST", "http://admin.test:8080/admin/accounts", nil)
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if c.site != "" {
			r.Header.Set("Sec-Fetch-Site", c.site)
		}
		if got := sameOrigin(r); got != c.want {
			t.Errorf("Origin %q Sec-Fetch-Site %q: %v", c.origin, c.site, got)
		}
	}
}

// TestSlowForm: a login form trickled an octet at a time is cut off at
// bodyTimeout (the connection closed, no wait for the rest); a form that
// comes in time is answered as usual.
func TestSlowForm(t *testing.T) {
	t.Parallel()
	h, err := New(Options{Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	h.bodyTimeout = 500 * time.Millisecond
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	form := "password=wrong+horse+battery"
	head := fmt.Sprintf("POST /admin/login HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n",
		srv.Listener.Addr(), srv.URL)
	if _, d := trickle.Post(t, srv.Listener.Addr().String(), head, form, 100*time.Millisecond); d > 2*time.Second {
		t.Fatalf("a trickled form held the connection for %v, want about %v", d, h.bodyTimeout)
	}

	req, _ := http.NewRequest("POST", srv.URL+"/admin/login", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", srv.URL)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a form in time, wrong password: %d, want 401", resp.StatusCode)
	}
}
