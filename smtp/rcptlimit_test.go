package smtp

import (
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"

	"github.com/immp-mail/immp/internal/throttle"
)

// An unauthenticated client learns from a RCPT refusal only what profile
// 9 says: 5.1.1 for an unknown account, 5.7.1 for a spam guard block,
// the same basic code and text for both; both count alike towards the
// slow-down and the 421 that end a probe.
func TestRcptProbing(t *testing.T) {
	t.Parallel()
	const sleep = 300 * time.Millisecond
	lim := throttle.New(throttle.Options{Free: 2, Base: sleep, Max: sleep})
	e := newEnv(t, setup{opts: Options{MaxBadRecipients: 5, RcptThrottle: lim}})
	e.block(e.bob, "*@spam.example")
	loopback := netip.MustParseAddr("127.0.0.1")

	r := e.raw()
	r.write("EHLO c\r\nMAIL FROM:<x@spam.example>\r\n")
	r.expect(250)
	r.expect(250)
	rcpt := func(to string) (int, string, time.Duration) {
		t.Helper()
		start := time.Now()
		r.write("RCPT TO:<" + to + ">\r\n")
		code, msg := r.reply()
		return code, msg, time.Since(start)
	}
	_, unknown, _ := rcpt("nobody@example.org")
	_, blocked, _ := rcpt("bob@example.org")
	if unknown != "5.1.1 "+recipientRejected || blocked != "5.7.1 "+recipientRejected {
		t.Fatalf("unknown %q, blocked %q: want the profile's codes and one text", unknown, blocked)
	}
	// Past the free refusals every answer waits, an accepted one too.
	for _, to := range []string{"alice@example.org", "nobody2@example.org", "bob@example.org"} {
		if code, msg, d := rcpt(to); d < sleep-20*time.Millisecond {
			t.Errorf("RCPT %s answered %d %s after %v, want at least %v", to, code, msg, d, sleep)
		}
	}
	// The fifth refusal ends the session.
	code, msg, _ := rcpt("nobody3@example.org")
	if code != 421 || !strings.HasPrefix(msg, "4.7.0") {
		t.Fatalf("fifth refusal: %d %s, want 421 4.7.0", code, msg)
	}
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := r.c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("connection not closed after 421: %d %v", n, err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(e.logs.String(), "<nobody3@example.org> rejected 421"); {
		if time.Now().After(deadline) {
			t.Fatalf("421 not logged:\n%s", e.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A new connection from the same address is still slowed down...
	r = e.raw()
	r.write("EHLO c\r\nMAIL FROM:<s@remote.example>\r\n")
	r.expect(250)
	r.expect(250)
	if _, _, d := rcpt("alice@example.org"); d < sleep-20*time.Millisecond {
		t.Errorf("reconnected: answered after %v", d)
	}
	// ...until it delivers a message: then the counts are cleared.
	r.write("DATA\r\n")
	r.expect(354)
	r.write("Subject: x\r\n\r\nx\r\n.\r\n")
	r.expect(250)
	if d := lim.Delay(loopback, ""); d != 0 {
		t.Errorf("delay %v after a delivery", d)
	}
}

// A pipelined probe past the limit gets no more answers after the 421.
func TestRcptProbingPipelined(t *testing.T) {
	t.Parallel()
	lim := throttle.New(throttle.Options{Free: 100})
	e := newEnv(t, setup{opts: Options{MaxBadRecipients: 3, RcptThrottle: lim}})
	r := e.raw()
	var b strings.Builder
	b.WriteString("EHLO c\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.org>\r\n")
	for i := range 10 {
		b.WriteString("RCPT TO:<nobody" + string(rune('a'+i)) + "@example.org>\r\n")
	}
	b.WriteString("DATA\r\nSubject: x\r\n\r\nsmuggled\r\n.\r\n")
	r.write(b.String())
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	all, _ := io.ReadAll(r.c)
	lines := strings.Split(strings.TrimSpace(string(all)), "\r\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "421 4.7.0") || strings.Count(string(all), "550 5.1.1") != 2 {
		t.Fatalf("replies:\n%s", all)
	}
	if n := len(e.msgs(e.alice, "INBOX")); n != 0 {
		t.Fatalf("alice got %d messages after the 421", n)
	}
}

// A logged-in submission client is not counted.
func TestRcptProbingAuthenticated(t *testing.T) {
	t.Parallel()
	e := subEnv(t, Options{MaxBadRecipients: 2})
	c := e.dial()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.org", "pw-alice")); err != nil {
		t.Fatal(err)
	}
	to := []string{"a@elsewhere.example", "nobody@example.org", "b@elsewhere.example", "bob@example.org"}
	errs, err := send(t, c, "alice@example.org", nil, to, "From: alice@example.org\r\n\r\nx\r\n")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"550 5.7.1", "550 5.1.1", "550 5.7.1", ""} {
		if got := code(errs[i]); got != want {
			t.Errorf("RCPT %s: %q, want %q", to[i], got, want)
		}
	}
}
