package imap

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/immp-mail/immp/internal/throttle"
	"github.com/immp-mail/immp/maildir"
)

// A login that cannot be checked now is NO [UNAVAILABLE] (RFC 5530), not
// AUTHENTICATIONFAILED: here the address's turn is held past TurnWait.
// Once it is free the same login works, and nothing was counted.
func TestLoginBusy(t *testing.T) {
	t.Parallel()
	lim := throttle.New(throttle.Options{TurnWait: 50 * time.Millisecond})
	e := newEnv(t, envOptions{mutate: func(o *Options) { o.Throttle = lim }})
	e.account("alice@example.org")
	hold, err := lim.Begin(context.Background(), netip.MustParseAddr("127.0.0.1"), "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := imapclient.DialInsecure(e.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice@example.org", testPassword).Wait(); imapCode(err) != imap.ResponseCodeUnavailable {
		t.Fatalf("LOGIN with the turn held: %v, want NO [UNAVAILABLE]", err)
	}
	hold.End()
	if d := lim.Delay(netip.MustParseAddr("127.0.0.1"), "alice@example.org"); d != 0 {
		t.Fatalf("busy answer counted as a failure: delay %v", d)
	}
	if err := c.Login("alice@example.org", testPassword).Wait(); err != nil {
		t.Fatalf("LOGIN once free: %v", err)
	}
}

// Both busy errors translate to UNAVAILABLE, however wrapped.
func TestToWireAuthBusy(t *testing.T) {
	t.Parallel()
	for _, err := range []error{maildir.ErrAuthBusy, throttle.ErrBusy} {
		var ie *imap.Error
		if !errors.As(toWire(fmt.Errorf("login: %w", err)), &ie) || ie.Type != imap.StatusResponseTypeNo ||
			ie.Code != imap.ResponseCodeUnavailable {
			t.Errorf("%v: %v, want NO [UNAVAILABLE]", err, toWire(err))
		}
	}
}
