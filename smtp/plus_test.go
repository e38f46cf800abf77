package smtp

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"

	"github.com/immp-mail/immp/maildir"
)

// No account has '+' in its name (maildir.NewAccountAddress), so the
// mapping and the ownership check need no case of their own: with plus
// addressing, alice+x@ is alice's subinbox and alice's to send as; without
// it, alice+x@ is an account that cannot exist, even with auto_create.
func TestPlusAddresses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		noPlus     bool
		autoCreate bool
	}{{"plus", false, false}, {"plus auto_create", false, true}, {"no plus", true, false}, {"no plus auto_create", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, setup{noPlus: tc.noPlus, autoCreate: tc.autoCreate})
			if _, err := e.store.AddAccount(ctx, "alice+x@example.org", "pw"); !errors.Is(err, maildir.ErrPlusInAddress) {
				t.Fatalf("AddAccount alice+x: %v", err)
			}
			c := e.dial()
			errs, err := send(t, c, "s@remote.example", nil, []string{"alice+x@example.org"}, "Subject: plus\r\n\r\nx\r\n")
			switch {
			case !tc.noPlus && (err != nil || errs[0] != nil):
				t.Fatalf("RCPT alice+x with plus addressing: %v %v", errs, err)
			case !tc.noPlus:
				if n := len(e.msgs(e.alice, "INBOX")); n != 1 { // no subinbox x: INBOX (draft 2.2.2)
					t.Fatalf("alice has %d messages", n)
				}
			case code(errs[0]) != "550 5.1.1":
				t.Fatalf("RCPT alice+x without plus addressing: %q", code(errs[0]))
			}
			if list, _ := e.store.Accounts(ctx); len(list) != 2 {
				t.Fatalf("accounts %v", list)
			}

			sub := newEnv(t, setup{opts: Options{Submission: true}, noPlus: tc.noPlus, autoCreate: tc.autoCreate})
			c = sub.dial()
			if got := code(c.Auth(sasl.NewPlainClient("", "alice+x@example.org", "pw-alice"))); got != "535 5.7.8" {
				t.Fatalf("login as alice+x: %q", got)
			}
			c = sub.dial()
			if err := c.Auth(sasl.NewPlainClient("", "alice@example.org", "pw-alice")); err != nil {
				t.Fatal(err)
			}
			err = c.Mail("alice+x@example.org", nil)
			if tc.noPlus {
				if got := code(err); got != "550 5.7.1" {
					t.Fatalf("alice sending as alice+x without plus addressing: %q", got)
				}
				return
			}
			c.Reset()
			if _, err := send(t, c, "alice+x@example.org", nil, []string{"bob@example.org"}, "From: alice+x@example.org\r\n\r\nx\r\n"); err != nil {
				t.Fatalf("alice sending as alice+x: %v", err)
			}
			if got := sub.msgs(sub.bob, "INBOX"); len(got) != 1 || !strings.Contains(got[0], "From: alice+x@example.org") {
				t.Fatalf("bob got %q", got)
			}
		})
	}
}
