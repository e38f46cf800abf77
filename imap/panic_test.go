package imap

import (
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/immp-mail/immp/internal/syncbuf"
)

// TestPanicClosesOnlyThatConnection injects a panic into FETCH: it is
// logged once at Error with its stack, that client's connection is
// closed, the folder stays usable for other clients, and the server
// still shuts down cleanly (the command no longer counts as running).
func TestPanicClosesOnlyThatConnection(t *testing.T) {
	logs := &syncbuf.Buffer{}
	e := newEnv(t, envOptions{mutate: func(o *Options) {
		o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	}})
	acct := e.account("alice@example.org")
	e.deliver(acct, "INBOX", "one")
	var armed atomic.Bool
	fault := func(cmd string) {
		if cmd == "FETCH" && armed.CompareAndSwap(true, false) {
			panic("injected fault")
		}
	}
	e.srv.fault.Store(&fault)

	victim := e.raw("alice@example.org")
	victim.ok("SELECT INBOX")
	armed.Store(true)
	if _, status, err := victim.cmd("FETCH 1 (ENVELOPE BODY.PEEK[])"); err == nil {
		t.Fatalf("FETCH answered %q after a panic; want the connection closed", status)
	}

	other := e.raw("alice@example.org")
	other.ok("SELECT INBOX")
	if got := other.ok("FETCH 1 (BODYSTRUCTURE)"); len(got) != 1 || !strings.Contains(got[0], "BODYSTRUCTURE") {
		t.Errorf("FETCH after the panic: %q", got)
	}
	other.ok("LOGOUT")

	out := logs.String()
	if n := strings.Count(out, `"level":"ERROR"`); n != 1 {
		t.Errorf("%d Error records, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "injected fault") || !strings.Contains(out, "panic_test.go") || !strings.Contains(out, `"cmd":"FETCH"`) {
		t.Errorf("the Error record lacks the panic, its stack or the command:\n%s", out)
	}
}
