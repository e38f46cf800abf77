package client

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/immp-mail/immp/immp/wire"
)

// SubinboxManager is the subinbox management the project's CLI needs; the
// IMMP Client implements it, and the IMAP fallback (draft 5.6) too.
type SubinboxManager interface {
	Create(ctx context.Context, name string) error
	Delete(ctx context.Context, name string) error
	Rename(ctx context.Context, oldName, newName string) error
	Replace(ctx context.Context, oldName, newName string) error
	Move(ctx context.Context, leaf, from, to string) error
	// List returns the names as the server sent them.
	List(ctx context.Context, reference, pattern string) ([]string, error)
	Close() error
}

var _ SubinboxManager = (*Client)(nil)

// Options say how to connect.
type Options struct {
	// TLS, when set, secures the connection: with StartTLS the client
	// connects in cleartext and upgrades; without, TLS starts at once
	// (implicit-TLS listener).
	TLS      *tls.Config
	StartTLS bool
	// User and Password, when User is set, log in right after connecting:
	// AUTHENTICATE PLAIN when offered, else LOGIN.
	User, Password string
	// Dialer, when set, dials (for a local address or a timeout).
	Dialer *net.Dialer
}

// Error is a command that did not complete with OK.
type Error struct {
	Status string // "NO" or "BAD" (or "BYE" when the server hung up)
	Code   string // response code without brackets, "" if none
	Text   string
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("immp: %s [%s] %s", e.Status, e.Code, e.Text)
	}
	return fmt.Sprintf("immp: %s %s", e.Status, e.Text)
}

// HasCode reports whether err is an *Error with response code code.
func HasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && strings.EqualFold(e.Code, code)
}

// ErrClosed is returned by commands on a closed or broken connection.
var ErrClosed = errors.New("immp: connection closed")

// Client is one IMMP connection.
type Client struct {
	mu     sync.Mutex
	nc     net.Conn
	r      *wire.Reader
	w      *wire.Writer
	caps   map[string]bool
	tag    int
	broken error
	isTLS  bool
}

// clientLimits: servers' lines are short, but a LIST may be long.
var clientLimits = wire.Limits{MaxLine: 1 << 20, MaxLiteral: 16 << 20}

// Dial connects to addr, reads the greeting, upgrades with STARTTLS when
// asked, and logs in when opts.User is set.
func Dial(ctx context.Context, addr string, opts Options) (*Client, error) {
	d := opts.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	isTLS := false
	if opts.TLS != nil && !opts.StartTLS {
		cfg := tlsFor(opts.TLS, addr)
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc, isTLS = tc, true
	}
	c, err := newClient(ctx, nc)
	if err != nil {
		return nil, err
	}
	c.isTLS = isTLS
	if opts.TLS != nil && opts.StartTLS {
		if err := c.StartTLS(ctx, tlsFor(opts.TLS, addr)); err != nil {
			c.Close()
			return nil, err
		}
	}
	if opts.User != "" {
		if c.HasCap("AUTH=PLAIN") {
			err = c.Authenticate(ctx, opts.User, opts.Password)
		} else {
			err = c.Login(ctx, opts.User, opts.Password)
		}
		if err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// tlsFor fills in ServerName from addr when the config has none.
func tlsFor(cfg *tls.Config, addr string) *tls.Config {
	if cfg.ServerName != "" {
		return cfg
	}
	cfg = cfg.Clone()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		cfg.ServerName = host
	}
	return cfg
}

// New runs the client side over an established connection: it reads the
// greeting. Most callers use Dial.
func New(ctx context.Context, nc net.Conn) (*Client, error) { return newClient(ctx, nc) }

func newClient(ctx context.Context, nc net.Conn) (*Client, error) {
	c := &Client{nc: nc, r: wire.NewReader(nc, clientLimits), w: wire.NewWriter(nc)}
	stop := c.watch(ctx)
	defer stop()
	resp, err := c.read()
	if err != nil {
		nc.Close()
		return nil, err
	}
	if resp.Tag != "*" || resp.Status != wire.OK {
		nc.Close()
		if resp.Status == wire.BYE {
			return nil, &Error{Status: wire.BYE, Code: resp.Code, Text: resp.Text}
		}
		return nil, fmt.Errorf("immp: unexpected greeting %s %s", resp.Status, resp.Text)
	}
	if resp.Code == "CAPABILITY" {
		c.setCaps(strings.Fields(resp.CodeArg))
	} else if _, err := c.capability(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) setCaps(caps []string) {
	c.caps = make(map[string]bool, len(caps))
	for _, s := range caps {
		c.caps[strings.ToUpper(s)] = true
	}
}

// HasCap reports whether the server advertised capability name.
func (c *Client) HasCap(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.caps[strings.ToUpper(name)]
}

// Close closes the connection without LOGOUT.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken == nil {
		c.broken = ErrClosed
	}
	return c.nc.Close()
}

// watch applies ctx to the connection: its deadline, and cancellation by
// interrupting I/O. The returned func must be called when the I/O is done.
func (c *Client) watch(ctx context.Context) func() {
	if dl, ok := ctx.Deadline(); ok {
		c.nc.SetDeadline(dl)
	} else {
		c.nc.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	return func() { stop() }
}

// read reads one response.
func (c *Client) read() (*wire.Response, error) {
	raw, err := c.r.ReadCommand(nil)
	if err != nil {
		return nil, err
	}
	return wire.ParseResponse(raw)
}

// arg is one command argument as it goes on the wire.
type arg struct {
	s    string
	atom bool // sent as is
	list []arg
}

func str(s string) arg  { return arg{s: s} }
func atom(s string) arg { return arg{s: s, atom: true} }

// send writes one command, handling literals; it returns the tag. For a
// synchronizing literal it flushes and waits for the continuation.
func (c *Client) send(name string, args []arg) (string, error) {
	c.tag++
	tag := "C" + strconv.Itoa(c.tag)
	var b []byte
	b = append(b, tag...)
	b = append(b, ' ')
	b = append(b, name...)
	var err error
	for _, a := range args {
		b = append(b, ' ')
		if b, err = c.appendArg(b, a, tag); err != nil {
			return tag, err
		}
	}
	b = append(b, '\r', '\n')
	if _, err := c.w.RawBytes(b); err != nil {
		return tag, err
	}
	return tag, c.w.Flush()
}

func (c *Client) appendArg(b []byte, a arg, tag string) ([]byte, error) {
	switch {
	case a.list != nil:
		b = append(b, '(')
		for i, e := range a.list {
			if i > 0 {
				b = append(b, ' ')
			}
			var err error
			if b, err = c.appendArg(b, e, tag); err != nil {
				return b, err
			}
		}
		return append(b, ')'), nil
	case a.atom:
		return append(b, a.s...), nil
	case !wire.NeedsLiteral(a.s):
		return wire.AppendString(b, a.s), nil
	case c.caps["LITERAL+"]:
		b = append(b, '{')
		b = strconv.AppendInt(b, int64(len(a.s)), 10)
		b = append(b, "+}\r\n"...)
		return append(b, a.s...), nil
	}
	// Synchronizing literal: send what we have and wait for "+".
	b = append(b, '{')
	b = strconv.AppendInt(b, int64(len(a.s)), 10)
	b = append(b, "}\r\n"...)
	if _, err := c.w.RawBytes(b); err != nil {
		return nil, err
	}
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	for {
		resp, err := c.read()
		if err != nil {
			return nil, err
		}
		if resp.Tag == "+" {
			break
		}
		if resp.Tag == tag {
			return nil, &Error{Status: resp.Status, Code: resp.Code, Text: resp.Text}
		}
	}
	return append([]byte{}, a.s...), nil
}

// do runs one command: it sends it, passes each untagged data response to
// onData, and returns nil on OK or an *Error.
func (c *Client) do(ctx context.Context, name string, args []arg, onData func(*wire.Response)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return c.broken
	}
	stop := c.watch(ctx)
	defer stop()
	err := c.exchange(name, args, onData)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Status == wire.BYE {
			// The connection's state is unknown now.
			if ctx.Err() != nil {
				err = ctx.Err()
			} else if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
				err = context.DeadlineExceeded // the conn deadline fired first
			}
			c.broken = err
			c.nc.Close()
		}
	}
	return err
}

func (c *Client) exchange(name string, args []arg, onData func(*wire.Response)) error {
	tag, err := c.send(name, args)
	if err != nil {
		return err
	}
	var bye *wire.Response
	for {
		resp, err := c.read()
		if err != nil {
			if bye != nil {
				return &Error{Status: wire.BYE, Code: bye.Code, Text: bye.Text}
			}
			return err
		}
		switch {
		case resp.Tag == tag:
			if resp.Status == wire.OK {
				return nil
			}
			return &Error{Status: resp.Status, Code: resp.Code, Text: resp.Text}
		case resp.Tag == "*" && resp.Status == wire.BYE:
			bye = resp
		case resp.Tag == "*" && resp.Name == "CAPABILITY":
			if caps, ok := resp.Strings(); ok {
				c.setCaps(caps)
			}
			if onData != nil {
				onData(resp)
			}
		case resp.Tag == "*" && resp.Name != "":
			if onData != nil {
				onData(resp)
			}
		}
	}
}

// capability refreshes the capability list (draft 6.1.1).
func (c *Client) capability(ctx context.Context) ([]string, error) {
	var caps []string
	err := c.exchange(wire.CAPABILITY, nil, func(r *wire.Response) {
		caps, _ = r.Strings()
	})
	return caps, err
}

// Capability asks for the capability list (draft 6.1.1).
func (c *Client) Capability(ctx context.Context) ([]string, error) {
	var caps []string
	err := c.do(ctx, wire.CAPABILITY, nil, func(r *wire.Response) { caps, _ = r.Strings() })
	return caps, err
}

// Noop does nothing; it resets the server's autologout timer (draft 6.1.2).
func (c *Client) Noop(ctx context.Context) error { return c.do(ctx, wire.NOOP, nil, nil) }

// Logout ends the session (draft 6.1.3) and closes the connection.
func (c *Client) Logout(ctx context.Context) error {
	err := c.do(ctx, wire.LOGOUT, nil, nil)
	c.Close()
	return err
}

// StartTLS upgrades the connection (RFC 9051 6.2.1) and refreshes the
// capabilities.
func (c *Client) StartTLS(ctx context.Context, cfg *tls.Config) error {
	if err := c.do(ctx, wire.STARTTLS, nil, nil); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	stop := c.watch(ctx)
	defer stop()
	tc := tls.Client(c.nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.broken = err
		c.nc.Close()
		return err
	}
	c.nc, c.isTLS = tc, true
	c.r = wire.NewReader(tc, clientLimits)
	c.w = wire.NewWriter(tc)
	_, err := c.capability(ctx)
	return err
}

// Login logs in with LOGIN (draft 6.2.2); user "anonymous" enters the
// anonymous state.
func (c *Client) Login(ctx context.Context, user, password string) error {
	return c.do(ctx, wire.LOGIN, []arg{str(user), str(password)}, nil)
}

// Authenticate logs in with AUTHENTICATE PLAIN (draft 6.2.1, RFC 4616),
// sending the response with the command when the server offers SASL-IR.
func (c *Client) Authenticate(ctx context.Context, user, password string) error {
	resp := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
	if c.HasCap("SASL-IR") {
		return c.do(ctx, wire.AUTHENTICATE, []arg{atom("PLAIN"), atom(resp)}, nil)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return c.broken
	}
	stop := c.watch(ctx)
	defer stop()
	tag, err := c.send(wire.AUTHENTICATE, []arg{atom("PLAIN")})
	if err != nil {
		return err
	}
	for {
		r, err := c.read()
		if err != nil {
			c.broken = err
			return err
		}
		switch r.Tag {
		case "+":
			c.w.Raw(resp)
			if err := c.w.Flush(); err != nil {
				return err
			}
		case tag:
			if r.Status == wire.OK {
				return nil
			}
			return &Error{Status: r.Status, Code: r.Code, Text: r.Text}
		}
	}
}
