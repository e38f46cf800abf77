package immp

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/immp-mail/immp/immp/wire"
	"github.com/immp-mail/immp/internal/throttle"
	"github.com/immp-mail/immp/maildir"
)

// A login that cannot be checked now is NO [UNAVAILABLE] (profile 2), not
// a failure: here the address's turn is held past TurnWait. Once it is
// free the same login works, and nothing was counted against anyone.
func TestLoginBusy(t *testing.T) {
	t.Parallel()
	lim := throttle.New(throttle.Options{TurnWait: 50 * time.Millisecond})
	e := newEnv(t, func(o *Options) { o.Throttle = lim })
	hold, err := lim.Begin(context.Background(), netip.MustParseAddr("127.0.0.1"), "")
	if err != nil {
		t.Fatal(err)
	}
	c := e.dial()
	run(t, c, []step{
		{"LOGIN alice@example.org secret", "NO [UNAVAILABLE]", nil},
		{"AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==", "NO [UNAVAILABLE]", nil},
	})
	hold.End()
	if d := lim.Delay(netip.MustParseAddr("127.0.0.1"), "alice@example.org"); d != 0 {
		t.Fatalf("busy answers counted as failures: delay %v", d)
	}
	run(t, c, []step{{"LOGIN alice@example.org secret", "OK", nil}})
}

// Both busy errors translate to UNAVAILABLE, however wrapped.
func TestTranslateAuthBusy(t *testing.T) {
	t.Parallel()
	c := &conn{log: slog.New(slog.DiscardHandler)}
	for _, err := range []error{maildir.ErrAuthBusy, throttle.ErrBusy} {
		status, code, _ := c.translate(&wire.Command{Name: "LOGIN"}, fmt.Errorf("login: %w", err))
		if status != wire.NO || code != codeUnavailable {
			t.Errorf("%v: %s [%s], want NO [UNAVAILABLE]", err, status, code)
		}
	}
}
