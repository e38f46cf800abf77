package outbound

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	gosmtp "github.com/emersion/go-smtp"
	"github.com/foxcpp/go-mockdns"
)

// TestMXAndAddressFallback: the preferred MX refuses connections, the
// next one takes the mail; a domain without MX gets it at its A record
// (RFC 5321 5.1); one connection carries several messages (reuse).
func TestMXAndAddressFallback(t *testing.T) {
	t.Parallel()
	m := startMX(t, nil)
	_, res := startDNS(t, map[string]mockdns.Zone{
		"remote.test":      {MX: []net.MX{{Host: "down.remote.test.", Pref: 5}, {Host: "mx.remote.test.", Pref: 10}}},
		"down.remote.test": {A: []string{"127.0.0.2"}},
		"mx.remote.test":   {A: []string{"127.0.0.1"}},
		"plain.test":       {A: []string{"127.0.0.1"}},
	})
	m.delay = 50 * time.Millisecond // the first message is in flight while the others queue
	q, logs := testQueue(t, Options{Resolver: res, MXPort: m.port, MaxConnsPerDest: 1})
	for _, s := range []string{"one", "two", "three"} {
		enqueue(t, q, "alice@local.test", []string{"bob@remote.test", "carol@remote.test"}, testMessage(s))
	}
	enqueue(t, q, "alice@local.test", []string{"dave@plain.test"}, testMessage("four"))
	waitFor(t, 10*time.Second, "4 messages", func() bool { return len(m.messages()) == 4 })
	waitFor(t, 5*time.Second, "an empty queue", func() bool { n, _ := q.Stats(); return n == 0 })
	for _, g := range m.messages() {
		if strings.Contains(string(g.data), "four") {
			if len(g.rcpts) != 1 || g.rcpts[0] != "dave@plain.test" {
				t.Errorf("plain.test message went to %v", g.rcpts)
			}
			continue
		}
		if len(g.rcpts) != 2 {
			t.Errorf("remote.test message: %d recipients in one transaction, want 2", len(g.rcpts))
		}
	}
	l := logs.String()
	for _, want := range []string{"relay=mx.remote.test[127.0.0.1]:" + portStr(m.port), "relay=plain.test[127.0.0.1]:", "status=sent (250 ", "to=<carol@remote.test>"} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %q:\n%s", want, l)
		}
	}
	if strings.Contains(l, "relay=down.remote.test") && strings.Contains(l, "status=sent") && strings.Count(l, "relay=down.remote.test") > 0 {
		// the down MX appears only in a failure, never as where mail went
		for _, line := range strings.Split(l, "\n") {
			if strings.Contains(line, "relay=down.remote.test") && strings.Contains(line, "status=sent") {
				t.Errorf("sent through a host that refuses connections: %s", line)
			}
		}
	}
	m.mu.Lock()
	conns := m.conns
	m.mu.Unlock()
	if conns != 2 {
		t.Errorf("%d connections for 4 messages to 2 domains, one connection each at most: no reuse", conns)
	}
}

// TestNullMX: RFC 7505 null MX fails at once with 5.1.10 and a bounce.
func TestNullMX(t *testing.T) {
	t.Parallel()
	_, res := startDNS(t, map[string]mockdns.Zone{
		"nomail.test": {MX: []net.MX{{Host: ".", Pref: 0}}, A: []string{"127.0.0.1"}},
	})
	b := &bounces{domain: "local.test"}
	q, logs := testQueue(t, Options{Resolver: res, MXPort: 1, Local: b})
	enqueue(t, q, "alice@local.test", []string{"x@nomail.test"}, testMessage("nullmx"))
	waitFor(t, 5*time.Second, "a bounce", func() bool { return len(b.to("alice@local.test")) == 1 })
	dsn := parseDSN(t, b.to("alice@local.test")[0])
	if dsn["Status"] != "5.1.10" || dsn["Final-Recipient"] != "rfc822; x@nomail.test" || dsn["Action"] != "failed" {
		t.Errorf("DSN fields %v", dsn)
	}
	if !strings.Contains(logs.String(), "status=bounced") {
		t.Errorf("no bounced line:\n%s", logs)
	}
}

// parseDSN checks a bounce is a multipart/report of report-type
// delivery-status (RFC 6522, RFC 3464) and returns its recipient fields.
func parseDSN(t testing.TB, raw []byte) map[string]string {
	t.Helper()
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("bounce does not parse: %v\n%s", err, raw)
	}
	ct, params, _ := e.Header.ContentType()
	if ct != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("bounce is %s %v", ct, params)
	}
	if from := e.Header.Get("From"); !strings.Contains(from, "MAILER-DAEMON@") {
		t.Errorf("bounce From %q", from)
	}
	mr := e.MultipartReader()
	fields := map[string]string{}
	var kinds []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		pct, _, _ := p.Header.ContentType()
		kinds = append(kinds, pct)
		if pct == "message/delivery-status" {
			var body bytes.Buffer
			body.ReadFrom(p.Body)
			for _, line := range strings.Split(body.String(), "\r\n") {
				if k, v, ok := strings.Cut(line, ": "); ok {
					fields[k] = v
				}
			}
		}
	}
	if strings.Join(kinds, ",") != "text/plain,message/delivery-status,text/rfc822-headers" {
		t.Errorf("parts %v", kinds)
	}
	return fields
}

// TestRetryThenSuccess: a 4xx is retried with backoff until accepted.
func TestRetryThenSuccess(t *testing.T) {
	t.Parallel()
	m := startMX(t, nil)
	m.dataReply = func(n int) error {
		if n <= 2 {
			return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
		return nil
	}
	_, res := startDNS(t, map[string]mockdns.Zone{"remote.test": {A: []string{"127.0.0.1"}}})
	q, logs := testQueue(t, Options{Resolver: res, MXPort: m.port})
	start := time.Now()
	enqueue(t, q, "alice@local.test", []string{"bob@remote.test"}, testMessage("retry"))
	waitFor(t, 10*time.Second, "delivery after two 451", func() bool { return len(m.messages()) == 1 })
	// 100ms then 200ms of backoff at least.
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("delivered after %v: no backoff", d)
	}
	if n := strings.Count(logs.String(), "status=deferred (451 4.3.0 try later)"); n != 2 {
		t.Errorf("%d deferred lines, want 2:\n%s", n, logs)
	}
}

// TestPermanentFailureBounces: a 5xx fails one recipient for good (a
// DSN to the sender), while the other recipient is delivered.
func TestPermanentFailureBounces(t *testing.T) {
	t.Parallel()
	m := startMX(t, nil)
	m.rcptReply = func(to string) error {
		if strings.HasPrefix(to, "nobody@") {
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}
	_, res := startDNS(t, map[string]mockdns.Zone{"remote.test": {A: []string{"127.0.0.1"}}})
	b := &bounces{domain: "local.test"}
	q, _ := testQueue(t, Options{Resolver: res, MXPort: m.port, Local: b})
	enqueue(t, q, "alice@local.test", []string{"nobody@remote.test", "bob@remote.test"}, testMessage("perm"))
	waitFor(t, 5*time.Second, "a bounce", func() bool { return len(b.to("alice@local.test")) == 1 })
	dsn := parseDSN(t, b.to("alice@local.test")[0])
	if dsn["Status"] != "5.1.1" || !strings.Contains(dsn["Diagnostic-Code"], "smtp; 550 5.1.1 no such user") || dsn["Remote-MTA"] != "dns; remote.test" {
		t.Errorf("DSN %v", dsn)
	}
	if got := m.messages(); len(got) != 1 || len(got[0].rcpts) != 1 || got[0].rcpts[0] != "bob@remote.test" {
		t.Errorf("MX got %+v", got)
	}
	waitFor(t, 5*time.Second, "an empty queue", func() bool { n, _ := q.Stats(); return n == 0 })
	time.Sleep(300 * time.Millisecond)
	if n := len(b.to("alice@local.test")); n != 1 {
		t.Errorf("%d bounces, want exactly 1", n)
	}
}

// TestNoBounceForNullSender: a failing message from <> (a bounce itself)
// is dropped, never bounced (RFC 5321 4.5.5).
func TestNoBounceForNullSender(t *testing.T) {
	t.Parallel()
	m := startMX(t, nil)
	m.rcptReply = func(string) error {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no"}
	}
	_, res := startDNS(t, map[string]mockdns.Zone{"remote.test": {A: []string{"127.0.0.1"}}})
	b := &bounces{domain: "local.test"}
	q, logs := testQueue(t, Options{Resolver: res, MXPort: m.port, Local: b})
	enqueue(t, q, "", []string{"x@remote.test"}, testMessage("null"))
	waitFor(t, 5*time.Second, "an empty queue", func() bool { n, _ := q.Stats(); return n == 0 })
	if !strings.Contains(logs.String(), "no bounce for a message from the null sender") {
		t.Errorf("log:\n%s", logs)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.got) != 0 {
		t.Errorf("bounced: %v", b.got)
	}
}

// TestExpiry: a recipient deferred past MaxAge fails with 4.4.7 and is
// bounced once.
func TestExpiry(t *testing.T) {
	t.Parallel()
	m := startMX(t, nil)
	m.rcptReply = func(string) error {
		return &gosmtp.SMTPError{Code: 452, EnhancedCode: gosmtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"}
	}
	_, res := startDNS(t, map[string]mockdns.Zone{"remote.test": {A: []string{"127.0.0.1"}}})
	b := &bounces{domain: "local.test"}
	q, logs := testQueue(t, Options{Resolver: res, MXPort: m.port, Local: b, MaxAge: 700 * time.Millisecond})
	enqueue(t, q, "alice@local.test", []string{"bob@remote.test"}, testMessage("expire"))
	waitFor(t, 10*time.Second, "a bounce", func() bool { return len(b.to("alice@local.test")) == 1 })
	dsn := parseDSN(t, b.to("alice@local.test")[0])
	if dsn["Status"] != "4.4.7" || !strings.Contains(dsn["Diagnostic-Code"], "mailbox full") {
		t.Errorf("DSN %v", dsn)
	}
	if !strings.Contains(logs.String(), "status=deferred") {
		t.Errorf("never deferred before expiring:\n%s", logs)
	}
	waitFor(t, 5*time.Second, "an empty queue", func() bool { n, _ := q.Stats(); return n == 0 })
}

// TestTLSRequiredWithoutSTARTTLS: tls = required against a server that
// offers no STARTTLS defers the mail; nothing is sent in clear.
func TestTLSRequiredWithoutSTARTTLS(t *testing.T) {
	t.Parallel()
	m := startMX(t, nil)
	_, res := startDNS(t, map[string]mockdns.Zone{"remote.test": {A: []string{"127.0.0.1"}}})
	q, logs := testQueue(t, Options{Resolver: res, MXPort: m.port, TLS: TLSRequired})
	enqueue(t, q, "alice@local.test", []string{"bob@remote.test"}, testMessage("clear"))
	waitFor(t, 5*time.Second, "a deferral", func() bool { return strings.Contains(logs.String(), "status=deferred") })
	time.Sleep(300 * time.Millisecond)
	if got := m.messages(); len(got) != 0 {
		t.Fatalf("sent in clear: %+v", got)
	}
	if !strings.Contains(logs.String(), "dsn=4.7.4") {
		t.Errorf("log:\n%s", logs)
	}
	if n, _ := q.Stats(); n != 1 {
		t.Errorf("queue holds %d, want the message still queued", n)
	}
}

// TestOpportunisticTLS: STARTTLS is used when offered, whatever the
// certificate; required then works too.
func TestOpportunisticTLS(t *testing.T) {
	t.Parallel()
	cfg, _ := certFor(t, "someone-else.test")
	m := startMX(t, cfg)
	_, res := startDNS(t, map[string]mockdns.Zone{"remote.test": {A: []string{"127.0.0.1"}}})
	for _, mode := range []string{TLSOpportunistic, TLSRequired} {
		q, _ := testQueue(t, Options{Resolver: res, MXPort: m.port, TLS: mode})
		enqueue(t, q, "alice@local.test", []string{"bob@remote.test"}, testMessage(mode))
		waitFor(t, 5*time.Second, "delivery", func() bool { n, _ := q.Stats(); return n == 0 })
	}
	for _, g := range m.messages() {
		if !g.tls {
			t.Errorf("message sent without TLS although STARTTLS was offered")
		}
	}
	if len(m.messages()) != 2 {
		t.Errorf("%d messages", len(m.messages()))
	}
}

// TestTLSVerify: tls = verify sends only over TLS whose certificate a
// trusted CA issued for the MX host's name; an untrusted certificate, or
// a trusted one for another name, defers the mail and sends nothing.
func TestTLSVerify(t *testing.T) {
	t.Parallel()
	good, pool := certFor(t, "mx.remote.test")
	other, otherPool := certFor(t, "someone-else.test")
	zone := map[string]mockdns.Zone{
		"remote.test":    {MX: []net.MX{{Host: "mx.remote.test.", Pref: 10}}},
		"mx.remote.test": {A: []string{"127.0.0.1"}},
	}
	_, res := startDNS(t, zone)
	for _, c := range []struct {
		name  string
		cert  *tls.Config
		roots *x509.CertPool
		sent  bool
	}{
		{"trusted, right name", good, pool, true},
		{"untrusted", good, otherPool, false},
		{"trusted, wrong name", other, otherPool, false},
	} {
		m := startMX(t, c.cert)
		q, logs := testQueue(t, Options{Resolver: res, MXPort: m.port, TLS: TLSVerify, RootCAs: c.roots})
		enqueue(t, q, "alice@local.test", []string{"bob@remote.test"}, testMessage(c.name))
		if c.sent {
			waitFor(t, 5*time.Second, c.name+": delivery", func() bool { n, _ := q.Stats(); return n == 0 })
			if g := m.messages(); len(g) != 1 || !g[0].tls {
				t.Errorf("%s: delivered %+v, want once over TLS", c.name, g)
			}
			continue
		}
		waitFor(t, 5*time.Second, c.name+": a deferral", func() bool { return strings.Contains(logs.String(), "status=deferred") })
		if got := m.messages(); len(got) != 0 {
			t.Errorf("%s: sent although the certificate does not verify", c.name)
		}
		if !strings.Contains(logs.String(), "dsn=4.7.5") {
			t.Errorf("%s: log:\n%s", c.name, logs)
		}
	}
}

// TestRelayWithAuth: the smarthost gets AUTH PLAIN over STARTTLS with a
// certificate valid for its name, and the mail goes there whatever the
// recipient domain.
func TestRelayWithAuth(t *testing.T) {
	t.Parallel()
	cfg, pool := certFor(t, "relay.test")
	m := startMX(t, cfg)
	m.needAuth = true
	_, res := startDNS(t, map[string]mockdns.Zone{"relay.test": {A: []string{"127.0.0.1"}}})
	q, logs := testQueue(t, Options{Resolver: res, Relay: "relay.test:" + portStr(m.port),
		RelayUsername: "user", RelayPassword: "secret", RootCAs: pool})
	enqueue(t, q, "alice@local.test", []string{"bob@anywhere.test", "carol@elsewhere.test"}, testMessage("relay"))
	waitFor(t, 5*time.Second, "relayed mail", func() bool { n, _ := q.Stats(); return n == 0 })
	got := m.messages()
	if len(got) != 1 || !got[0].tls || got[0].auth != "user" || len(got[0].rcpts) != 2 {
		t.Fatalf("relay got %+v\n%s", got, logs)
	}

	// A wrong password defers (4.7.8), it does not bounce.
	b := &bounces{domain: "local.test"}
	q2, logs2 := testQueue(t, Options{Resolver: res, Relay: "relay.test:" + portStr(m.port),
		RelayUsername: "user", RelayPassword: "wrong", RootCAs: pool, Local: b})
	enqueue(t, q2, "alice@local.test", []string{"bob@anywhere.test"}, testMessage("badauth"))
	waitFor(t, 5*time.Second, "a deferral", func() bool { return strings.Contains(logs2.String(), "status=deferred") })
	if !strings.Contains(logs2.String(), "dsn=4.7.8") || len(b.to("alice@local.test")) != 0 {
		t.Errorf("log:\n%s", logs2)
	}

	// An untrusted certificate gets no password.
	q3, logs3 := testQueue(t, Options{Resolver: res, Relay: "relay.test:" + portStr(m.port),
		RelayUsername: "user", RelayPassword: "secret"})
	enqueue(t, q3, "alice@local.test", []string{"bob@anywhere.test"}, testMessage("untrusted"))
	waitFor(t, 5*time.Second, "a deferral", func() bool { return strings.Contains(logs3.String(), "status=deferred") })
	if len(m.messages()) != 1 {
		t.Errorf("relayed with an unverified certificate")
	}
}

// TestRelayImplicitTLS: port 465 is TLS from the first octet (RFC 8314).
func TestRelayImplicitTLS(t *testing.T) {
	t.Parallel()
	cfg, pool := certFor(t, "relay.test")
	m := startMX(t, nil)
	m.needAuth = true
	m.srv.TLSConfig = cfg
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	go m.srv.Serve(ln)
	_, res := startDNS(t, map[string]mockdns.Zone{"relay.test": {A: []string{"127.0.0.1"}}})
	port := ln.Addr().(*net.TCPAddr).Port
	q, _ := testQueue(t, Options{Resolver: res, Relay: "relay.test:" + portStr(port), RelayImplicitTLS: true,
		RelayUsername: "user", RelayPassword: "secret", RootCAs: pool})
	enqueue(t, q, "alice@local.test", []string{"bob@anywhere.test"}, testMessage("implicit"))
	waitFor(t, 5*time.Second, "relayed mail", func() bool { return len(m.messages()) == 1 })
	if g := m.messages()[0]; !g.tls || g.auth != "user" {
		t.Errorf("got %+v", g)
	}
}

// TestConcurrencyBounds: never more connections to one destination than
// MaxConnsPerDest, nor in all than MaxConns.
func TestConcurrencyBounds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		perDest, total int
		domains        []string
		want           int
	}{
		{"per destination", 2, 10, []string{"remote.test"}, 2},
		{"in total", 5, 3, []string{"a.test", "b.test", "c.test"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := startMX(t, nil)
			m.delay = 20 * time.Millisecond
			zones := map[string]mockdns.Zone{}
			for _, d := range tc.domains {
				zones[d] = mockdns.Zone{A: []string{"127.0.0.1"}}
			}
			_, res := startDNS(t, zones)
			// Everything is queued before the runner starts, so it could
			// open a connection per message if nothing bounded it.
			q, err := Open(Options{Dir: t.TempDir(), Local: &bounces{}, Resolver: res, MXPort: m.port,
				MaxConnsPerDest: tc.perDest, MaxConns: tc.total})
			if err != nil {
				t.Fatal(err)
			}
			defer q.Shutdown(context.Background())
			n := 0
			for i := 0; i < 12; i++ {
				for _, d := range tc.domains {
					enqueue(t, q, "alice@local.test", []string{"bob@" + d}, testMessage("c"))
					n++
				}
			}
			q.Run()
			waitFor(t, 20*time.Second, "every delivery", func() bool { return len(m.messages()) == n })
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.maxInData > tc.want || m.maxInData < 2 {
				t.Errorf("%d transfers at once, want at most %d (and some parallelism)", m.maxInData, tc.want)
			}
		})
	}
}

// TestOpportunisticFallback: when STARTTLS is offered but the handshake
// fails, opportunistic TLS sends in clear over a new connection (as
// Postfix does); required TLS defers.
func TestOpportunisticFallback(t *testing.T) {
	t.Parallel()
	m := startMX(t, &tls.Config{}) // offers STARTTLS, has no certificate
	_, res := startDNS(t, map[string]mockdns.Zone{"remote.test": {A: []string{"127.0.0.1"}}})
	q, _ := testQueue(t, Options{Resolver: res, MXPort: m.port})
	enqueue(t, q, "alice@local.test", []string{"bob@remote.test"}, testMessage("fallback"))
	waitFor(t, 5*time.Second, "delivery", func() bool { return len(m.messages()) == 1 })
	if m.messages()[0].tls {
		t.Error("TLS reported although the handshake cannot succeed")
	}
	q2, logs2 := testQueue(t, Options{Resolver: res, MXPort: m.port, TLS: TLSRequired})
	enqueue(t, q2, "alice@local.test", []string{"bob@remote.test"}, testMessage("noclear"))
	waitFor(t, 5*time.Second, "a deferral", func() bool { return strings.Contains(logs2.String(), "status=deferred") })
	if len(m.messages()) != 1 || !strings.Contains(logs2.String(), "dsn=4.7.5") {
		t.Errorf("required TLS: %d messages; log:\n%s", len(m.messages()), logs2)
	}
}

// TestDelayWarning: a recipient still deferred after DelayWarning gets
// its sender one "delayed" DSN, and later the mail is delivered.
func TestDelayWarning(t *testing.T) {
	t.Parallel()
	m := startMX(t, nil)
	m.dataReply = func(n int) error {
		if n <= 4 {
			return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "busy"}
		}
		return nil
	}
	_, res := startDNS(t, map[string]mockdns.Zone{"remote.test": {A: []string{"127.0.0.1"}}})
	b := &bounces{domain: "local.test"}
	q, _ := testQueue(t, Options{Resolver: res, MXPort: m.port, Local: b, RetryInitial: 50 * time.Millisecond, DelayWarning: 100 * time.Millisecond})
	enqueue(t, q, "alice@local.test", []string{"bob@remote.test"}, testMessage("slow"))
	waitFor(t, 10*time.Second, "delivery", func() bool { return len(m.messages()) == 1 })
	waitFor(t, 5*time.Second, "an empty queue", func() bool { n, _ := q.Stats(); return n == 0 })
	got := b.to("alice@local.test")
	if len(got) != 1 {
		t.Fatalf("%d notifications, want one delay warning", len(got))
	}
	dsn := parseDSN(t, got[0])
	if dsn["Action"] != "delayed" || dsn["Status"] != "4.3.0" || dsn["Will-Retry-Until"] == "" {
		t.Errorf("delay DSN %v", dsn)
	}
}

// TestBounceToRemoteSender: a remote sender's bounce goes through the
// queue to the sender's MX, from the null sender.
func TestBounceToRemoteSender(t *testing.T) {
	t.Parallel()
	m := startMX(t, nil)
	m.rcptReply = func(to string) error {
		if strings.HasPrefix(to, "nobody@") {
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "unknown"}
		}
		return nil
	}
	_, res := startDNS(t, map[string]mockdns.Zone{
		"remote.test": {A: []string{"127.0.0.1"}},
		"sender.test": {A: []string{"127.0.0.1"}},
	})
	q, _ := testQueue(t, Options{Resolver: res, MXPort: m.port})
	enqueue(t, q, "app@sender.test", []string{"nobody@remote.test"}, testMessage("remote-bounce"))
	waitFor(t, 5*time.Second, "the bounce at the sender's MX", func() bool { return len(m.messages()) == 1 })
	g := m.messages()[0]
	if g.from != "" || len(g.rcpts) != 1 || g.rcpts[0] != "app@sender.test" {
		t.Fatalf("bounce envelope from <%s> to %v", g.from, g.rcpts)
	}
	if dsn := parseDSN(t, g.data); dsn["Status"] != "5.1.1" {
		t.Errorf("DSN %v", dsn)
	}
	waitFor(t, 5*time.Second, "an empty queue", func() bool { n, _ := q.Stats(); return n == 0 })
}

// TestConnectionLimitedDestination: an MX that takes only two
// connections at once (451 to a third EHLO) gets every message over the
// connections it accepts, none deferred.
func TestConnectionLimitedDestination(t *testing.T) {
	t.Parallel()
	m := startMX(t, nil)
	m.delay = 10 * time.Millisecond
	m.maxSessions = 2
	_, res := startDNS(t, map[string]mockdns.Zone{"remote.test": {A: []string{"127.0.0.1"}}})
	q, err := Open(Options{Dir: t.TempDir(), Local: &bounces{}, Resolver: res, MXPort: m.port, MaxConnsPerDest: 5, RetryInitial: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Shutdown(context.Background())
	for i := 0; i < 30; i++ {
		enqueue(t, q, "alice@local.test", []string{"bob@remote.test"}, testMessage("limited"))
	}
	q.Run()
	waitFor(t, 20*time.Second, "30 deliveries without a deferral", func() bool { return len(m.messages()) == 30 })
}
