package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/foxcpp/go-mockdns"
)

func TestParseSTSPolicy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in string
		ok       bool
		mode     string
		mx       int
		age      time.Duration
	}{
		{"enforce", "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 86400\n", true, "enforce", 2, 24 * time.Hour},
		{"crlf", "version: STSv1\r\nmode: testing\r\nmx: mx.example.com\r\nmax_age: 60\r\n", true, "testing", 1, time.Minute},
		{"none without mx", "version: STSv1\nmode: none\nmax_age: 1\n", true, "none", 0, time.Second},
		{"unknown key ignored", "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 1\nfoo: bar\n", true, "enforce", 1, time.Second},
		{"age capped", "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 9999999999\n", true, "enforce", 1, stsMaxAge},
		{"no version", "mode: enforce\nmx: a.test\nmax_age: 1\n", false, "", 0, 0},
		{"bad version", "version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1\n", false, "", 0, 0},
		{"bad mode", "version: STSv1\nmode: strict\nmx: a.test\nmax_age: 1\n", false, "", 0, 0},
		{"no mx", "version: STSv1\nmode: enforce\nmax_age: 1\n", false, "", 0, 0},
		{"no max_age", "version: STSv1\nmode: enforce\nmx: a.test\n", false, "", 0, 0},
		{"negative age", "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n", false, "", 0, 0},
		{"no colon", "version STSv1\n", false, "", 0, 0},
		{"empty", "", false, "", 0, 0},
	}
	for _, c := range cases {
		p, err := parseSTSPolicy([]byte(c.in))
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v", c.name, err)
			continue
		}
		if c.ok && (p.Mode != c.mode || len(p.MX) != c.mx || p.MaxAge != c.age) {
			t.Errorf("%s: got %+v", c.name, p)
		}
	}
}

func TestParseSTSRecord(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"v=STSv1; id=20160831085700Z;": "20160831085700Z",
		"v=STSv1;id=abc":               "abc",
		"v=STSv1; id=a; ext=1":         "a",
		"v=STSv2; id=a":                "",
		"v=STSv1;":                     "",
		"v=STSv1; id=a-b":              "",
		"v=STSv1; id":                  "",
	} {
		got, err := parseSTSRecord(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestSTSMatches(t *testing.T) {
	t.Parallel()
	p := stsPolicy{MX: []string{"mail.example.com", "*.example.net"}}
	for host, want := range map[string]bool{
		"mail.example.com": true, "MAIL.example.com.": true, "a.example.net": true,
		"b.a.example.net": false, "example.net": false, "other.example.com": false,
	} {
		if p.matches(host) != want {
			t.Errorf("%s: %v", host, !want)
		}
	}
}

func FuzzParseSTSPolicy(f *testing.F) {
	f.Add([]byte("version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\n"))
	f.Add([]byte("version: STSv1\r\nmode: none\r\nmax_age: 0\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseSTSPolicy(b)
		if err != nil {
			return
		}
		if p.Mode != stsEnforce && p.Mode != stsTesting && p.Mode != stsNone {
			t.Fatalf("mode %q accepted", p.Mode)
		}
		if p.MaxAge < 0 || p.MaxAge > stsMaxAge {
			t.Fatalf("max_age %v", p.MaxAge)
		}
		if p.Mode != stsNone && len(p.MX) == 0 {
			t.Fatal("no mx accepted")
		}
	})
}

// TestMTASTSEnforce: with an enforce policy, mail goes only to a listed
// MX, over TLS with a certificate valid for its name; an MX outside the
// policy, or one whose certificate does not verify, is not used.
func TestMTASTSEnforce(t *testing.T) {
	t.Parallel()
	httpsCfg, _ := certFor(t, "mta-sts.remote.test", "mta-sts.bad.test")
	mxCfg, mxPool := certFor(t, "mx.remote.test", "mx.bad.test")
	_ = mxPool
	// One pool trusts both the policy server and the MX.
	pool := x509.NewCertPool()
	pool.AddCert(httpsCfg.Certificates[0].Leaf)
	pool.AddCert(mxCfg.Certificates[0].Leaf)
	m := startMX(t, mxCfg)
	policies := map[string]string{
		"mta-sts.remote.test": "version: STSv1\nmode: enforce\nmx: mx.remote.test\nmax_age: 600\n",
		"mta-sts.bad.test":    "version: STSv1\nmode: enforce\nmx: mx.remote.test\nmax_age: 600\n",
	}
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.Host)
		if host == "" {
			host = r.Host
		}
		p, ok := policies[host]
		if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(p))
	}))
	hs.TLS = httpsCfg
	hs.StartTLS()
	defer hs.Close()
	httpsPort := hs.Listener.Addr().(*net.TCPAddr).Port
	_, res := startDNS(t, map[string]mockdns.Zone{
		"remote.test":          {MX: []net.MX{{Host: "mx.remote.test.", Pref: 10}}},
		"mx.remote.test":       {A: []string{"127.0.0.1"}},
		"_mta-sts.remote.test": {TXT: []string{"v=STSv1; id=1"}},
		"mta-sts.remote.test":  {A: []string{"127.0.0.1"}},
		// bad.test's MX is not in its policy.
		"bad.test":          {MX: []net.MX{{Host: "mx.bad.test.", Pref: 10}}},
		"mx.bad.test":       {A: []string{"127.0.0.1"}},
		"_mta-sts.bad.test": {TXT: []string{"v=STSv1; id=1"}},
		"mta-sts.bad.test":  {A: []string{"127.0.0.1"}},
	})
	q, logs := testQueue(t, Options{Resolver: res, MXPort: m.port, RootCAs: pool, HTTPSPort: httpsPort, TLS: TLSOff})
	enqueue(t, q, "alice@local.test", []string{"bob@remote.test"}, testMessage("sts"))
	enqueue(t, q, "alice@local.test", []string{"bob@bad.test"}, testMessage("stsbad"))
	waitFor(t, 5*time.Second, "delivery", func() bool { return len(m.messages()) == 1 })
	waitFor(t, 5*time.Second, "a deferral", func() bool { return strings.Contains(logs.String(), "dsn=4.7.5") })
	if g := m.messages()[0]; !g.tls || !strings.Contains(string(g.data), "Subject: sts") {
		t.Errorf("with tls = off, the enforce policy still needs TLS: %+v", g)
	}
	time.Sleep(200 * time.Millisecond)
	if len(m.messages()) != 1 {
		t.Error("delivered to an MX outside the policy")
	}

	// Without trusting the MX certificate, enforce refuses to send.
	q2, logs2 := testQueue(t, Options{Resolver: res, MXPort: m.port, RootCAs: httpsPool2(t, httpsCfg), HTTPSPort: httpsPort})
	enqueue(t, q2, "alice@local.test", []string{"carol@remote.test"}, testMessage("stsuntrusted"))
	waitFor(t, 5*time.Second, "a deferral", func() bool { return strings.Contains(logs2.String(), "status=deferred") })
	if len(m.messages()) != 1 {
		t.Error("sent to an MX whose certificate does not verify")
	}
}

// httpsPool2 trusts only the policy server's certificate.
func httpsPool2(t *testing.T, cfg *tls.Config) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	p.AddCert(cfg.Certificates[0].Leaf)
	return p
}

// TestSTSCacheSurvivesRestart: a policy fetched once still applies after
// a restart when its TXT record has gone (RFC 8461 5.1), until it expires.
func TestSTSCacheSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, res := startDNS(t, map[string]mockdns.Zone{}) // no _mta-sts record at all
	log := slog.New(slog.DiscardHandler)
	c1 := newSTSCache(res, http.DefaultClient, dir)
	p := stsPolicy{Mode: stsEnforce, MX: []string{"mx.remote.test"}, MaxAge: time.Hour}
	c1.store("remote.test", stsEntry{ID: "1", Policy: p, Expires: time.Now().Add(time.Hour)})
	c1.store("old.test", stsEntry{ID: "1", Policy: p, Expires: time.Now().Add(-time.Second)})

	c2 := newSTSCache(res, http.DefaultClient, dir)
	got := c2.policy(context.Background(), "remote.test", log)
	if got == nil || got.Mode != stsEnforce || !got.matches("mx.remote.test") {
		t.Fatalf("after restart: %+v", got)
	}
	if got := c2.policy(context.Background(), "old.test", log); got != nil {
		t.Errorf("an expired policy applies: %+v", got)
	}
	if got := c2.policy(context.Background(), "../etc", log); got != nil {
		t.Errorf("a path as domain: %+v", got)
	}
}
