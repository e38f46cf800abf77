package maildir

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestCanonicalAddress(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"Alice@Example.ORG":      "alice@example.org",
		" bob.smith@a-b.example": "bob.smith@a-b.example",
		"x+y@d.e":                "x+y@d.e",
	}
	for in, want := range good {
		if got, err := CanonicalAddress(in); err != nil || got != want {
			t.Errorf("CanonicalAddress(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "alice", "@x.org", "a@", "a/b@x.org", "../x@y.org", ".a@x.org", "a..b@x.org",
		"a@x..org", "a@-x.org", "a@x/y", "a b@x.org", "a@x.org/", "\"q\"@x.org", "a@..", "a@."} {
		if got, err := CanonicalAddress(bad); !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("CanonicalAddress(%q) = %q, %v; want ErrInvalidAddress", bad, got, err)
		}
	}
}

func TestAccounts(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true})
	ctx := context.Background()
	a := newAccount(t, s, "alice@example.org")
	_, err := s.AddAccount(ctx, "ALICE@example.org", "x")
	wantErr(t, err, ErrAccountExists)
	_, err = s.AddAccount(ctx, "bad", "x")
	wantErr(t, err, ErrInvalidAddress)

	got, err := s.Authenticate(ctx, "Alice@Example.org", "secret")
	if err != nil || got.ID != a.ID {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	_, err = s.Authenticate(ctx, "alice@example.org", "wrong")
	wantErr(t, err, ErrAuthFailed)
	_, err = s.Authenticate(ctx, "nobody@example.org", "secret")
	wantErr(t, err, ErrAuthFailed)
	_, err = s.Authenticate(ctx, "alice@example.org", "")
	wantErr(t, err, ErrAuthFailed)

	if err := s.SetPassword(ctx, "alice@example.org", "new"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(ctx, "alice@example.org", "secret")
	wantErr(t, err, ErrAuthFailed)
	if _, err := s.Authenticate(ctx, "alice@example.org", "new"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.SetPassword(ctx, "nobody@example.org", "x"), ErrNoSuchAccount)

	newAccount(t, s, "bob@example.org")
	list, err := s.Accounts(ctx)
	if err != nil || len(list) != 2 || list[0].Address != "alice@example.org" || list[1].Address != "bob@example.org" {
		t.Fatalf("Accounts = %+v, %v", list, err)
	}
	_, _, err = s.EnsureAccount(ctx, "carol@example.org")
	wantErr(t, err, ErrNoSuchAccount)
	if got, created, err := s.EnsureAccount(ctx, "BOB@example.org"); err != nil || created || got.Address != "bob@example.org" {
		t.Fatalf("EnsureAccount = %+v %v %v", got, created, err)
	}

	deliver(t, s, "x\r\n", a, "INBOX")
	if err := s.DeleteAccount(ctx, "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Account(ctx, "alice@example.org")
	wantErr(t, err, ErrNoSuchAccount)
	wantErr(t, s.DeleteAccount(ctx, "alice@example.org"), ErrNoSuchAccount)
	// Created again: empty, fresh agent.
	a2 := newAccount(t, s, "alice@example.org")
	if ms := messages(t, mustOpen(t, s, a2, "INBOX")); len(ms) != 0 {
		t.Fatalf("old mail came back: %v", ms)
	}
}

func TestAutoCreate(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true, AutoCreate: true})
	ctx := context.Background()
	// First login creates with that password.
	a, err := s.Authenticate(ctx, "new@example.org", "pw1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "new@example.org", "other"); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("second password accepted: %v", err)
	}
	// Delivery creates without a password; the first login sets it.
	b, created, err := s.EnsureAccount(ctx, "rcpt@example.org")
	if err != nil || !created || b.ID == a.ID {
		t.Fatalf("EnsureAccount = %+v %v %v", b, created, err)
	}
	if fs := folderNames(t, s, b); len(fs) != 6 {
		t.Fatalf("folders %v", fs)
	}
	if _, err := s.Authenticate(ctx, "rcpt@example.org", "first"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(ctx, "rcpt@example.org", "second")
	wantErr(t, err, ErrAuthFailed)
	// Concurrent EnsureAccount: one creates, all succeed.
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, c, err := s.EnsureAccount(ctx, "race@example.org")
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			if c {
				n++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if n != 1 {
		t.Fatalf("%d creators", n)
	}
}

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	s := &Store{hashers: newHashGate(1, time.Second)}
	h, err := s.hashPassword(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := checkPassword(h, "pw"); !ok || err != nil {
		t.Fatalf("verify %v %v", ok, err)
	}
	if ok, _ := checkPassword(h, "pW"); ok {
		t.Fatal("wrong password verified")
	}
	// bcrypt, for imported accounts.
	bc, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if ok, _ := checkPassword(string(bc), "pw"); !ok {
		t.Fatal("bcrypt not verified")
	}
	if ok, _ := checkPassword(string(bc), "px"); ok {
		t.Fatal("bcrypt wrong password verified")
	}
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=1,t=1,p=1$$", "$argon2id$v=1$m=64,t=1,p=1$AAAA$AAAA", "$2a$short"} {
		if ok, err := checkPassword(bad, "pw"); ok || !errors.Is(err, errBadHash) {
			t.Errorf("hash %q: %v %v", bad, ok, err)
		}
	}
}

func TestAgentsAndEntries(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true})
	ctx := context.Background()
	a := newAccount(t, s, "alice@example.org")
	b := newAccount(t, s, "bob@example.org")
	v0, err := s.GuardVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.AddAgent(ctx, a, "Spam"), nil)
	wantErr(t, s.AddAgent(ctx, a, "SPAM"), ErrAgentExists)
	wantErr(t, s.AddAgent(ctx, a, "alice@example.org"), ErrAgentExists)
	wantErr(t, s.AddAgent(ctx, b, "spam"), nil) // another account's namespace
	v1, _ := s.GuardVersion(ctx)
	if v1 == v0 {
		t.Fatal("GuardVersion did not change")
	}
	wantErr(t, s.AddEntry(ctx, a, "spam", "*@Spam.example"), nil)
	wantErr(t, s.AddEntry(ctx, a, "Spam", "*@spam.EXAMPLE"), ErrEntryExists)
	wantErr(t, s.AddEntry(ctx, a, "alice@example.org", "mail@immp.pro"), nil)
	wantErr(t, s.AddEntry(ctx, a, "alice@example.org", "*@spam.example"), nil)
	wantErr(t, s.AddEntry(ctx, a, "nope", "x@y"), ErrNoSuchAgent)
	wantErr(t, s.AddEntry(ctx, a, "spam", ""), ErrInvalidAddress)
	wantErr(t, s.AddEntry(ctx, a, "spam", string(make([]byte, 321))), ErrInvalidAddress)

	agents, _ := s.Agents(ctx, a)
	if !reflect.DeepEqual(agents, []string{"alice@example.org", "Spam"}) {
		t.Fatalf("Agents = %v", agents)
	}
	es, _ := s.Entries(ctx, a, "SPAM")
	if !reflect.DeepEqual(es, []string{"*@Spam.example"}) {
		t.Fatalf("Entries = %v", es)
	}
	_, err = s.Entries(ctx, a, "nope")
	wantErr(t, err, ErrNoSuchAgent)
	all, _ := s.AllEntries(ctx, a)
	if !reflect.DeepEqual(all, []string{"*@spam.example", "mail@immp.pro"}) {
		t.Fatalf("AllEntries = %v", all)
	}
	if all, _ := s.AllEntries(ctx, b); len(all) != 0 {
		t.Fatalf("bob sees %v", all)
	}
	wantErr(t, s.DeleteEntry(ctx, a, "spam", "*@SPAM.example"), nil)
	wantErr(t, s.DeleteEntry(ctx, a, "spam", "*@spam.example"), ErrNoSuchEntry)
	wantErr(t, s.DeleteEntry(ctx, a, "nope", "x"), ErrNoSuchAgent)
	wantErr(t, s.DeleteAgent(ctx, a, "alice@EXAMPLE.org"), nil)
	wantErr(t, s.DeleteAgent(ctx, a, "alice@example.org"), ErrNoSuchAgent)
	if all, _ := s.AllEntries(ctx, a); len(all) != 0 {
		t.Fatalf("entries survived their agent: %v", all)
	}
	// Another process (a second Store on the same data) sees changes and
	// its changes move this one's version.
	v2, _ := s.GuardVersion(ctx)
	other := openStore(t, Options{DataDir: s.DataDir(), NoSync: true})
	if err := other.AddEntry(ctx, b, "spam", "x@y.z"); err != nil {
		t.Fatal(err)
	}
	v3, _ := s.GuardVersion(ctx)
	if v3 == v2 {
		t.Fatal("GuardVersion missed another store's change")
	}
	if v4, _ := s.GuardVersion(ctx); v4 != v3 {
		t.Fatal("GuardVersion moved without a change")
	}
	if err := other.DeleteAccount(ctx, "bob@example.org"); err != nil {
		t.Fatal(err)
	}
	if v5, _ := s.GuardVersion(ctx); v5 == v3 {
		t.Fatal("GuardVersion missed an account deletion")
	}
	wantErr(t, s.AddAgent(ctx, b, "x"), ErrNoSuchAccount)
}

func BenchmarkGuardVersion(b *testing.B) {
	s := openStore(b, Options{NoSync: true})
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.GuardVersion(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAccountCacheSeesOtherProcesses: account lookups are cached, yet a
// creation or deletion made through another Store on the same data
// directory (another process, such as the immp user command) is seen
// within the GuardVersion recheck interval, and this Store's own changes
// at once.
func TestAccountCacheSeesOtherProcesses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := openStore(t, Options{DataDir: dir})
	b := openStore(t, Options{DataDir: dir})
	newAccount(t, a, "kept@example.org")
	newAccount(t, a, "gone@example.org")
	for _, addr := range []string{"kept@example.org", "gone@example.org"} {
		if _, err := a.Account(ctx, addr); err != nil {
			t.Fatalf("Account(%s): %v", addr, err)
		}
	}
	if _, err := a.Account(ctx, "new@example.org"); !errors.Is(err, ErrNoSuchAccount) {
		t.Fatalf("Account(new) before it exists: %v", err)
	}

	if err := b.DeleteAccount(ctx, "gone@example.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddAccount(ctx, "new@example.org", "pw"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, err := a.Account(ctx, "gone@example.org")
		return errors.Is(err, ErrNoSuchAccount)
	})
	waitFor(t, func() bool {
		_, err := a.Account(ctx, "new@example.org")
		return err == nil
	})
	if _, err := a.Account(ctx, "kept@example.org"); err != nil {
		t.Fatalf("Account(kept): %v", err)
	}

	// Own changes: no wait at all.
	if err := a.DeleteAccount(ctx, "kept@example.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Account(ctx, "kept@example.org"); !errors.Is(err, ErrNoSuchAccount) {
		t.Fatalf("Account(kept) right after its deletion here: %v", err)
	}
}

// TestAccountCacheServesRepeatLookups: while GuardVersion stands, a
// lookup is answered from the cache (a change that does not move the
// version, which no account change does, is not seen); once it moves,
// the next lookup reads the database again.
func TestAccountCacheServesRepeatLookups(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	acct := newAccount(t, s, "cached@example.org")
	first, err := s.Account(ctx, acct.Address)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.wdb.ExecContext(ctx, "UPDATE accounts SET created = 1 WHERE id = ?", acct.ID); err != nil {
		t.Fatal(err)
	}
	again, err := s.Account(ctx, acct.Address)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Created.Equal(first.Created) {
		t.Fatalf("second lookup read the database (created %v, cached %v)", again.Created, first.Created)
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bumpGuard(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	s.guardLocal.Add(1)
	fresh, err := s.Account(ctx, acct.Address)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Created.Unix() != 1 {
		t.Fatalf("after the version moved: created %v, want the database's value", fresh.Created)
	}
}
