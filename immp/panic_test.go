package immp

import (
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/immp-mail/immp/internal/syncbuf"
)

// TestPanicClosesOnlyThatConnection injects a panic into a command: it
// is logged once at Error with its stack, that connection is closed, and
// the server serves the next client and still shuts down.
func TestPanicClosesOnlyThatConnection(t *testing.T) {
	logs := &syncbuf.Buffer{}
	var armed atomic.Bool
	e := newEnvS(t, func(s *Server) {
		s.fault = func(cmd string) {
			if cmd == "NOOP" && armed.CompareAndSwap(true, false) {
				panic("injected fault")
			}
		}
	}, func(o *Options) { o.Logger = slog.New(slog.NewJSONHandler(logs, nil)) })

	victim := e.dial()
	armed.Store(true)
	victim.send("N1 NOOP")
	if !victim.closed() {
		t.Error("connection open after a panic")
	}
	other := e.dial()
	other.login("alice@" + testDomain)
	other.ok("N2 NOOP")

	out := logs.String()
	if strings.Count(out, `"level":"ERROR"`) != 1 || !strings.Contains(out, "injected fault") || !strings.Contains(out, "panic_test.go") {
		t.Errorf("want one Error record with the panic and its stack:\n%s", out)
	}
}
