package imap

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/immp-mail/immp/internal/logrl"
	"github.com/immp-mail/immp/internal/syncbuf"
)

// One log line per command, but a client sending commands forever gets
// its budget and then one "N lines suppressed" line (at the latest when
// it disconnects), not a line each.
func TestLogFloodLimited(t *testing.T) {
	t.Parallel()
	logs := &syncbuf.Buffer{}
	e := newEnv(t, envOptions{mutate: func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
		o.ConnLogBudget = logrl.Budget{Burst: 10}
	}})
	e.account("alice@example.org")
	c := e.client("alice@example.org", nil)
	for range 100 {
		if _, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), "lines suppressed"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no summary:\n%s", logs.String())
		}
	}
	// LOGIN and 9 STATUS pass, 91 STATUS are suppressed.
	if n := strings.Count(logs.String(), `msg="imap command"`); n != 10 || !strings.Contains(logs.String(), `msg="91 lines suppressed" proto=imap session=1`) {
		t.Fatalf("%d command lines:\n%s", n, logs.String())
	}
}
