package immp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/delivery/address"
	"github.com/immp-mail/immp/delivery/guard"
	"github.com/immp-mail/immp/internal/testcert"
	"github.com/immp-mail/immp/maildir"
)

// env is one real server over a real store in a temp dir, listening on
// 127.0.0.1 (cleartext with STARTTLS, and implicit TLS).
type env struct {
	t         testing.TB
	ctx       context.Context
	store     *maildir.Store
	guard     *guard.Guard
	srv       *Server
	addr      string
	tlsAddr   string
	clientTLS *tls.Config
	serveErr  chan error
}

const testDomain = "example.org"

func newEnv(t testing.TB, edit ...func(*Options)) *env {
	t.Helper()
	return newEnvS(t, nil, edit...)
}

// newEnvS is newEnv with a hook that adjusts the Server before it serves
// (unexported knobs: the loopback set, the idle timer).
func newEnvS(t testing.TB, hook func(*Server), edit ...func(*Options)) *env {
	t.Helper()
	ctx := context.Background()
	store, err := maildir.Open(ctx, maildir.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	for _, a := range []string{"alice@" + testDomain, "bob@" + testDomain} {
		if _, err := store.AddAccount(ctx, a, "secret"); err != nil {
			t.Fatal(err)
		}
	}
	mapper := address.Mapper{Domains: []string{testDomain}, PlusSubinbox: true}
	srvTLS, cliTLS := testcert.New(t)
	opts := Options{
		Logger:    slog.New(slog.DiscardHandler),
		Store:     store,
		Mapper:    mapper,
		TLSConfig: srvTLS,
	}
	for _, e := range edit {
		e(&opts)
	}
	g, err := guard.New(guard.Options{Store: store, Mapper: opts.Mapper})
	if err != nil {
		t.Fatal(err)
	}
	opts.Guard = g
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if hook != nil {
		hook(srv)
	}
	e := &env{t: t, ctx: ctx, store: store, guard: g, srv: srv, clientTLS: cliTLS, serveErr: make(chan error, 2)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr, e.tlsAddr = ln.Addr().String(), tln.Addr().String()
	go func() { e.serveErr <- srv.Serve(ln) }()
	go func() { e.serveErr <- srv.ServeTLS(tln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return e
}

func (e *env) account(addr string) maildir.Account {
	e.t.Helper()
	a, err := e.store.Account(e.ctx, addr)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// rawConn is a line-level test client: what it sends and expects is the
// exact wire text.
type rawConn struct {
	t  testing.TB
	nc net.Conn
	r  *bufio.Reader
}

// dial connects from 127.0.0.1 and checks the greeting.
func (e *env) dial() *rawConn { return e.dialFrom("") }

// dialFrom connects from a given local loopback address (e.g. 127.0.0.2).
func (e *env) dialFrom(local string) *rawConn {
	e.t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	nc, err := d.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { nc.Close() })
	c := &rawConn{t: e.t, nc: nc, r: bufio.NewReader(nc)}
	if g := c.line(); !strings.HasPrefix(g, "* OK [CAPABILITY IMMP ") || !strings.HasSuffix(g, "] IMMP server ready") {
		e.t.Fatalf("greeting %q", g)
	}
	return c
}

func (c *rawConn) send(lines ...string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.nc.Write([]byte(strings.Join(lines, "\r\n") + "\r\n")); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *rawConn) line() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		c.t.Fatalf("line without CRLF: %q", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// expect reads one line per want and compares them exactly.
func (c *rawConn) expect(want ...string) {
	c.t.Helper()
	for _, w := range want {
		if got := c.line(); got != w {
			c.t.Fatalf("got  %q\nwant %q", got, w)
		}
	}
}

// cmd sends one tagged command and returns every line up to and
// including its completion.
func (c *rawConn) cmd(line string) []string {
	c.t.Helper()
	tag, _, _ := strings.Cut(line, " ")
	c.send(line)
	return c.until(tag + " ")
}

func (c *rawConn) until(prefix string) []string {
	c.t.Helper()
	var out []string
	for {
		l := c.line()
		out = append(out, l)
		if strings.HasPrefix(l, prefix) {
			return out
		}
	}
}

// ok runs a command and fails unless it completes with OK.
func (c *rawConn) ok(line string) []string {
	c.t.Helper()
	out := c.cmd(line)
	if last := out[len(out)-1]; !strings.Contains(last, " OK ") {
		c.t.Fatalf("%q: %q", line, out)
	}
	return out
}

// login logs in as alice.
func (c *rawConn) login(user string) {
	c.t.Helper()
	c.ok("L1 LOGIN " + user + " secret")
}

// closed reports whether the server closed the connection within 5 s.
func (c *rawConn) closed() bool {
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for { // whatever it said last (a NO, a BYE), then the end
		if _, err := c.r.ReadByte(); err != nil {
			return !errors.Is(err, net.ErrClosed) && !isTimeout(err)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func mustPrefix(t testing.TB, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
