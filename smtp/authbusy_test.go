package smtp

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/emersion/go-sasl"

	"github.com/immp-mail/immp/internal/throttle"
	"github.com/immp-mail/immp/maildir"
)

// AUTH that cannot be checked now is 454 4.7.0 (RFC 4954 6), not 535:
// here the address's turn is held past TurnWait. Once it is free the
// same credentials work.
func TestSubmissionAuthBusy(t *testing.T) {
	t.Parallel()
	lim := throttle.New(throttle.Options{TurnWait: 50 * time.Millisecond})
	e := subEnv(t, Options{Throttle: lim})
	hold, err := lim.Begin(context.Background(), netip.MustParseAddr("127.0.0.1"), "")
	if err != nil {
		t.Fatal(err)
	}
	c := e.dial()
	if got := code(c.Auth(sasl.NewPlainClient("", "alice@example.org", "pw-alice"))); got != "454 4.7.0" {
		t.Fatalf("AUTH with the turn held: %q, want 454 4.7.0", got)
	}
	hold.End()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.org", "pw-alice")); err != nil {
		t.Fatalf("AUTH once free: %v", err)
	}
}

// authReply: wrong credentials are 535 5.7.8; anything that kept them
// from being checked is 454 4.7.0.
func TestAuthReply(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want string
	}{
		{maildir.ErrAuthFailed, "535 5.7.8"},
		{maildir.ErrAuthBusy, "454 4.7.0"},
		{throttle.ErrBusy, "454 4.7.0"},
		{context.Canceled, "454 4.7.0"},
	} {
		if got := code(authReply(fmt.Errorf("auth: %w", tt.err))); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.err, got, tt.want)
		}
	}
}
