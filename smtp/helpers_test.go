package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/textproto"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/immp-mail/immp/delivery"
	"github.com/immp-mail/immp/delivery/address"
	"github.com/immp-mail/immp/delivery/guard"
	"github.com/immp-mail/immp/internal/metrics"
	"github.com/immp-mail/immp/internal/syncbuf"
	"github.com/immp-mail/immp/maildir"
)

// env is one test's world: a real store in a temp dir, the real spam
// guard, a Deliverer and a Server listening on 127.0.0.1:0.
type env struct {
	t      testing.TB
	store  *maildir.Store
	d      *delivery.Deliverer
	srv    *Server
	addr   string
	alice  maildir.Account
	bob    maildir.Account
	logs   *syncbuf.Buffer
	served chan error
	m      *metrics.Metrics
}

type setup struct {
	opts  Options
	wrap  func(delivery.Txn) delivery.Txn
	guard delivery.Verifier
	tls   bool // serve implicit TLS instead of cleartext
	// autoCreate: accounts made on first login or delivery (test bed).
	autoCreate bool
	// noPlus: plus addressing off ([delivery] plus_subinbox = false).
	noPlus bool
	// domains: the local domains; nil: example.org.
	domains []string
	// postmaster: delivery.Options.Postmaster.
	postmaster string
}

func newEnv(t testing.TB, cfg setup) *env {
	t.Helper()
	ctx := context.Background()
	store, err := maildir.Open(ctx, maildir.Options{DataDir: t.TempDir(), AutoCreate: cfg.autoCreate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	domains := cfg.domains
	if domains == nil {
		domains = []string{"example.org"}
	}
	mapper := address.Mapper{Domains: domains, PlusSubinbox: !cfg.noPlus}
	e := &env{t: t, store: store, logs: &syncbuf.Buffer{}, m: metrics.New()}
	g := cfg.guard
	if g == nil {
		gg, err := guard.New(guard.Options{Store: store, Mapper: mapper})
		if err != nil {
			t.Fatal(err)
		}
		g = gg
	}
	log := slog.New(slog.NewJSONHandler(e.logs, nil))
	e.d, err = delivery.New(delivery.Options{Store: store, Mapper: mapper, Guard: g, Metrics: e.m,
		Logger: log, Hostname: "mx.example.org", WrapTxn: cfg.wrap, Postmaster: cfg.postmaster})
	if err != nil {
		t.Fatal(err)
	}
	if e.alice, err = store.AddAccount(ctx, "alice@example.org", "pw-alice"); err != nil {
		t.Fatal(err)
	}
	if e.bob, err = store.AddAccount(ctx, "bob@example.org", "pw-bob"); err != nil {
		t.Fatal(err)
	}
	opts := cfg.opts
	opts.Deliverer = e.d
	opts.Logger = log
	opts.Metrics = e.m
	e.srv, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	e.served = make(chan error, 1)
	go func() {
		if cfg.tls {
			e.served <- e.srv.ServeTLS(ln)
		} else {
			e.served <- e.srv.Serve(ln)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.srv.Shutdown(ctx)
	})
	return e
}

func (e *env) dial() *gosmtp.Client {
	e.t.Helper()
	c, err := gosmtp.Dial(e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// send runs one transaction; it returns the RCPT errors and the DATA error.
func send(t *testing.T, c *gosmtp.Client, from string, opts *gosmtp.MailOptions, to []string, body string) ([]error, error) {
	t.Helper()
	if err := c.Mail(from, opts); err != nil {
		return nil, err
	}
	errs := make([]error, len(to))
	ok := 0
	for i, r := range to {
		errs[i] = c.Rcpt(r, nil)
		if errs[i] == nil {
			ok++
		}
	}
	if ok == 0 {
		c.Reset()
		return errs, errors.New("no recipient accepted")
	}
	w, err := c.Data()
	if err != nil {
		return errs, err
	}
	if _, err := io.WriteString(w, body); err != nil {
		return errs, err
	}
	return errs, w.Close()
}

// code returns err's SMTP code and enhanced code as "550 5.1.1", or "".
func code(err error) string {
	var se *gosmtp.SMTPError
	if !errors.As(err, &se) {
		if err == nil {
			return ""
		}
		return "not an SMTPError: " + err.Error()
	}
	ec := se.EnhancedCode
	return fmt.Sprintf("%d %d.%d.%d", se.Code, ec[0], ec[1], ec[2])
}

// msgs returns the messages in one folder of acct.
func (e *env) msgs(acct maildir.Account, folder string) []string {
	e.t.Helper()
	ctx := context.Background()
	f, err := e.store.OpenFolder(ctx, acct, folder)
	if err != nil {
		e.t.Fatalf("open %s: %v", folder, err)
	}
	ms, err := f.Messages(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		rc, err := f.OpenMessage(ctx, m.UID)
		if err != nil {
			e.t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func (e *env) block(acct maildir.Account, pattern string) {
	e.t.Helper()
	ctx := context.Background()
	agents, err := e.store.Agents(ctx, acct)
	if err != nil || len(agents) == 0 {
		e.t.Fatalf("agents: %v %v", agents, err)
	}
	if err := e.store.AddEntry(ctx, acct, agents[0], pattern); err != nil {
		e.t.Fatal(err)
	}
}

// raw is a line-level client for what go-smtp's client cannot send
// (BDAT, pipelined batches, bad input).
type raw struct {
	t  testing.TB
	c  net.Conn
	tp *textproto.Conn
}

func (e *env) raw() *raw {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := &raw{t: e.t, c: c, tp: textproto.NewConn(c)}
	r.expect(220)
	return r
}

// rawTLS is raw over implicit TLS (a server from setup{tls: true}); the
// certificate is not checked.
func (e *env) rawTLS() *raw {
	e.t.Helper()
	c, err := tls.Dial("tcp", e.addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := &raw{t: e.t, c: c, tp: textproto.NewConn(c)}
	r.expect(220)
	return r
}

func (r *raw) write(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatal(err)
	}
}

// dataToAlice greets, opens a transaction from s@remote.example to
// alice and sends DATA: the message data is next.
func (r *raw) dataToAlice() {
	r.t.Helper()
	r.write("EHLO c\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n")
	for _, code := range []int{250, 250, 250, 354} {
		r.expect(code)
	}
}

// reply reads one (possibly multi-line) reply.
func (r *raw) reply() (int, string) {
	r.t.Helper()
	code, msg, err := r.tp.ReadResponse(0)
	if err != nil && code == 0 {
		r.t.Fatalf("read reply: %v", err)
	}
	return code, msg
}

func (r *raw) expect(want int) string {
	r.t.Helper()
	code, msg := r.reply()
	if code != want {
		r.t.Fatalf("got %d %s, want %d", code, msg, want)
	}
	return msg
}

// metric returns the value of the counter name with the given label
// values (in any order of labels), 0 if absent.
func (e *env) metric(name string, labels map[string]string) float64 {
	e.t.Helper()
	mfs, err := e.m.Registry().Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
		}
	}
	return 0
}
