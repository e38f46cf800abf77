package imap

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/immp-mail/immp/maildir"
)

const testPassword = "correct horse"

// env is one running server over one store in a temp dir.
type env struct {
	t       testing.TB
	dir     string
	store   *maildir.Store
	srv     *Server
	addr    string
	tlsAddr string
	opts    Options
	done    chan error
}

type envOptions struct {
	autoCreate bool
	noSync     bool
	dir        string // reuse (restart tests)
	mutate     func(*Options)
}

func newEnv(t testing.TB, eo envOptions) *env {
	t.Helper()
	if eo.dir == "" {
		eo.dir = t.TempDir()
	}
	ctx := context.Background()
	store, err := maildir.Open(ctx, maildir.Options{DataDir: eo.dir, AutoCreate: eo.autoCreate, NoSync: eo.noSync})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	// Every test fails if the server logged a panic (imapserver recovers
	// panics per connection, e.g. from a MailboxTracker misuse).
	ph := &panicHandler{Handler: testLogger(t).Handler(), hits: new(atomic.Int32)}
	t.Cleanup(func() {
		if n := ph.hits.Load(); n > 0 {
			t.Errorf("server logged %d panic(s)", n)
		}
	})
	opts := Options{Store: store, Logger: slog.New(ph)}
	if eo.mutate != nil {
		eo.mutate(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: eo.dir, store: store, srv: srv, addr: ln.Addr().String(), opts: opts, done: make(chan error, 2)}
	go func() { e.done <- srv.Serve(ln) }()
	if opts.TLSConfig != nil {
		tln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		e.tlsAddr = tln.Addr().String()
		go func() { e.done <- srv.ServeTLS(tln) }()
	}
	t.Cleanup(e.stop)
	return e
}

// stop shuts the server down and closes the store (idempotent).
func (e *env) stop() {
	if e.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		e.t.Errorf("shutdown: %v", err)
	}
	if err := <-e.done; !errors.Is(err, ErrServerClosed) {
		e.t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
	if e.tlsAddr != "" {
		<-e.done
	}
	e.store.Close()
	e.srv = nil
}

// testLogger sends server logs to the test log (shown on failure / -v).
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("IMAP_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type panicHandler struct {
	slog.Handler
	hits *atomic.Int32
}

func (h *panicHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *panicHandler) Handle(ctx context.Context, r slog.Record) error {
	found := strings.Contains(r.Message, "panic")
	r.Attrs(func(a slog.Attr) bool {
		if strings.Contains(a.Value.String(), "panic") {
			found = true
		}
		return true
	})
	if found {
		h.hits.Add(1)
	}
	if h.Handler.Enabled(ctx, r.Level) {
		return h.Handler.Handle(ctx, r)
	}
	return nil
}

func (h *panicHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &panicHandler{Handler: h.Handler.WithAttrs(as), hits: h.hits}
}

func (h *panicHandler) WithGroup(g string) slog.Handler {
	return &panicHandler{Handler: h.Handler.WithGroup(g), hits: h.hits}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// account makes an account with testPassword.
func (e *env) account(addr string) maildir.Account {
	e.t.Helper()
	a, err := e.store.AddAccount(context.Background(), addr, testPassword)
	if err != nil && !errors.Is(err, maildir.ErrAccountExists) {
		e.t.Fatalf("add account: %v", err)
	}
	if err != nil {
		a, err = e.store.Account(context.Background(), addr)
		if err != nil {
			e.t.Fatal(err)
		}
	}
	return a
}

// client logs in over a real socket; unilateral data goes to h.
func (e *env) client(user string, h *imapclient.UnilateralDataHandler) *imapclient.Client {
	e.t.Helper()
	c, err := imapclient.DialInsecure(e.addr, &imapclient.Options{UnilateralDataHandler: h})
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	e.t.Cleanup(func() { c.Close() })
	if err := c.Login(user, testPassword).Wait(); err != nil {
		e.t.Fatalf("login %s: %v", user, err)
	}
	return c
}

// deliver files a message through the mailbox layer's durable delivery,
// as SMTP does, and returns its UID.
func (e *env) deliver(acct maildir.Account, folder, subject string) uint32 {
	e.t.Helper()
	ctx := context.Background()
	d, err := e.store.BeginDelivery(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := d.Write(testMessage(subject)); err != nil {
		e.t.Fatal(err)
	}
	if err := d.AddRecipient(acct, folder); err != nil {
		e.t.Fatal(err)
	}
	got, err := d.Commit(ctx)
	if err != nil {
		e.t.Fatalf("deliver: %v", err)
	}
	return got[0].UID
}

func testMessage(subject string) []byte {
	return []byte("From: Bob <bob@example.org>\r\n" +
		"To: alice@example.org\r\n" +
		"Subject: " + subject + "\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 -0700\r\n" +
		"Message-Id: <" + strings.ReplaceAll(subject, " ", ".") + "@example.org>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" +
		"Hello, " + subject + ".\r\n")
}

// folderUIDs is the store's view of a folder.
func (e *env) folderUIDs(acct maildir.Account, name string) []uint32 {
	e.t.Helper()
	f, err := e.store.OpenFolder(context.Background(), acct, name)
	if err != nil {
		e.t.Fatal(err)
	}
	msgs, err := f.Messages(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	var out []uint32
	for _, m := range msgs {
		out = append(out, m.UID)
	}
	return out
}

func fetchAll(t testing.TB, c *imapclient.Client, opts *imap.FetchOptions) []*imapclient.FetchMessageBuffer {
	t.Helper()
	var set imap.SeqSet
	set.AddRange(1, 0)
	msgs, err := c.Fetch(set, opts).Collect()
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	return msgs
}

// counter follows a client's view of the number of messages from
// unilateral EXISTS and EXPUNGE responses.
type counter struct {
	mu       sync.Mutex
	n        uint32
	expunged []uint32
	exists   chan uint32
	flags    int
}

func newCounter() *counter { return &counter{exists: make(chan uint32, 1024)} }

func (c *counter) handler() *imapclient.UnilateralDataHandler {
	return &imapclient.UnilateralDataHandler{
		Expunge: func(seq uint32) {
			c.mu.Lock()
			c.expunged = append(c.expunged, seq)
			c.n--
			c.mu.Unlock()
		},
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				c.mu.Lock()
				c.n = *d.NumMessages
				c.mu.Unlock()
				select {
				case c.exists <- *d.NumMessages:
				default:
				}
			}
		},
		Fetch: func(msg *imapclient.FetchMessageData) {
			c.mu.Lock()
			c.flags++
			c.mu.Unlock()
			for msg.Next() != nil {
			}
		},
	}
}

func (c *counter) get() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *counter) set(n uint32) {
	c.mu.Lock()
	c.n = n
	c.mu.Unlock()
}

func imapCode(err error) imap.ResponseCode {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie.Code
	}
	return ""
}

func mustCI(t testing.TB, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed; CI must install it", tool)
	}
	t.Skipf("%s is not installed", tool)
	return ""
}

func plainClient(user, pass string) sasl.Client { return sasl.NewPlainClient("", user, pass) }
