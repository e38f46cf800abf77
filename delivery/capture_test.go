package delivery

import (
	"context"
	"errors"
	"testing"

	"github.com/immp-mail/immp/delivery/address"
	"github.com/immp-mail/immp/maildir"
)

// TestCapture: under capture a recipient at any domain gets an account
// of its own (without auto_create), authenticated or not; postmaster@ a
// configured domain still follows the postmaster route, postmaster@
// another domain is captured as itself; without capture nothing changes.
func TestCapture(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := maildir.Open(ctx, maildir.Options{DataDir: t.TempDir()}) // no AutoCreate
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.AddAccount(ctx, "admin@localhost", "pw-admin"); err != nil {
		t.Fatal(err)
	}
	m := address.Mapper{Domains: []string{"localhost"}, PlusSubinbox: true, AnyDomain: true}
	d, err := New(Options{Store: store, Mapper: m, Guard: newGuard(t, store, m), Capture: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		rcpt          string
		authenticated bool
		account, sub  string
	}{
		{"bob@example.com", false, "bob@example.com", ""},
		{"carol@other.test", true, "carol@other.test", ""},
		{"work/bob@example.com", false, "bob@example.com", "work"},
		{"bob+news@example.com", false, "bob@example.com", "news"},
		{"postmaster@example.com", false, "postmaster@example.com", ""},
		{"postmaster@localhost", false, "admin@localhost", ""}, // the route: the oldest account
		{"new@localhost", false, "new@localhost", ""},
	} {
		r, err := d.CheckRecipient(ctx, "app@shop.test", c.rcpt, c.authenticated)
		if err != nil || r.Account.Address != c.account || r.Subinbox != c.sub {
			t.Errorf("%s: %+v %v, want %s %q", c.rcpt, r, err, c.account, c.sub)
		}
	}
	if _, err := d.CheckRecipient(ctx, "", "not an address", false); err == nil {
		t.Error("a malformed address was captured")
	}
	// A login still creates nothing: only delivery does.
	if _, err := store.Authenticate(ctx, "nobody@example.com", "pw"); !errors.Is(err, maildir.ErrAuthFailed) {
		t.Errorf("login to an unknown account under capture: %v", err)
	}

	// Without capture: refused as before.
	plain := address.Mapper{Domains: []string{"localhost"}}
	d2, err := New(Options{Store: store, Mapper: plain, Guard: newGuard(t, store, plain)})
	if err != nil {
		t.Fatal(err)
	}
	for _, auth := range []bool{false, true} {
		if _, err := d2.CheckRecipient(ctx, "app@shop.test", "dave@example.com", auth); err == nil {
			t.Errorf("without capture (authenticated %v): accepted", auth)
		}
	}
}
