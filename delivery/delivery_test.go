package delivery

import (
	"context"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/immp-mail/immp/delivery/address"
	"github.com/immp-mail/immp/delivery/guard"
	"github.com/immp-mail/immp/internal/metrics"
	"github.com/immp-mail/immp/maildir"
)

type fixture struct {
	store *maildir.Store
	d     *Deliverer
	alice maildir.Account
	bob   maildir.Account
}

// newFixture opens a real store in a temp dir with accounts alice and bob
// of example.org, the real spam guard, and a Deliverer over them.
func newFixture(t *testing.T, wrap func(Txn) Txn) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := maildir.Open(ctx, maildir.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	mapper := address.Mapper{Domains: []string{"example.org"}, PlusSubinbox: true}
	g := newGuard(t, store, mapper)
	d, err := New(Options{Store: store, Mapper: mapper, Guard: g, Metrics: metrics.New(),
		Hostname: "mx.example.org", WrapTxn: wrap})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: store, d: d}
	if f.alice, err = store.AddAccount(ctx, "alice@example.org", "pw-alice"); err != nil {
		t.Fatal(err)
	}
	if f.bob, err = store.AddAccount(ctx, "bob@example.org", "pw-bob"); err != nil {
		t.Fatal(err)
	}
	return f
}

func newGuard(t *testing.T, store *maildir.Store, m address.Mapper) *guard.Guard {
	t.Helper()
	g, err := guard.New(guard.Options{Store: store, Mapper: m})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// block adds pattern to acct's default agent.
func (f *fixture) block(t *testing.T, acct maildir.Account, pattern string) {
	t.Helper()
	ctx := context.Background()
	agents, err := f.store.Agents(ctx, acct)
	if err != nil || len(agents) == 0 {
		t.Fatalf("agents: %v %v", agents, err)
	}
	if err := f.store.AddEntry(ctx, acct, agents[0], pattern); err != nil {
		t.Fatal(err)
	}
}

// messages returns the bodies of every message in a folder.
func messages(t *testing.T, store *maildir.Store, acct maildir.Account, folder string) []string {
	t.Helper()
	ctx := context.Background()
	f, err := store.OpenFolder(ctx, acct, folder)
	if err != nil {
		t.Fatalf("open %s: %v", folder, err)
	}
	msgs, err := f.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		rc, err := f.OpenMessage(ctx, m.UID)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func TestCheckRecipient(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.block(t, f.alice, "*@spam.example")
	ctx := context.Background()
	tests := []struct {
		sender, rcpt string
		auth         bool
		want         Reason
		sub          string
	}{
		{"s@remote.example", "alice@example.org", false, 0, ""},
		{"s@remote.example", "ALICE@Example.ORG", false, 0, ""},
		{"s@remote.example", "work/alice@example.org", false, 0, "work"},
		{"s@remote.example", "office/work/alice@example.org", false, 0, "office/work"},
		{"s@remote.example", "alice+work@example.org", false, 0, "work"},
		{"", "alice@example.org", false, 0, ""},
		{"s@remote.example", "nobody@example.org", false, ReasonNoSuchAccount, ""},
		{"s@remote.example", "alice@elsewhere.example", false, ReasonRelayDenied, ""},
		{"s@remote.example", "alice@elsewhere.example", true, ReasonNoRelay, ""},
		{"x@spam.example", "alice@example.org", false, ReasonBlocked, ""},
		{"x@spam.example", "work/alice@example.org", false, ReasonBlocked, ""},
		{"x@spam.example", "bob@example.org", false, 0, ""},
		{"s@remote.example", "../alice@example.org", false, ReasonBadAddress, ""},
		{"s@remote.example", "a//alice@example.org", false, ReasonBadAddress, ""},
		{"s@remote.example", strings.Repeat("a", 400) + "@example.org", false, ReasonBadAddress, ""},
	}
	for _, tt := range tests {
		r, err := f.d.CheckRecipient(ctx, tt.sender, tt.rcpt, tt.auth)
		if got := ReasonOf(err); got != tt.want || (err != nil) != (tt.want != 0) {
			t.Errorf("CheckRecipient(%q, %q) = %v (%v), want reason %v", tt.sender, tt.rcpt, got, err, tt.want)
			continue
		}
		if err == nil && (r.Subinbox != tt.sub || r.Account.ID == 0 || r.Address != tt.rcpt) {
			t.Errorf("CheckRecipient(%q) = %+v, want subinbox %q", tt.rcpt, r, tt.sub)
		}
	}
}

// undecided is a spam guard that cannot decide: the fault a real guard
// shows when its index is unavailable.
type undecided struct{}

func (undecided) Verify(context.Context, string, string) (guard.Verdict, error) {
	return 0, errors.New("index unavailable")
}

func TestCheckRecipientUndecided(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	d, err := New(Options{Store: f.store, Mapper: address.Mapper{Domains: []string{"example.org"}}, Guard: undecided{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.CheckRecipient(context.Background(), "s@x.example", "alice@example.org", false)
	if r := ReasonOf(err); r != ReasonUndecided || !r.Temporary() {
		t.Fatalf("got %v (%v), want undecided (temporary)", r, err)
	}
}

func TestCheckRecipientAutoCreate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := maildir.Open(ctx, maildir.Options{DataDir: t.TempDir(), AutoCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	m := address.Mapper{Domains: []string{"localhost"}}
	d, err := New(Options{Store: store, Mapper: m, Guard: newGuard(t, store, m)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.CheckRecipient(ctx, "", "new@localhost", false)
	if err != nil || r.Account.Address != "new@localhost" {
		t.Fatalf("auto-create: %+v %v", r, err)
	}
}

func TestDeliver(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	if err := f.store.CreateFolder(ctx, f.alice, "INBOX/work"); err != nil {
		t.Fatal(err)
	}
	var rcpts []Recipient
	for _, a := range []string{"alice@example.org", "work/alice@example.org", "gone/alice@example.org", "ALICE@example.org"} {
		r, err := f.d.CheckRecipient(ctx, "s@remote.example", a, false)
		if err != nil {
			t.Fatal(a, err)
		}
		rcpts = append(rcpts, r)
	}
	body := "Subject: hi\r\n\r\nhello\r\n"
	res, err := f.d.Deliver(ctx, Envelope{ID: "T1", Sender: "s@remote.example", Recipients: rcpts,
		ClientIP: "127.0.0.1", Helo: "client.example"}, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	wantFolders := []string{"INBOX", "INBOX/work", "INBOX", "INBOX"}
	wantKinds := []string{metrics.FolderInbox, metrics.FolderSubinbox, metrics.FolderFallback, metrics.FolderInbox}
	for i, r := range res {
		if r.Folder != wantFolders[i] || r.Kind != wantKinds[i] {
			t.Errorf("result %d = %s %s, want %s %s", i, r.Folder, r.Kind, wantFolders[i], wantKinds[i])
		}
	}
	inbox := messages(t, f.store, f.alice, "INBOX")
	work := messages(t, f.store, f.alice, "INBOX/work")
	if len(inbox) != 1 || len(work) != 1 {
		t.Fatalf("INBOX has %d, work has %d; want one copy each", len(inbox), len(work))
	}
	m := inbox[0]
	for _, want := range []string{"Return-Path: <s@remote.example>\r\n", "Delivered-To: alice@example.org\r\n",
		"Received: from client.example ([127.0.0.1])", "by mx.example.org (immp) with ESMTP id T1", "Subject: hi\r\n\r\nhello\r\n"} {
		if !strings.Contains(m, want) {
			t.Errorf("message lacks %q:\n%s", want, m)
		}
	}
	if !strings.HasPrefix(m, "Return-Path:") {
		t.Errorf("trace headers not prepended:\n%s", m)
	}
}

func TestDeliverTwoAccountsNoDeliveredTo(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	a, _ := f.d.CheckRecipient(ctx, "", "alice@example.org", false)
	b, _ := f.d.CheckRecipient(ctx, "", "bob@example.org", false)
	if _, err := f.d.Deliver(ctx, Envelope{Recipients: []Recipient{a, b}, ClientIP: "127.0.0.1"},
		strings.NewReader("Subject: x\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	for _, acct := range []maildir.Account{f.alice, f.bob} {
		msgs := messages(t, f.store, acct, "INBOX")
		if len(msgs) != 1 {
			t.Fatalf("%s: %d messages", acct.Address, len(msgs))
		}
		if strings.Contains(msgs[0], "Delivered-To") || strings.Contains(msgs[0], "for <") {
			t.Errorf("shared copy names a recipient:\n%s", msgs[0])
		}
		if !strings.HasPrefix(msgs[0], "Return-Path: <>\r\n") {
			t.Errorf("null sender Return-Path missing:\n%s", msgs[0])
		}
	}
}

// faultTxn injects storage failures the test cannot make for real (the
// tests run as root, whom permissions do not stop).
type faultTxn struct {
	Txn
	writeErr, addErr, commitErr error
}

func (f *faultTxn) Write(p []byte) (int, error) {
	if f.writeErr != nil {
		return 0, f.writeErr
	}
	return f.Txn.Write(p)
}

func (f *faultTxn) AddRecipient(a maildir.Account, folder string) error {
	if f.addErr != nil {
		return f.addErr
	}
	return f.Txn.AddRecipient(a, folder)
}

func (f *faultTxn) Commit(ctx context.Context) ([]maildir.Delivered, error) {
	if f.commitErr != nil {
		return nil, f.commitErr
	}
	return f.Txn.Commit(ctx)
}

func TestDeliverStorageFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ft   faultTxn
		want Reason
	}{
		{"disk full on write", faultTxn{writeErr: syscall.ENOSPC}, ReasonStorageFull},
		{"read-only on add", faultTxn{addErr: &fsError{syscall.EROFS}}, ReasonStorage},
		{"I/O error on commit", faultTxn{commitErr: syscall.EIO}, ReasonStorage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(txn Txn) Txn { ft := tt.ft; ft.Txn = txn; return &ft })
			ctx := context.Background()
			a, _ := f.d.CheckRecipient(ctx, "", "alice@example.org", false)
			b, _ := f.d.CheckRecipient(ctx, "", "bob@example.org", false)
			_, err := f.d.Deliver(ctx, Envelope{Recipients: []Recipient{a, b}},
				strings.NewReader("Subject: x\r\n\r\n"+strings.Repeat("body\r\n", 20000)))
			if r := ReasonOf(err); r != tt.want || !r.Temporary() {
				t.Fatalf("got %v (%v), want %v", r, err, tt.want)
			}
			for _, acct := range []maildir.Account{f.alice, f.bob} {
				if n := len(messages(t, f.store, acct, "INBOX")); n != 0 {
					t.Errorf("%s has %d messages after a failed delivery", acct.Address, n)
				}
			}
		})
	}
}

type fsError struct{ errno syscall.Errno }

func (e *fsError) Error() string { return "write: " + e.errno.Error() }
func (e *fsError) Unwrap() error { return e.errno }

func TestDeliverBodyError(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	a, _ := f.d.CheckRecipient(ctx, "", "alice@example.org", false)
	tooBig := errors.New("too big")
	_, err := f.d.Deliver(ctx, Envelope{Recipients: []Recipient{a}},
		io.MultiReader(strings.NewReader("Subject: x\r\n\r\n"), errReader{tooBig}))
	if ReasonOf(err) != ReasonBody || !errors.Is(err, tooBig) {
		t.Fatalf("got %v, want ReasonBody wrapping the reader's error", err)
	}
	if n := len(messages(t, f.store, f.alice, "INBOX")); n != 0 {
		t.Errorf("%d messages stored from a broken body", n)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// deleteBeforeAdd deletes a folder, through the real store, just before
// the delivery adds it as a recipient: the window between resolving a
// subinbox and adding it, which no test can hit by timing alone.
type deleteBeforeAdd struct {
	Txn
	store  *maildir.Store
	folder string
}

func (d *deleteBeforeAdd) AddRecipient(a maildir.Account, folder string) error {
	if folder == d.folder {
		if err := d.store.DeleteFolder(context.Background(), a, folder); err != nil {
			return err
		}
	}
	return d.Txn.AddRecipient(a, folder)
}

// TestDeliverSubinboxDeletedBeforeAdd: a subinbox deleted after it was
// resolved but before the delivery added it gets its copy in INBOX
// (draft 2.2.2), not a 4xx; the INBOX copy is shared with a recipient
// that named INBOX.
func TestDeliverSubinboxDeletedBeforeAdd(t *testing.T) {
	t.Parallel()
	var f *fixture
	f = newFixture(t, func(txn Txn) Txn {
		return &deleteBeforeAdd{Txn: txn, store: f.store, folder: "INBOX/work"}
	})
	ctx := context.Background()
	if err := f.store.CreateFolder(ctx, f.alice, "INBOX/work"); err != nil {
		t.Fatal(err)
	}
	var rcpts []Recipient
	for _, a := range []string{"work/alice@example.org", "alice@example.org"} {
		r, err := f.d.CheckRecipient(ctx, "s@remote.example", a, false)
		if err != nil {
			t.Fatal(a, err)
		}
		rcpts = append(rcpts, r)
	}
	res, err := f.d.Deliver(ctx, Envelope{Recipients: rcpts, ClientIP: "127.0.0.1"},
		strings.NewReader("Subject: x\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if res[0].Folder != "INBOX" || res[0].Kind != metrics.FolderFallback || res[1].Folder != "INBOX" {
		t.Errorf("results %+v, want both in INBOX, the first as fallback", res)
	}
	if n := len(messages(t, f.store, f.alice, "INBOX")); n != 1 {
		t.Errorf("INBOX has %d messages, want 1", n)
	}
}
