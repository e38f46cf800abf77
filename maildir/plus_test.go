package maildir

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// '+' is plus addressing (profile 9): no new account may have it in its
// name, by any path that creates accounts.
func TestPlusInAccountName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, in := range []string{"alice+x@example.org", "Alice+@example.org", "+x@example.org", "a.b+c.d@example.org"} {
		_, err := NewAccountAddress(in)
		if !errors.Is(err, ErrPlusInAddress) || !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("NewAccountAddress(%q) = %v", in, err)
		}
	}
	_, err := NewAccountAddress("alice+work@example.org")
	if want := `alice+work@example.org means subinbox "work" of alice@example.org`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if a, err := NewAccountAddress("Alice.B@Example.org"); err != nil || a != "alice.b@example.org" {
		t.Errorf("NewAccountAddress = %q, %v", a, err)
	}

	s := openStore(t, Options{NoSync: true})
	_, err = s.AddAccount(ctx, "alice+x@example.org", "pw")
	wantErr(t, err, ErrPlusInAddress)
	if list, _ := s.Accounts(ctx); len(list) != 0 {
		t.Fatalf("accounts %v", list)
	}

	// auto_create: neither delivery nor a first login makes one; to
	// delivery it is an unknown account, to a login a failed one.
	auto := openStore(t, Options{NoSync: true, AutoCreate: true})
	_, created, err := auto.EnsureAccount(ctx, "bob+x@example.org")
	if !errors.Is(err, ErrNoSuchAccount) || created {
		t.Errorf("EnsureAccount = %v %v, want ErrNoSuchAccount", created, err)
	}
	_, err = auto.Authenticate(ctx, "bob+x@example.org", "pw")
	wantErr(t, err, ErrAuthFailed)
	if list, _ := auto.Accounts(ctx); len(list) != 0 {
		t.Fatalf("accounts %v", list)
	}
}

// An account with '+' made before the rule stays usable: found, logged
// into, deleted.
func TestPlusAccountFromBefore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, Options{NoSync: true})
	hash, err := s.hashPassword(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	const addr = "old+name@example.org"
	if _, err := s.wdb.ExecContext(ctx, "INSERT INTO accounts(id, address, password, created) VALUES (7, ?, ?, ?)",
		addr, hash, time.Now().Unix()); err != nil {
		t.Fatal(err)
	}
	a := Account{ID: 7, Address: addr}
	if err := s.createMaildir(a); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Account(ctx, addr); err != nil || got.ID != 7 {
		t.Fatalf("Account = %+v %v", got, err)
	}
	if _, err := s.Authenticate(ctx, addr, "pw"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount(ctx, addr); err != nil {
		t.Fatal(err)
	}
}
