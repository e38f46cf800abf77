package smtp

import (
	"encoding/base64"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/immp-mail/immp/internal/testcert"
)

func subEnv(t *testing.T, opts Options) *env {
	opts.Submission = true
	return newEnv(t, setup{opts: opts})
}

func TestSubmissionAuthRequired(t *testing.T) {
	t.Parallel()
	e := subEnv(t, Options{})
	c := e.dial()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	if ok, p := c.Extension("AUTH"); !ok || p != "PLAIN LOGIN" {
		t.Fatalf("AUTH = %v %q", ok, p)
	}
	if got := code(c.Mail("alice@example.org", nil)); got != "530 5.7.0" {
		t.Fatalf("MAIL before AUTH: %q", got)
	}
	if got := code(c.Auth(sasl.NewPlainClient("", "alice@example.org", "wrong"))); got != "535 5.7.8" {
		t.Fatalf("wrong password: %q", got)
	}
	if got := code(c.Auth(sasl.NewPlainClient("", "nobody@example.org", "wrong"))); got != "535 5.7.8" {
		t.Fatalf("unknown user: %q", got)
	}
	if strings.Contains(e.logs.String(), "wrong") {
		t.Error("password in the log")
	}
}

func TestSubmissionPlain(t *testing.T) {
	t.Parallel()
	e := subEnv(t, Options{})
	c := e.dial()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.org", "pw-alice")); err != nil {
		t.Fatal(err)
	}
	body := "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nhello bob\r\n"
	errs, err := send(t, c, "alice@example.org", nil, []string{"bob@example.org", "friend@elsewhere.example"}, body)
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil {
		t.Errorf("local recipient: %v", errs[0])
	}
	var se *gosmtp.SMTPError
	if got := code(errs[1]); got != "550 5.7.1" || !strings.Contains(errs[1].Error(), "outbound relay is not configured") {
		t.Errorf("non-local recipient: %q %v", got, errs[1])
	}
	_ = se
	got := e.msgs(e.bob, "INBOX")
	if len(got) != 1 || !strings.Contains(got[0], "(authenticated as alice@example.org)") ||
		!strings.Contains(got[0], "with ESMTPA id") || !strings.HasSuffix(got[0], body) {
		t.Fatalf("got %q", got)
	}
}

func TestSubmissionLogin(t *testing.T) {
	t.Parallel()
	e := subEnv(t, Options{})
	// go-sasl's LOGIN client (initial response = user name).
	c := e.dial()
	if err := c.Auth(sasl.NewLoginClient("bob@example.org", "pw-bob")); err != nil {
		t.Fatal(err)
	}
	errs, err := send(t, c, "bob+lists@example.org", nil, []string{"alice@example.org"},
		"From: bob@example.org\r\nSubject: login\r\n\r\nx\r\n")
	if err != nil || errs[0] != nil {
		t.Fatal(errs, err)
	}
	// The classic exchange without an initial response, as mail clients
	// send it: 334 Username: / 334 Password:.
	r := e.raw()
	r.write("EHLO c\r\nAUTH LOGIN\r\n")
	r.expect(250)
	if msg := r.expect(334); msg != base64.StdEncoding.EncodeToString([]byte("Username:")) {
		t.Fatalf("first challenge %q", msg)
	}
	r.write(base64.StdEncoding.EncodeToString([]byte("alice@example.org")) + "\r\n")
	if msg := r.expect(334); msg != base64.StdEncoding.EncodeToString([]byte("Password:")) {
		t.Fatalf("second challenge %q", msg)
	}
	r.write(base64.StdEncoding.EncodeToString([]byte("pw-alice")) + "\r\n")
	r.expect(235)
	r.write("AUTH LOGIN\r\n")
	r.expect(503) // once per session
}

func TestSubmissionSenderOwnership(t *testing.T) {
	t.Parallel()
	e := subEnv(t, Options{})
	c := e.dial()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.org", "pw-alice")); err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{"bob@example.org", "alice@elsewhere.example", ""} {
		if got := code(c.Mail(from, nil)); got != "550 5.7.1" {
			t.Errorf("MAIL FROM:<%s>: %q, want 550 5.7.1", from, got)
		}
	}
	// Envelope fine, From header someone else's: refused after DATA,
	// nothing stored.
	for _, from := range []string{
		"From: bob@example.org",
		"From: alice@example.org, bob@example.org",
		"From: \"alice@example.org\" <mallory@evil.example>",
		"X-No-From: here",
		"From: alice@example.org\r\nFrom: bob@example.org",
	} {
		_, err := send(t, c, "alice@example.org", nil, []string{"bob@example.org"}, from+"\r\nSubject: x\r\n\r\nbody\r\n")
		if got := code(err); got != "550 5.7.1" {
			t.Errorf("%q: %q, want 550 5.7.1", from, got)
		}
	}
	if n := len(e.msgs(e.bob, "INBOX")); n != 0 {
		t.Errorf("bob got %d forged messages", n)
	}
	// A display name in an unknown charset does not hide a good address.
	errs, err := send(t, c, "alice@example.org", nil, []string{"bob@example.org"},
		"From: =?x-unknown?q?Al=FCce?= <ALICE@example.org>\r\nSubject: ok\r\n\r\nbody\r\n")
	if err != nil || errs[0] != nil {
		t.Fatal(errs, err)
	}
}

func TestSubmissionStartTLSAuth(t *testing.T) {
	t.Parallel()
	server, client := testcert.New(t)
	e := subEnv(t, Options{TLSConfig: server})
	c, err := gosmtp.DialStartTLS(e.addr, client)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.org", "pw-alice")); err != nil {
		t.Fatal(err)
	}
	errs, err := send(t, c, "alice@example.org", nil, []string{"bob@example.org"}, "From: alice@example.org\r\n\r\nx\r\n")
	if err != nil || errs[0] != nil {
		t.Fatal(errs, err)
	}
	if got := e.msgs(e.bob, "INBOX"); len(got) != 1 || !strings.Contains(got[0], "with ESMTPSA") {
		t.Fatalf("got %q", got)
	}
}

// AUTH over cleartext is offered only to loopback clients unless the
// operator allows it (the tests can only connect from loopback, so the
// remote case is checked on the session itself).
func TestAuthAllowed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ip       string
		insecure bool
		want     bool
	}{
		{"127.0.0.1", false, true},
		{"::1", false, true},
		{"192.0.2.7", false, false},
		{"192.0.2.7", true, true},
	} {
		s := &session{srv: &Server{opts: Options{Submission: true, AllowInsecureAuth: tc.insecure}},
			conn: &gosmtp.Conn{}, ip: netip.MustParseAddr(tc.ip)}
		if got := s.authAllowed(); got != tc.want {
			t.Errorf("%s insecure=%v: %v", tc.ip, tc.insecure, got)
		}
		mechs := s.AuthMechanisms()
		if (len(mechs) > 0) != tc.want {
			t.Errorf("%s: mechanisms %v", tc.ip, mechs)
		}
		if _, err := s.Auth("PLAIN"); (err == nil) != tc.want {
			t.Errorf("%s: Auth err %v", tc.ip, err)
		} else if err != nil && code(err) != "538 5.7.11" {
			t.Errorf("%s: %q", tc.ip, code(err))
		}
	}
}

func TestPlainServerMalformed(t *testing.T) {
	t.Parallel()
	calls := 0
	check := func(u, p string) error { calls++; return nil }
	for _, resp := range []string{"", "a\x00b", "\x00\x00pw", "x\x00y\x00z\x00w", "other\x00alice\x00pw"} {
		p := &plainServer{check: check}
		if _, done, err := p.Next([]byte(resp)); err == nil || done {
			t.Errorf("%q accepted", resp)
		}
	}
	if calls != 0 {
		t.Errorf("credentials checked %d times for malformed input", calls)
	}
}

func TestMissingFields(t *testing.T) {
	now := time.Date(2026, 12, 3, 14, 5, 6, 0, time.FixedZone("", 3600))
	const date = "Date: Thu, 03 Dec 2026 14:05:06 +0100\r\n"
	const id = "Message-ID: <ABC@mx.example.org>\r\n"
	for _, c := range []struct{ hdr, want string }{
		{"From: a@example.org\r\n\r\n", date + id},
		{"From: a@example.org\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\n", id},
		{"From: a@example.org\r\nmessage-id: <x@y>\r\n\r\n", date},
		{"From: a@example.org\r\nDate: x\r\nMessage-Id: <x@y>\r\n\r\n", ""},
		{"From: a@example.org\r\n", date + id}, // no body, no empty line
		{"From: a@example.org\r\nMessage-ID:\r\n  <folded@y>\r\nDate: x\r\n\r\n", ""},
	} {
		header, err := parseHeaderSection([]byte(c.hdr))
		if err != nil {
			t.Fatalf("%q: %v", c.hdr, err)
		}
		if got := string(missingFields(header, "ABC@mx.example.org", now)); got != c.want {
			t.Errorf("%q: added %q, want %q", c.hdr, got, c.want)
		}
	}
}

// TestSubmissionAddsDateAndMessageID: a bare message submitted gets a
// Date and a Message-ID naming the transaction and this host; one that
// has them keeps its own and gets nothing added.
func TestSubmissionAddsDateAndMessageID(t *testing.T) {
	t.Parallel()
	e := subEnv(t, Options{Hostname: "mx.example.org"})
	c := e.dial()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.org", "pw-alice")); err != nil {
		t.Fatal(err)
	}
	bare := "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: bare\r\n\r\nhi\r\n"
	whole := "From: alice@example.org\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <own@example.org>\r\nSubject: whole\r\n\r\nhi\r\n"
	for _, body := range []string{bare, whole} {
		if errs, err := send(t, c, "alice@example.org", nil, []string{"bob@example.org"}, body); err != nil || errs[0] != nil {
			t.Fatal(errs, err)
		}
	}
	got := e.msgs(e.bob, "INBOX")
	if len(got) != 2 {
		t.Fatalf("%d messages", len(got))
	}
	for _, m := range got {
		hdr, _, _ := strings.Cut(m, "\r\n\r\n")
		dates, ids := strings.Count(hdr, "\r\nDate: "), strings.Count(hdr, "\r\nMessage-ID: ")
		if dates != 1 || ids != 1 {
			t.Errorf("%d Date and %d Message-ID fields in\n%s", dates, ids, hdr)
		}
		switch {
		case strings.Contains(hdr, "Subject: bare"):
			if !regexp.MustCompile(`\r\nMessage-ID: <[A-Z0-9]{16}@mx\.example\.org>\r\n`).MatchString(hdr) {
				t.Errorf("added Message-ID:\n%s", hdr)
			}
		case !strings.HasSuffix(m, whole):
			t.Errorf("a complete message was changed:\n%s", m)
		}
	}
}

func TestHeaderOf(t *testing.T) {
	for _, c := range []struct{ msg, want string }{
		{"A: b\r\n\r\nbody\r\n", "A: b\r\n\r\n"},
		{"A: b\n\nbody\n", "A: b\n\n"},
		{"A: b\r\n", "A: b\r\n"},
		{"A: b", "A: b"},
		{"\r\nbody", "\r\n"},
		{"A: b\r\n c\r\n\r\n\r\n", "A: b\r\n c\r\n\r\n"},
	} {
		if got := string(headerOf([]byte(c.msg))); got != c.want {
			t.Errorf("headerOf(%q) = %q, want %q", c.msg, got, c.want)
		}
	}
}
