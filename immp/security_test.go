package immp

import (
	"bufio"
	"context"
	"crypto/tls"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/internal/throttle"
)

// TestTrustedNetworks: the VERIFY commands from outside the trusted
// networks only for a logged-in user's own account (profile 8).
func TestTrustedNetworks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.TrustedNetworks = []netip.Prefix{mustPrefix(t, "127.0.0.1/32")} })
	in := e.dial()
	run(t, in, []step{
		{`VERIFYINSPAMGUARDAGENT "" bob@example.org`, "OK", nil},
		{`VERIFYSUBINBOX INBOX bob@example.org`, "OK", nil},
	})
	out := e.dialFrom("127.0.0.2")
	out.send(`VERIFYINSPAMGUARDAGENT "" bob@example.org`, `VERIFYSUBINBOX INBOX alice@example.org`)
	out.expect("NO [NOPERM] Not allowed from this address", "NO [NOPERM] Not allowed from this address")
	run(t, out, []step{
		{`VERIFYSUBINBOX INBOX nobody@example.org`, "NO [NOPERM]", nil}, // no oracle for who exists
		{"LOGIN anonymous x", "OK", nil},
		{`VERIFYSUBINBOX INBOX alice@example.org`, "NO [NOPERM]", nil},
	})
	out2 := e.dialFrom("127.0.0.2")
	out2.login("alice")
	run(t, out2, []step{
		{`VERIFYINSPAMGUARDAGENT "" alice@example.org`, "OK", nil},
		{`VERIFYINSPAMGUARDAGENT "" work/Alice@Example.org`, "OK", nil},
		{`VERIFYSUBINBOX INBOX alice+x@example.org`, "OK", nil},
		{`VERIFYSUBINBOX nothere alice@example.org`, "NO [NONEXISTENT]", nil},
		{`VERIFYINSPAMGUARDAGENT "" bob@example.org`, "NO [NOPERM]", nil},
		{`VERIFYSUBINBOX INBOX bob@example.org`, "NO [NOPERM]", nil},
		{`VERIFYSUBINBOX INBOX nobody@example.org`, "NO [NOPERM]", nil},
	})
}

// TestLoginFailuresIdentical: the same reply whether the user or the
// password was wrong (draft 7, profile 4).
func TestLoginFailuresIdentical(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	want := "NO [AUTHENTICATIONFAILED] Invalid credentials"
	for _, cmd := range []string{
		"LOGIN alice@example.org wrong",
		"LOGIN nobody@example.org secret",
		"LOGIN nobody secret",
		`LOGIN "not an address" secret`,
		`LOGIN alice@example.org ""`,
		"AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHdyb25n",     // alice / wrong
		"AUTHENTICATE PLAIN AG5vYm9keUBleGFtcGxlLm9yZwBzZWNyZXQ=", // nobody / secret
		"AUTHENTICATE PLAIN =",
		"AUTHENTICATE PLAIN Ym9iQGV4YW1wbGUub3JnAGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==", // authz bob as alice
	} {
		out := c.cmd("F " + cmd)
		if got := strings.TrimPrefix(out[len(out)-1], "F "); got != want {
			t.Errorf("%s: %q, want %q", cmd, got, want)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	c.send("A AUTHENTICATE PLAIN")
	c.expect("+ ")
	c.send("*")
	c.expect("A BAD AUTHENTICATE cancelled")
	c.send("B AUTHENTICATE PLAIN")
	c.expect("+ ")
	c.send("!!!")
	c.expect("B BAD Invalid base64 in response")
	c.send("C AUTHENTICATE PLAIN !!!")
	c.expect("C BAD Invalid base64 in initial response")
	c.send("D AUTHENTICATE CRAM-MD5")
	c.expect("D NO Unsupported authentication mechanism")
	// Authorization identity equal to the user is fine; bare local part too.
	c.send("E AUTHENTICATE plain YWxpY2UAYWxpY2UAc2VjcmV0") // alice\0alice\0secret
	c.expect("E OK AUTHENTICATE completed")
	c.ok("G CREATE work")
}

// TestThrottle: repeated failures from one address are slowed down, other
// clients are not (draft 7, profile 4). Password hashing takes its own
// time, so the test compares orders, not absolute times: another address
// logging in during the delay finishes first.
func TestThrottle(t *testing.T) {
	t.Parallel()
	const delay = 1500 * time.Millisecond
	lim := throttle.New(throttle.Options{Free: 2, Base: delay, Max: delay})
	e := newEnv(t, func(o *Options) { o.Throttle = lim })
	c := e.dial()
	for i := 0; i < 2; i++ {
		c.cmd("F LOGIN alice@example.org wrong")
	}
	o := e.dialFrom("127.0.0.2")
	type reply struct {
		line string
		at   time.Time
	}
	otherDone := make(chan reply, 1)
	start := time.Now()
	c.send("F LOGIN alice@example.org secret")
	o.send("O LOGIN bob@example.org secret")
	go func() {
		l, _ := o.r.ReadString('\n')
		otherDone <- reply{l, time.Now()}
	}()
	c.expect("F OK LOGIN completed")
	done := time.Now()
	if slowed := done.Sub(start); slowed < delay {
		t.Errorf("third attempt took %v, want >= %v", slowed, delay)
	}
	od := <-otherDone
	if od.line != "O OK LOGIN completed\r\n" {
		t.Fatalf("other login: %q", od.line)
	}
	if od.at.After(done) {
		t.Errorf("another address's login finished after the throttled one (%v later)", od.at.Sub(done))
	}
	// Success resets the counter.
	if d := lim.Delay(netip.MustParseAddr("127.0.0.1"), ""); d != 0 {
		t.Errorf("delay after success %v", d)
	}
}

// TestCleartextPasswords: LOGINDISABLED and PRIVACYREQUIRED on cleartext
// from a non-loopback peer (profile 1). The server's loopback set is
// narrowed to 127.0.0.1 so that 127.0.0.2 plays a remote peer.
func TestCleartextPasswords(t *testing.T) {
	t.Parallel()
	narrow := func(s *Server) { s.loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} }
	e := newEnvS(t, narrow)
	c := e.dialFrom("127.0.0.2")
	run(t, c, []step{
		{"CAPABILITY", "OK", []string{"* CAPABILITY IMMP LITERAL+ SASL-IR STARTTLS LOGINDISABLED"}},
		{"LOGIN alice@example.org secret", "NO [PRIVACYREQUIRED]", nil},
		{"AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==", "NO [PRIVACYREQUIRED]", nil},
	})
	c.send("S STARTTLS")
	c.expect("S OK Begin TLS negotiation now")
	tc := tls.Client(c.nc, e.clientTLS)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.nc, c.r = tc, bufio.NewReader(tc)
	run(t, c, []step{
		{"CAPABILITY", "OK", []string{"* CAPABILITY IMMP LITERAL+ SASL-IR AUTH=PLAIN"}},
		{"LOGIN alice@example.org secret", "OK", nil},
		{"CREATE work", "OK", nil},
	})

	e2 := newEnvS(t, narrow, func(o *Options) { o.AllowInsecureAuth = true })
	c2 := e2.dialFrom("127.0.0.2")
	run(t, c2, []step{
		{"CAPABILITY", "OK", []string{"* CAPABILITY IMMP LITERAL+ SASL-IR STARTTLS AUTH=PLAIN"}},
		{"LOGIN alice@example.org secret", "OK", nil},
	})
}

func TestStartTLSRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	// Pipelined data after STARTTLS would be injected into TLS.
	c.send("S STARTTLS\r\nN NOOP")
	c.expect("S BAD [CLIENTBUG] Data after STARTTLS", "N OK NOOP completed")
	e2 := newEnv(t, func(o *Options) { o.TLSConfig = nil })
	c2 := e2.dial()
	run(t, c2, []step{
		{"CAPABILITY", "OK", []string{"* CAPABILITY IMMP LITERAL+ SASL-IR AUTH=PLAIN"}},
		{"STARTTLS", "BAD", nil},
	})
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tc, err := tls.Dial("tcp", e.tlsAddr, e.clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	c := &rawConn{t: t, nc: tc, r: bufio.NewReader(tc)}
	c.expect("* OK [CAPABILITY IMMP LITERAL+ SASL-IR AUTH=PLAIN] IMMP server ready")
	c.login("alice@example.org")
	c.send("T STARTTLS")
	c.expect("T BAD Command not valid in this state")
}

func TestNewRejectsShortIdleTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := New(Options{Store: e.store, Guard: e.guard, IdleTimeout: 29 * time.Minute})
	if err == nil {
		t.Fatal("idle timeout below 30 minutes accepted")
	}
	if _, err := New(Options{Guard: e.guard}); err == nil {
		t.Fatal("no store accepted")
	}
	s, err := New(Options{Store: e.store, Guard: e.guard})
	if err != nil || s.idle != MinIdleTimeout {
		t.Fatalf("default idle %v %v", s.idle, err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
