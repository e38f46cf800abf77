package immp

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/internal/logrl"
	"github.com/immp-mail/immp/internal/syncbuf"
)

// One log line per command, but a client sending commands forever gets
// its budget and then one "N lines suppressed" line (at the latest when
// it disconnects), not a line each.
func TestLogFloodLimited(t *testing.T) {
	t.Parallel()
	logs := &syncbuf.Buffer{}
	e := newEnv(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
		o.ConnLogBudget = logrl.Budget{Burst: 10}
	})
	c := e.dial()
	for i := range 100 {
		c.ok("N" + string(rune('0'+i%10)) + " NOOP")
	}
	c.ok("Z LOGOUT")
	var count int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		count = strings.Count(logs.String(), `msg="immp command" `)
		if strings.Contains(logs.String(), "lines suppressed") || time.Now().After(deadline) {
			break
		}
	}
	// connected + 9 commands pass; the other 91 commands, LOGOUT and
	// "disconnected" are reported as suppressed.
	if count != 9 || !strings.Contains(logs.String(), `msg="93 lines suppressed" proto=immp session=1`) {
		t.Fatalf("%d command lines:\n%s", count, logs.String())
	}
}
