package mtasts

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestTextIsRFC8461(t *testing.T) {
	p := Policy{Mode: ModeEnforce, MX: []string{"Mail.Example.org."}, MaxAge: DefaultMaxAge}
	want := "version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\nmax_age: 604800\r\n"
	if got := p.Text(); got != want {
		t.Errorf("Text() = %q, want %q", got, want)
	}
}

// TestIDFollowsThePolicy: the id changes with every setting and only
// with them (the package's first invariant).
func TestIDFollowsThePolicy(t *testing.T) {
	base := Policy{Mode: ModeTesting, MX: []string{"mail.example.org"}, MaxAge: DefaultMaxAge}
	id := base.ID()
	if len(id) < 1 || len(id) > 32 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Fatalf("id %q is not 1-32 letters or digits", id)
	}
	if again := (Policy{Mode: ModeTesting, MX: []string{"mail.example.org"}, MaxAge: DefaultMaxAge}).ID(); again != id {
		t.Errorf("same policy, new id: %s vs %s", again, id)
	}
	for name, p := range map[string]Policy{
		"mode":    {Mode: ModeEnforce, MX: base.MX, MaxAge: base.MaxAge},
		"mx":      {Mode: base.Mode, MX: []string{"mx2.example.org"}, MaxAge: base.MaxAge},
		"max_age": {Mode: base.Mode, MX: base.MX, MaxAge: time.Hour},
	} {
		if p.ID() == id {
			t.Errorf("a change of %s keeps the id", name)
		}
	}
	if r := base.Record(); r != "v=STSv1; id="+id {
		t.Errorf("Record() = %q", r)
	}
}

// TestHandlerServesOnlyItsDomains: the package's second invariant.
func TestHandlerServesOnlyItsDomains(t *testing.T) {
	p := Policy{Mode: ModeTesting, MX: []string{"mail.example.org"}, MaxAge: DefaultMaxAge}
	h := Handler(p, []string{"example.org", "Example.NET."})
	for _, c := range []struct {
		host string
		code int
	}{
		{"mta-sts.example.org", 200},
		{"MTA-STS.example.net:443", 200},
		{"mta-sts.other.test", 404},
		{"example.org", 404},
		{"mail.example.org", 404},
	} {
		req := httptest.NewRequest("GET", Path, nil)
		req.Host = c.host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.code {
			t.Errorf("Host %s: %d, want %d", c.host, rec.Code, c.code)
		}
		if c.code == 200 {
			body, _ := io.ReadAll(rec.Body)
			if string(body) != p.Text() || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
				t.Errorf("Host %s: %q %q", c.host, body, rec.Header().Get("Content-Type"))
			}
		}
	}
}
