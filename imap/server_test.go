package imap

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/immp-mail/immp/internal/metrics"
	"github.com/immp-mail/immp/internal/testcert"
	"github.com/immp-mail/immp/internal/throttle"
)

func TestCapabilities(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	e := newEnv(t, envOptions{mutate: func(o *Options) { o.Metrics = m }})
	e.account("alice@example.org")
	c := e.client("alice@example.org", nil)
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []imap.Cap{"IMAP4rev1", "IMAP4rev2", "IDLE", "MOVE", "UIDPLUS", "NAMESPACE",
		"SPECIAL-USE", "CHILDREN", "LIST-STATUS", "LIST-EXTENDED", "STATUS=SIZE", "LITERAL+", "ESEARCH",
		"UNSELECT", "ENABLE", "SEARCHRES"} {
		if !caps.Has(want) {
			t.Errorf("capability %s missing from %v", want, caps)
		}
	}
	found := false
	for c := range caps {
		if strings.HasPrefix(string(c), "APPENDLIMIT=") {
			found = true
		}
	}
	if !found {
		t.Errorf("APPENDLIMIT= missing from %v", caps)
	}
	ns, err := c.Namespace().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(ns.Personal) != 1 || ns.Personal[0].Prefix != "" || ns.Personal[0].Delim != '/' {
		t.Errorf("namespace = %+v", ns.Personal)
	}
	// One command outcome counted per command, connections counted.
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range families {
		for _, mm := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range mm.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if f.GetName() == "immp_imap_commands_total" && labels["command"] == "LOGIN" && labels["result"] == "OK" {
				seen["login"] = true
			}
			if f.GetName() == "immp_connections_total" && labels["protocol"] == "imap" {
				seen["conn"] = true
			}
		}
	}
	if !seen["login"] || !seen["conn"] {
		t.Errorf("metrics missing: %v", seen)
	}
}

// Unknown user and wrong password must be indistinguishable (draft 7).
func TestLoginFailureSameAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.account("alice@example.org")
	try := func(user, pass string) error {
		c, err := imapclient.DialInsecure(e.addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.Login(user, pass).Wait()
	}
	e1 := try("alice@example.org", "wrong")
	e2 := try("nobody@example.org", "wrong")
	var i1, i2 *imap.Error
	if !errors.As(e1, &i1) || !errors.As(e2, &i2) {
		t.Fatalf("want IMAP errors, got %v / %v", e1, e2)
	}
	if i1.Code != imap.ResponseCodeAuthenticationFailed || *i1 != *i2 {
		t.Errorf("bad password %+v vs unknown user %+v", i1, i2)
	}
	// AUTHENTICATE PLAIN works with the right password.
	c, err := imapclient.DialInsecure(e.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(plainClient("alice@example.org", testPassword)); err != nil {
		t.Fatalf("AUTHENTICATE PLAIN: %v", err)
	}
}

func TestThrottleSlowsRepeatedFailures(t *testing.T) {
	t.Parallel()
	lim := throttle.New(throttle.Options{Free: 1, Base: 300 * time.Millisecond, Max: 300 * time.Millisecond})
	e := newEnv(t, envOptions{mutate: func(o *Options) { o.Throttle = lim }})
	e.account("alice@example.org")
	c, err := imapclient.DialInsecure(e.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice@example.org", "bad").Wait(); err == nil {
		t.Fatal("bad password accepted")
	}
	start := time.Now()
	if err := c.Login("alice@example.org", "bad").Wait(); err == nil {
		t.Fatal("bad password accepted")
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("second failure answered after %v, want the throttle's delay", d)
	}
	if lim.Delay(netip.MustParseAddr("127.0.0.1"), "") == 0 {
		t.Error("limiter did not record failures from 127.0.0.1")
	}
}

// Cleartext authentication is for loopback only; elsewhere STARTTLS or the
// implicit-TLS listener.
func TestTLSAndCleartextPolicy(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := testcert.New(t)
	e := newEnv(t, envOptions{mutate: func(o *Options) { o.TLSConfig = serverTLS }})
	e.account("alice@example.org")

	// STARTTLS, then LOGIN.
	c, err := imapclient.DialStartTLS(e.addr, &imapclient.Options{TLSConfig: clientTLS})
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	if err := c.Login("alice@example.org", testPassword).Wait(); err != nil {
		t.Fatalf("login after STARTTLS: %v", err)
	}
	c.Close()

	// Implicit TLS.
	c, err = imapclient.DialTLS(e.tlsAddr, &imapclient.Options{TLSConfig: clientTLS})
	if err != nil {
		t.Fatalf("implicit TLS: %v", err)
	}
	if err := c.Login("alice@example.org", testPassword).Wait(); err != nil {
		t.Fatalf("login over implicit TLS: %v", err)
	}
	c.Close()

	// A client from a non-loopback address must not log in in cleartext.
	ip := nonLoopbackIP(t)
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Skipf("cannot listen on %v: %v", ip, err)
	}
	go e.srv.Serve(ln)
	c, err = imapclient.DialInsecure(ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !caps.Has(imap.CapLoginDisabled) || !caps.Has(imap.CapStartTLS) {
		t.Errorf("non-loopback cleartext caps = %v, want LOGINDISABLED and STARTTLS", caps)
	}
	err = c.Login("alice@example.org", testPassword).Wait()
	if imapCode(err) != imap.ResponseCodePrivacyRequired {
		t.Errorf("cleartext login from %v: %v, want NO [PRIVACYREQUIRED]", ip, err)
	}
}

func nonLoopbackIP(t *testing.T) netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skip(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			ip, _ := netip.AddrFromSlice(n.IP.To4())
			return ip
		}
	}
	t.Skip("no non-loopback IPv4 address")
	return netip.Addr{}
}

func TestIsLoopback(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want bool
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1")}, true},
		{&net.TCPAddr{IP: net.ParseIP("::1")}, true},
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.1")}, false},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8::1")}, false},
	} {
		if got := isLoopback(tc.addr); got != tc.want {
			t.Errorf("isLoopback(%v) = %v", tc.addr, got)
		}
	}
}

func TestShutdownSaysBye(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.account("alice@example.org")
	c := e.client("alice@example.org", nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	e.stop()
	select {
	case <-c.Closed():
	case <-time.After(5 * time.Second):
		t.Fatal("client still connected after Shutdown")
	}
	if _, err := net.DialTimeout("tcp", e.addr, time.Second); err == nil {
		t.Error("listener still accepting after Shutdown")
	}
}
