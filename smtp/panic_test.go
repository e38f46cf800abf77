package smtp

import (
	"context"
	"strings"
	"testing"

	"github.com/immp-mail/immp/delivery/guard"
)

// panicVerifier is the spam guard check with a fault injected for one
// recipient: a panic that no real input causes, to test recovery.
type panicVerifier struct{}

func (panicVerifier) Verify(_ context.Context, _, rcpt string) (guard.Verdict, error) {
	if strings.HasPrefix(rcpt, "bob@") {
		panic("injected fault")
	}
	return guard.Allowed, nil
}

// TestPanicClosesOnlyThatConnection: a panic while handling RCPT ends
// that connection with 421 and an Error log record with the stack; the
// server goes on delivering for other clients.
func TestPanicClosesOnlyThatConnection(t *testing.T) {
	e := newEnv(t, setup{guard: panicVerifier{}})
	r := e.raw()
	r.write("EHLO client.example\r\n")
	r.expect(250)
	r.write("MAIL FROM:<x@example.net>\r\n")
	r.expect(250)
	r.write("RCPT TO:<bob@example.org>\r\n")
	r.expect(421)
	if _, err := r.tp.ReadLine(); err == nil {
		t.Error("connection still open after a panic")
	}

	c := e.dial()
	if _, err := send(t, c, "x@example.net", nil, []string{"alice@example.org"}, "Subject: after\r\n\r\nhi\r\n"); err != nil {
		t.Fatalf("delivery after the panic: %v", err)
	}
	if got := e.msgs(e.alice, "INBOX"); len(got) != 1 {
		t.Errorf("alice has %d messages", len(got))
	}
	out := e.logs.String()
	if strings.Count(out, `"level":"ERROR"`) != 1 || !strings.Contains(out, "injected fault") || !strings.Contains(out, "panic_test.go") {
		t.Errorf("want one Error record with the panic and its stack:\n%s", out)
	}
}
