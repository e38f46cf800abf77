package immp

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/immp-mail/immp/immp/wire"
	"github.com/immp-mail/immp/internal/logrl"
	"github.com/immp-mail/immp/internal/recovery"
	"github.com/immp-mail/immp/maildir"
)

// state is a session's state (draft 3).
type state int

const (
	stateNotAuth state = iota
	stateAuth
	stateAnonymous
	stateLogout
)

// Abuse limits (profile 1): over-limit commands, and BAD commands in a row,
// after which the session ends with "* BYE".
const (
	maxLimitErrors = 3
	maxBadInARow   = 20
)

// conn is one client session.
type conn struct {
	s      *Server
	raw    net.Conn // the TCP connection: deadlines and forced close
	nc     net.Conn // raw, or the TLS connection over it
	ip     netip.Addr
	isTLS  bool
	log    *slog.Logger
	r      *wire.Reader
	w      *wire.Writer
	ctx    context.Context
	state  state
	acct   maildir.Account
	limits int           // over-limit commands so far
	bads   int           // BAD replies in a row
	done   chan struct{} // closed when the session ends

	mu      sync.Mutex
	busy    bool // executing a command (Shutdown lets it finish)
	waiting bool // idle with nothing read yet: the next octets start a command
}

// cmdReader sits under the codec (and under TLS) and starts the command
// timer when the first octets of a command arrive.
type cmdReader struct {
	net.Conn
	c *conn
}

func (r cmdReader) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	if n > 0 {
		r.c.commandStarted()
	}
	return n, err
}

// commandStarted moves the read deadline from the autologout timer to the
// command timer (never later, and not while shutting down).
func (c *conn) commandStarted() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.waiting || c.s.closing.Load() {
		return
	}
	c.waiting = false
	c.raw.SetReadDeadline(time.Now().Add(min(c.s.opts.CommandTimeout, c.s.idle)))
}

func (s *Server) handle(nc net.Conn, implicitTLS bool) {
	defer s.wg.Done()
	closed := s.opts.Metrics.ConnOpened("immp")
	defer closed()
	defer nc.Close()

	ip := netip.IPv6Unspecified()
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		ip = ap.Addr().Unmap()
	}
	c := &conn{
		s:     s,
		raw:   nc,
		ip:    ip,
		isTLS: implicitTLS,
		ctx:   s.ctx,
		busy:  true,
		done:  make(chan struct{}),
		// Limited per connection and per address (internal/logrl).
		log: logrl.Logger(s.log, logrl.NewLimiter(s.opts.ConnLogBudget, nil), s.logAddrs.Get(ip)).
			With("session", s.nextID.Add(1), "remote", ip.String(), "tls", implicitTLS),
	}
	defer close(c.done)
	// A panic in this session (a bug) is logged with its stack and ends
	// this connection only: the deferred closes and removeConn still run.
	defer func() {
		if v := recover(); v != nil {
			recovery.Log(c.log, "panic in IMMP connection; closing it", v)
		}
	}()
	defer func() { logrl.Flush(context.Background(), c.log) }()
	c.nc = cmdReader{Conn: nc, c: c}
	if implicitTLS {
		tc := tls.Server(c.nc, s.opts.TLSConfig)
		ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			c.log.Info("TLS handshake failed", "err", err)
			return
		}
		c.nc = tc
	}
	c.r = wire.NewReader(c.nc, s.opts.Limits)
	c.w = wire.NewWriter(c.nc)
	if !s.addConn(c) {
		c.bye("IMMP server shutting down")
		return
	}
	defer s.removeConn(c)
	c.log.Info("connected")
	c.raw.SetWriteDeadline(time.Now().Add(writeTimeout))
	c.w.Status("*", wire.OK, "CAPABILITY "+c.capabilities(), "IMMP server ready")
	if c.w.Flush() != nil {
		return
	}
	c.loop()
	c.log.Info("disconnected")
}

// loop reads and executes commands until the session ends.
func (c *conn) loop() {
	for c.state != stateLogout {
		if c.r.Buffered() == 0 {
			if err := c.w.Flush(); err != nil {
				return
			}
		}
		if !c.idle() {
			c.bye("IMMP server shutting down")
			return
		}
		raw, err := c.r.ReadCommand(c.sendContinuation)
		c.setBusy()
		if err != nil {
			if !c.readFailed(err) {
				return
			}
			continue
		}
		cmd, err := wire.ParseCommand(raw)
		if err != nil {
			var se *wire.SyntaxError
			errors.As(err, &se)
			c.badSyntax(se)
		} else {
			c.execute(cmd)
		}
		if c.bads >= maxBadInARow {
			c.bye("Too many invalid commands")
			return
		}
	}
	c.w.Flush()
}

// idle marks the session as waiting for a command and arms the autologout
// timer, unless the server is shutting down.
func (c *conn) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.s.closing.Load() {
		return false
	}
	c.busy = false
	c.waiting = true
	c.raw.SetReadDeadline(time.Now().Add(c.autologout()))
	return true
}

// autologout is the time a session may stay without a command: the
// profile's 30 minutes (draft 5.4) once logged in as an account, the
// short pre-authentication timer before that and in the anonymous state.
func (c *conn) autologout() time.Duration {
	if c.state == stateAuth {
		return c.s.idle
	}
	return c.s.preauth
}

// writeTimeout bounds how long a client may leave our replies unread
// before the session is dropped.
const writeTimeout = 5 * time.Minute

func (c *conn) setBusy() {
	c.mu.Lock()
	c.busy = true
	c.mu.Unlock()
	c.raw.SetWriteDeadline(time.Now().Add(writeTimeout))
}

// interruptIfIdle wakes a session blocked waiting for a command, so that
// it sees the shutdown; a busy one notices after its command.
func (c *conn) interruptIfIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.busy {
		c.raw.SetReadDeadline(time.Now())
	}
}

// readFailed handles an error from ReadCommand; false ends the session.
func (c *conn) readFailed(err error) bool {
	var le *wire.LimitError
	switch {
	case errors.As(err, &le):
		c.limits++
		text := "Command line too long"
		if le.Literal {
			text = "Literal too large"
		}
		tag := le.Tag
		if tag == "" && !le.Untagged {
			tag = "*"
		}
		c.w.Status(tag, wire.BAD, "LIMIT", text)
		c.s.opts.Metrics.IMMPCommand("UNKNOWN", wire.BAD)
		c.log.Info("command refused", "tag", le.Tag, "status", wire.BAD, "reply", text)
		if c.limits >= maxLimitErrors {
			c.bye("Too many oversized commands")
			return false
		}
		return true
	case errors.Is(err, wire.ErrTooLarge):
		c.w.Status("*", wire.BAD, "LIMIT", "Literal too large")
		c.bye("Too much data")
		return false
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.mu.Lock()
		started := !c.waiting
		c.mu.Unlock()
		switch {
		case c.s.closing.Load():
			c.bye("IMMP server shutting down")
		case started:
			c.bye("Command not completed in time")
		default:
			c.bye("Autologout; idle for too long")
		}
		return false
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return false
	default:
		c.log.Debug("read failed", "err", err)
		return false
	}
}

// bye sends "* BYE text" and flushes (draft 3.3).
func (c *conn) bye(text string) {
	c.raw.SetWriteDeadline(time.Now().Add(10 * time.Second))
	c.w.Status("*", wire.BYE, "", text)
	c.w.Flush()
	c.state = stateLogout
}

// sendContinuation asks for a synchronizing literal (draft 4.3).
func (c *conn) sendContinuation() error {
	c.w.Continue("Ready for literal data")
	return c.w.Flush()
}

func (c *conn) badSyntax(se *wire.SyntaxError) {
	tag := se.Tag
	if tag == "" && !se.Untagged {
		tag = "*"
	}
	name := se.Name
	if name == "" {
		name = "UNKNOWN"
	}
	c.bads++
	c.w.Status(tag, wire.BAD, "", se.Msg)
	c.s.opts.Metrics.IMMPCommand(name, wire.BAD)
	c.log.Info("immp command", "tag", se.Tag, "cmd", name, "status", wire.BAD, "reply", se.Msg)
}

// handler runs one command; nil means OK "<NAME> completed".
type handler func(c *conn, cmd *wire.Command) error

// allowed lists the states in which each command is valid (draft 6,
// profile 3); the VERIFY commands are valid in every state.
var allowed = map[string][]state{
	wire.CAPABILITY: {stateNotAuth, stateAuth, stateAnonymous},
	wire.NOOP:       {stateNotAuth, stateAuth, stateAnonymous},
	wire.LOGOUT:     {stateNotAuth, stateAuth, stateAnonymous},

	wire.VERIFYINSPAMGUARDAGENT: {stateNotAuth, stateAuth, stateAnonymous},
	wire.VERIFYSUBINBOX:         {stateNotAuth, stateAuth, stateAnonymous},

	wire.STARTTLS:     {stateNotAuth},
	wire.LOGIN:        {stateNotAuth},
	wire.AUTHENTICATE: {stateNotAuth},

	wire.CREATE: {stateAuth}, wire.DELETE: {stateAuth}, wire.RENAME: {stateAuth},
	wire.REPLACE: {stateAuth}, wire.MOVE: {stateAuth}, wire.LIST: {stateAuth},

	wire.SEARCHSPAMENTRY: {stateAuth}, wire.STORESPAMENTRY: {stateAuth}, wire.DELETESPAMENTRY: {stateAuth},
	wire.SEARCHSPAMGUARDAGENT: {stateAuth}, wire.STORESPAMGUARDAGENT: {stateAuth}, wire.DELETESPAMGUARDAGENT: {stateAuth},
}

func handlerFor(name string) handler {
	switch name {
	case wire.CAPABILITY:
		return (*conn).cmdCapability
	case wire.NOOP:
		return (*conn).cmdNoop
	case wire.LOGOUT:
		return (*conn).cmdLogout
	case wire.STARTTLS:
		return (*conn).cmdStartTLS
	case wire.LOGIN:
		return (*conn).cmdLogin
	case wire.AUTHENTICATE:
		return (*conn).cmdAuthenticate
	case wire.CREATE:
		return (*conn).cmdCreate
	case wire.DELETE:
		return (*conn).cmdDelete
	case wire.RENAME:
		return (*conn).cmdRename
	case wire.REPLACE:
		return (*conn).cmdReplace
	case wire.MOVE:
		return (*conn).cmdMove
	case wire.LIST:
		return (*conn).cmdList
	case wire.SEARCHSPAMENTRY:
		return (*conn).cmdSearchSpamEntry
	case wire.STORESPAMENTRY:
		return (*conn).cmdStoreSpamEntry
	case wire.DELETESPAMENTRY:
		return (*conn).cmdDeleteSpamEntry
	case wire.SEARCHSPAMGUARDAGENT:
		return (*conn).cmdSearchAgent
	case wire.STORESPAMGUARDAGENT:
		return (*conn).cmdStoreAgent
	case wire.DELETESPAMGUARDAGENT:
		return (*conn).cmdDeleteAgent
	case wire.VERIFYINSPAMGUARDAGENT:
		return (*conn).cmdVerifyGuard
	case wire.VERIFYSUBINBOX:
		return (*conn).cmdVerifySubinbox
	}
	return nil
}

// execute checks the state, runs the handler and writes its completion.
func (c *conn) execute(cmd *wire.Command) {
	start := time.Now()
	var err error
	ok := false
	for _, st := range allowed[cmd.Name] {
		ok = ok || st == c.state
	}
	if !ok {
		err = errBad("Command not valid in this state")
	} else {
		if c.s.fault != nil {
			c.s.fault(cmd.Name)
		}
		err = handlerFor(cmd.Name)(c, cmd)
	}
	if errors.Is(err, errAnswered) {
		// The handler wrote its own completion (STARTTLS).
		c.s.opts.Metrics.IMMPCommand(cmd.Name, wire.OK)
		c.log.Info("immp command", "tag", cmd.Tag, "cmd", cmd.Name, "status", wire.OK)
		c.bads = 0
		return
	}
	status, code, text := c.translate(cmd, err)
	if status == wire.BAD {
		c.bads++
	} else {
		c.bads = 0
	}
	tag := cmd.Tag
	if cmd.Untagged {
		tag = "" // draft 6.5: the completion has no tag either
	}
	c.w.Status(tag, status, code, text)
	c.s.opts.Metrics.IMMPCommand(cmd.Name, status)
	attrs := []any{"tag", cmd.Tag, "cmd", cmd.Name, "status", status,
		"dur_ms", float64(time.Since(start).Microseconds()) / 1000}
	if code != "" {
		attrs = append(attrs, "code", code)
	}
	c.log.Info("immp command", attrs...)
}
