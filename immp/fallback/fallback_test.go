package fallback

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/immp-mail/immp/imap"
	"github.com/immp-mail/immp/maildir"
)

const password = "secret pw"

// startIMAP runs the real IMAP server over a real store.
func startIMAP(t *testing.T) (*maildir.Store, maildir.Account, string) {
	t.Helper()
	ctx := context.Background()
	store, err := maildir.Open(ctx, maildir.Options{DataDir: t.TempDir(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := store.AddAccount(ctx, "alice@example.org", password)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := imap.New(imap.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		store.Close()
	})
	return store, acct, ln.Addr().String()
}

// closedPort is a loopback address where nothing listens (connection
// refused), like an immp server with its IMMP listener off.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestFallsBackToIMAP(t *testing.T) {
	t.Parallel()
	store, acct, imapAddr := startIMAP(t)
	ctx := context.Background()
	m, fellBack, err := Dial(ctx, Options{IMMPAddr: closedPort(t), IMAPAddr: imapAddr,
		User: "alice@example.org", Password: password})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer m.Close()
	if !fellBack {
		t.Fatal("did not report falling back")
	}
	if err := m.Create(ctx, "work"); err != nil {
		t.Fatal(err)
	}
	if err := m.Create(ctx, "office/work"); err != nil {
		t.Fatal(err)
	}
	// Seen by the mailbox layer, hence by delivery and IMMP, at once.
	if got, err := store.ResolveSubinbox(ctx, acct, "office/work"); err != nil || got != "INBOX/work/office" {
		t.Errorf("ResolveSubinbox = %q, %v", got, err)
	}
	if err := m.Create(ctx, "x/missing"); err == nil {
		t.Error("CREATE without parent succeeded")
	}
	if err := m.Rename(ctx, "office/work", "desk/work"); err != nil {
		t.Fatal(err)
	}
	if err := m.Create(ctx, "home"); err != nil {
		t.Fatal(err)
	}
	if err := m.Move(ctx, "desk", "work", "home"); err != nil {
		t.Fatal(err)
	}
	got, err := m.List(ctx, "", "*")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"desk/home", "home", "work"}; !slices.Equal(got, want) {
		t.Errorf("List(\"\", \"*\") = %v, want %v", got, want)
	}
	if got, _ := m.List(ctx, "home", "%"); !slices.Equal(got, []string{"desk/home"}) {
		t.Errorf("List(home, %%) = %v", got)
	}
	if got, _ := m.List(ctx, "inbox/", "%"); !slices.Contains(got, "inbox/home") {
		t.Errorf("List(inbox/, %%) = %v", got)
	}
	if err := m.Replace(ctx, "home", "work"); !errors.Is(err, ErrNeedsIMMP) {
		t.Errorf("Replace over IMAP: %v, want ErrNeedsIMMP", err)
	}
	if err := m.Delete(ctx, "desk/home"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ResolveSubinbox(ctx, acct, "desk/home"); err == nil {
		t.Error("deleted subinbox still resolves")
	}
}

// Only a refused connection falls back; a bad password over IMAP fails.
func TestFallbackReportsErrors(t *testing.T) {
	t.Parallel()
	_, _, imapAddr := startIMAP(t)
	_, fellBack, err := Dial(context.Background(), Options{IMMPAddr: closedPort(t), IMAPAddr: imapAddr,
		User: "alice@example.org", Password: "wrong"})
	if err == nil || !fellBack {
		t.Errorf("bad password: fellBack %v, err %v", fellBack, err)
	}
}
