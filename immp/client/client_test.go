package client_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/delivery/address"
	"github.com/immp-mail/immp/delivery/guard"
	"github.com/immp-mail/immp/immp"
	"github.com/immp-mail/immp/immp/client"
	"github.com/immp-mail/immp/internal/testcert"
	"github.com/immp-mail/immp/maildir"
)

// start runs a real server over a real store; it returns the cleartext
// and implicit-TLS addresses and a client TLS config trusting the server.
func start(t *testing.T) (addr, tlsAddr string, cli *client.Options) {
	t.Helper()
	ctx := context.Background()
	store, err := maildir.Open(ctx, maildir.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.AddAccount(ctx, "alice@example.org", "secret"); err != nil {
		t.Fatal(err)
	}
	mapper := address.Mapper{Domains: []string{"example.org"}}
	g, err := guard.New(guard.Options{Store: store, Mapper: mapper})
	if err != nil {
		t.Fatal(err)
	}
	srvTLS, cliTLS := testcert.New(t)
	srv, err := immp.New(immp.Options{Logger: slog.New(slog.DiscardHandler), Store: store, Guard: g,
		Mapper: mapper, TLSConfig: srvTLS})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	tln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	go srv.ServeTLS(tln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return ln.Addr().String(), tln.Addr().String(), &client.Options{TLS: cliTLS}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestClientCommands(t *testing.T) {
	t.Parallel()
	addr, _, _ := start(t)
	c, err := client.Dial(ctx(t), addr, client.Options{User: "alice@example.org", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var m client.SubinboxManager = c
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.Create(ctx(t), "work"))
	must(m.Create(ctx(t), "office/work"))
	must(m.Create(ctx(t), "b\u00fcro"))              // non-ASCII: a literal
	must(m.Create(ctx(t), "line\"quote\\back/work")) // escapes
	if err := m.Create(ctx(t), "work"); !client.HasCode(err, "ALREADYEXISTS") {
		t.Fatalf("create twice: %v", err)
	}
	var ce *client.Error
	if err := m.Delete(ctx(t), "nothere"); !errors.As(err, &ce) || ce.Status != "NO" || ce.Code != "NONEXISTENT" {
		t.Fatalf("delete unknown: %#v", err)
	}
	must(m.Rename(ctx(t), "office/work", "desk/work"))
	must(m.Create(ctx(t), "home"))
	must(m.Move(ctx(t), "desk", "work", "home"))
	must(m.Create(ctx(t), "old"))
	must(m.Replace(ctx(t), "old", "home"))
	names, err := m.List(ctx(t), "", "*")
	must(err)
	want := []string{"b\u00fcro", "desk/home", "home", "line\"quote\\back/work", "work"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("List = %q, want %q", names, want)
	}
	items, err := c.ListItems(ctx(t), "INBOX/", "%")
	must(err)
	if len(items) != 3 || items[1].Name != "INBOX/home" || items[1].Flags[0] != `\HasChildren` {
		t.Fatalf("ListItems = %+v", items)
	}
	must(c.VerifySubinbox(ctx(t), "old", "alice@example.org"))
	if err := c.VerifySubinbox(ctx(t), "nothere", "alice@example.org"); !client.HasCode(err, "NONEXISTENT") {
		t.Fatalf("verify: %v", err)
	}

	must(c.StoreSpamGuardAgent(ctx(t), "news"))
	must(c.StoreSpamEntry(ctx(t), "news", "*@spam.example"))
	must(c.StoreSpamEntry(ctx(t), "news", "b\u00f6se@example.net"))
	got, err := c.SearchSpamEntry(ctx(t), "news", "*spam*")
	must(err)
	if !reflect.DeepEqual(got, []string{"*@spam.example"}) {
		t.Fatalf("search = %q", got)
	}
	got, err = c.SearchSpamEntry(ctx(t), "news")
	must(err)
	if len(got) != 2 {
		t.Fatalf("all entries = %q", got)
	}
	agents, err := c.SearchSpamGuardAgent(ctx(t), "")
	must(err)
	if !reflect.DeepEqual(agents, []string{"alice@example.org", "news"}) {
		t.Fatalf("agents = %q", agents)
	}
	if err := c.VerifyInSpamGuardAgent(ctx(t), "x@spam.example", "alice@example.org"); !client.HasCode(err, "BLOCKED") {
		t.Fatalf("verify blocked: %v", err)
	}
	must(c.VerifyInSpamGuardAgent(ctx(t), "x@ok.example", "alice@example.org"))
	must(c.DeleteSpamEntry(ctx(t), "news", "*@spam.example"))
	must(c.DeleteSpamGuardAgent(ctx(t), "news"))
	if err := c.DeleteSpamGuardAgent(ctx(t), "news"); !client.HasCode(err, "NONEXISTENT") {
		t.Fatalf("delete agent twice: %v", err)
	}
	caps, err := c.Capability(ctx(t))
	must(err)
	if len(caps) == 0 || caps[0] != "IMMP" {
		t.Fatalf("caps %q", caps)
	}
	must(c.Noop(ctx(t)))
	must(c.Logout(ctx(t)))
	if err := c.Noop(ctx(t)); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("after logout: %v", err)
	}
}

func TestClientTLS(t *testing.T) {
	t.Parallel()
	addr, tlsAddr, o := start(t)
	// STARTTLS, then LOGIN via AUTHENTICATE PLAIN.
	c, err := client.Dial(ctx(t), addr, client.Options{TLS: o.TLS, StartTLS: true, User: "alice", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	if c.HasCap("STARTTLS") {
		t.Fatal("STARTTLS still offered after the upgrade")
	}
	if err := c.Create(ctx(t), "work"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	// Implicit TLS.
	c, err = client.Dial(ctx(t), tlsAddr, client.Options{TLS: o.TLS, User: "alice@example.org", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx(t), "work"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	// Wrong password: a typed error.
	_, err = client.Dial(ctx(t), tlsAddr, client.Options{TLS: o.TLS, User: "alice@example.org", Password: "nope"})
	if !client.HasCode(err, "AUTHENTICATIONFAILED") {
		t.Fatalf("bad login: %v", err)
	}
	// LOGIN and the anonymous state.
	c, err = client.Dial(ctx(t), addr, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ctx(t), "anonymous", "x"); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx(t), "x"); !errors.As(err, new(*client.Error)) {
		t.Fatalf("create as anonymous: %v", err)
	}
	if err := c.VerifySubinbox(ctx(t), "INBOX", "alice@example.org"); err != nil {
		t.Fatal(err)
	}
}

// TestClientSyncLiteral: without LITERAL+ the client waits for "+". A tiny
// fake server is the only way to make a server without LITERAL+.
func TestClientSyncLiteral(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.Write([]byte("* OK [CAPABILITY IMMP] hi\r\n"))
		buf := make([]byte, 0, 128)
		b := make([]byte, 128)
		for !containsStr(string(buf), "{5}\r\n") {
			n, err := nc.Read(b)
			if err != nil {
				return
			}
			buf = append(buf, b[:n]...)
		}
		nc.Write([]byte("+ go ahead\r\n"))
		for !containsStr(string(buf), "b\u00fcro\r\n") {
			n, err := nc.Read(b)
			if err != nil {
				return
			}
			buf = append(buf, b[:n]...)
		}
		got <- string(buf)
		nc.Write([]byte("C1 OK CREATE completed\r\n"))
	}()
	c, err := client.Dial(ctx(t), ln.Addr().String(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Create(ctx(t), "b\u00fcro"); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "C1 CREATE {5}\r\nb\u00fcro\r\n" {
		t.Fatalf("sent %q", s)
	}
}

func containsStr(s, sub string) bool { return strings.Contains(s, sub) }

func TestClientContextCancel(t *testing.T) {
	t.Parallel()
	// A server that greets and then never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			nc.Write([]byte("* OK [CAPABILITY IMMP] hi\r\n"))
			time.Sleep(5 * time.Second)
			nc.Close()
		}
	}()
	c, err := client.Dial(ctx(t), ln.Addr().String(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := c.Noop(cx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Noop: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("context ignored")
	}
	if err := c.Noop(context.Background()); err == nil {
		t.Fatal("broken connection reused")
	}
}
