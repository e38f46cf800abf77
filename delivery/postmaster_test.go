package delivery

import (
	"context"
	"errors"
	"testing"

	"github.com/immp-mail/immp/delivery/address"
	"github.com/immp-mail/immp/maildir"
)

// postmasterFixture: two local domains, the real store and guard, and
// the accounts named, in that order (so the first is the oldest).
func postmasterFixture(t *testing.T, route string, autoCreate bool, accounts ...string) (*Deliverer, *maildir.Store, map[string]maildir.Account) {
	t.Helper()
	ctx := context.Background()
	store, err := maildir.Open(ctx, maildir.Options{DataDir: t.TempDir(), AutoCreate: autoCreate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	m := address.Mapper{Domains: []string{"example.org", "Example.NET"}, PlusSubinbox: true}
	d, err := New(Options{Store: store, Mapper: m, Guard: newGuard(t, store, m), Postmaster: route})
	if err != nil {
		t.Fatal(err)
	}
	accts := map[string]maildir.Account{}
	for _, a := range accounts {
		if accts[a], err = store.AddAccount(ctx, a, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	return d, store, accts
}

// RFC 5321 4.5.1: postmaster@ every local domain, and a bare postmaster,
// is accepted without an account of that name and filed into the route.
func TestPostmasterRouting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name, route string
		accounts    []string
		rcpt        string
		want        string // account; "" refused as unknown
		sub         string
	}{
		{"default route exists", "", []string{"alice@example.org", "postmaster@example.org"}, "postmaster@example.net", "postmaster@example.org", ""},
		{"default missing: oldest", "", []string{"carol@example.net", "alice@example.org"}, "postmaster@example.org", "carol@example.net", ""},
		{"configured", "bob@example.net", []string{"alice@example.org", "bob@example.net"}, "PostMaster@Example.org", "bob@example.net", ""},
		{"configured missing: oldest", "ops@example.org", []string{"alice@example.org", "bob@example.net"}, "postmaster@example.net", "alice@example.org", ""},
		{"own account wins", "bob@example.net", []string{"bob@example.net", "postmaster@example.net"}, "postmaster@example.net", "postmaster@example.net", ""},
		{"bare postmaster", "bob@example.net", []string{"alice@example.org", "bob@example.net"}, "Postmaster", "bob@example.net", ""},
		{"subinbox", "bob@example.net", []string{"bob@example.net"}, "abuse/postmaster@example.org", "bob@example.net", "abuse"},
		{"plus detail", "bob@example.net", []string{"bob@example.net"}, "postmaster+abuse@example.net", "bob@example.net", "abuse"},
		{"no account at all", "", nil, "postmaster@example.org", "", ""},
		{"not postmaster", "bob@example.net", []string{"bob@example.net"}, "hostmaster@example.org", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, _, _ := postmasterFixture(t, tc.route, false, tc.accounts...)
			r, err := d.CheckRecipient(ctx, "s@remote.example", tc.rcpt, false)
			if tc.want == "" {
				if ReasonOf(err) != ReasonNoSuchAccount {
					t.Fatalf("got %+v %v, want no such account", r, err)
				}
				return
			}
			if err != nil || r.Account.Address != tc.want || r.Subinbox != tc.sub || r.Address != tc.rcpt {
				t.Fatalf("got %+v %v, want %s subinbox %q", r, err, tc.want, tc.sub)
			}
		})
	}
}

// The route account's spam guard applies; the route account may send as
// postmaster@, nobody else may.
func TestPostmasterGuardAndOwnership(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, store, a := postmasterFixture(t, "bob@example.net", false, "alice@example.org", "bob@example.net")
	f := &fixture{store: store}
	f.block(t, a["bob@example.net"], "*@spam.example")
	if _, err := d.CheckRecipient(ctx, "x@spam.example", "postmaster@example.org", false); ReasonOf(err) != ReasonBlocked {
		t.Fatalf("blocked sender to postmaster: %v", err)
	}
	if _, err := d.CheckRecipient(ctx, "x@spam.example", "alice@example.org", false); err != nil {
		t.Fatalf("alice: %v", err)
	}
	for _, tc := range []struct {
		acct, addr string
		want       bool
	}{
		{"bob@example.net", "postmaster@example.org", true},
		{"bob@example.net", "abuse/postmaster@example.net", true},
		{"alice@example.org", "postmaster@example.org", false},
		{"bob@example.net", "hostmaster@example.org", false},
	} {
		if got := d.Owns(ctx, a[tc.acct], tc.addr); got != tc.want {
			t.Errorf("Owns(%s, %s) = %v", tc.acct, tc.addr, got)
		}
	}
	// Once postmaster@example.org is an account of its own, it is its.
	pm, err := store.AddAccount(ctx, "postmaster@example.org", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if d.Owns(ctx, a["bob@example.net"], "postmaster@example.org") || !d.Owns(ctx, pm, "postmaster@example.org") {
		t.Error("an existing postmaster account is not its own")
	}
}

// With auto_create the route account is made on first delivery, and the
// report before that creates nothing.
func TestPostmasterAutoCreate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, store, _ := postmasterFixture(t, "", true)
	if _, _, err := d.PostmasterRoute(ctx); !errors.Is(err, maildir.ErrNoSuchAccount) {
		t.Fatalf("PostmasterRoute = %v", err)
	}
	r, err := d.CheckRecipient(ctx, "", "postmaster@example.net", false)
	if err != nil || r.Account.Address != "postmaster@example.org" {
		t.Fatalf("got %+v %v", r, err)
	}
	list, _ := store.Accounts(ctx)
	if len(list) != 1 || list[0].Address != "postmaster@example.org" {
		t.Fatalf("accounts %v", list)
	}
	acct, fallback, err := d.PostmasterRoute(ctx)
	if err != nil || fallback || acct.Address != "postmaster@example.org" {
		t.Fatalf("PostmasterRoute = %+v %v %v", acct, fallback, err)
	}
}
