package smtp

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// listener admits connections: over a netutil.Listener (accept backoff,
// per-listener and per-address caps), refusal while shutting down,
// tracking for Shutdown, and implicit TLS above the tracked connection
// (so the tracking sees every read).
type listener struct {
	net.Listener
	srv *Server
	tls *tls.Config
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.tls == nil && l.srv.chaosGreeting(c, remoteIP(c)) { // test bed (chaos.go)
			continue
		}
		tc, ok := l.srv.track(c)
		if !ok {
			continue
		}
		if l.tls != nil {
			return tls.Server(tc, l.tls), nil
		}
		return tc, nil
	}
}

// remoteIP is c's peer address (unmapped), or the zero Addr.
func remoteIP(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// track registers c, or refuses it with a 421 (RFC 5321 3.8) when the
// server is shutting down.
func (s *Server) track(c net.Conn) (*trackedConn, bool) {
	ip := remoteIP(c)
	s.mu.Lock()
	if s.draining {
		why := "421 4.3.2 " + s.opts.Hostname + " Service shutting down\r\n"
		s.mu.Unlock()
		s.serverLog.Info("connection refused", "remote", ip.String(), "reason", reasonShutdown, "status", 421, "reply", why[:len(why)-2])
		go func() {
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte(why))
			c.Close()
		}()
		return nil, false
	}
	tc := &trackedConn{Conn: c, srv: s, ip: ip, idle: s.opts.ReadTimeout, dataTimeout: s.opts.DataTimeout, replied: true}
	s.conns[tc] = struct{}{}
	s.mu.Unlock()
	tc.closed = s.opts.Metrics.ConnOpened(s.service)
	return tc, true
}

func (s *Server) untrack(tc *trackedConn) {
	s.mu.Lock()
	delete(s.conns, tc)
	s.mu.Unlock()
}

// trackedConn is one client connection as the server tracks it.
type trackedConn struct {
	net.Conn
	srv         *Server
	ip          netip.Addr
	idle        time.Duration
	dataTimeout time.Duration // the whole of one message's data
	closed      func()
	once        sync.Once

	mu       sync.Mutex
	inTxn    bool // between MAIL and the end of the transaction
	inData   bool // reading message data: the deadline is renewed per read
	replied  bool // a reply was written since the deadline was last set
	timedOut bool // a read hit the deadline: every later read fails too
	draining bool
	closing  bool // hang up once the next reply is written
	hungUp   bool // the last reply is out: reads end, Close lingers
	lingered bool
	// dataEnd is when the message data being read must be complete;
	// dataErr is the reply a timeout while reading it gets.
	dataEnd time.Time
	dataErr *gosmtp.SMTPError
}

// Read sets the read deadline. Between commands it runs from the last
// reply: the next command must be complete within ReadTimeout however its
// bytes trickle in, so a client sending one byte at a time (slowloris)
// is cut off. During DATA it is renewed before every read (go-smtp sets
// its ReadTimeout once per command, which would bound the whole transfer
// of a large message instead of the silence), but never past the end of
// DataTimeout from the start of the data, so a trickle cannot hold a
// transaction for hours either. A timeout while reading data is an
// *SMTPError (errDataTimeout past DataTimeout, else errTimeout), which
// go-smtp sends as the reply to the data (DATA or BDAT alike), and the
// connection is closed after that reply. While draining, a connection not
// in a transaction reads a timeout, which go-smtp answers with 421 and
// closes.
func (c *trackedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.hungUp {
		c.mu.Unlock()
		return 0, io.EOF
	}
	if c.draining && !c.inTxn {
		c.mu.Unlock()
		return 0, os.ErrDeadlineExceeded
	}
	if c.dataErr != nil {
		err := c.dataErr
		c.mu.Unlock()
		return 0, err
	}
	if c.timedOut {
		c.mu.Unlock()
		return 0, os.ErrDeadlineExceeded
	}
	if c.idle > 0 && (c.replied || c.inData) {
		d := time.Now().Add(c.idle)
		if c.inData && !c.dataEnd.IsZero() && c.dataEnd.Before(d) {
			d = c.dataEnd
		}
		c.Conn.SetReadDeadline(d)
		c.replied = false
	}
	c.mu.Unlock()
	n, err := c.Conn.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// Sticky: bufio.Reader.ReadLine hands a partial line over as a
		// line and drops the error, so go-smtp answers the fragment
		// (501) and reads again; without this, that reply would renew
		// the deadline and a one-byte-a-second client would never go.
		c.mu.Lock()
		c.timedOut = true
		if c.inData {
			c.dataErr = errTimeout
			if !c.dataEnd.IsZero() && !time.Now().Before(c.dataEnd) {
				c.dataErr = errDataTimeout
			}
			c.closing = true
			err = c.dataErr
		}
		c.mu.Unlock()
	}
	return n, err
}

// Write notes that a reply went out: the next read starts the deadline
// for the next command.
func (c *trackedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.replied = true
	closing := c.closing
	c.mu.Unlock()
	n, err := c.Conn.Write(p)
	if closing {
		c.hangUp()
	}
	return n, err
}

// CloseAfterReply ends the connection as soon as the next reply has been
// written (a single-line reply is one Write: go-smtp's textproto writer
// flushes each line).
func (c *trackedConn) CloseAfterReply() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
}

// Lingering close: after the last reply, input the client still sends is
// read and dropped for up to lingerTime (and lingerBytes) before the
// connection is closed. Closing with unread input makes the kernel send a
// reset, which can destroy the reply before the client has read it.
const (
	lingerTime  = 2 * time.Second
	lingerBytes = 1 << 20
)

// hangUp follows the last reply: the write side is shut (the client sees
// the reply, then the end), and reads end, so go-smtp ends the session and
// closes the connection, which then lingers (Close).
func (c *trackedConn) hangUp() {
	c.mu.Lock()
	c.hungUp = true
	c.mu.Unlock()
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		return
	}
	c.Conn.Close()
}

// data marks the message data being read (true) or done with (false);
// DataTimeout runs from the start.
func (c *trackedConn) data(on bool) {
	c.mu.Lock()
	c.inData = on
	c.replied = true
	c.dataEnd = time.Time{}
	if on && c.dataTimeout > 0 {
		c.dataEnd = time.Now().Add(c.dataTimeout)
	}
	c.mu.Unlock()
}

func (c *trackedConn) Close() error {
	c.mu.Lock()
	linger := c.hungUp && !c.lingered
	c.lingered = true
	c.mu.Unlock()
	if linger {
		c.Conn.SetReadDeadline(time.Now().Add(lingerTime))
		io.Copy(io.Discard, io.LimitReader(c.Conn, lingerBytes))
	}
	err := c.Conn.Close()
	c.once.Do(func() {
		c.srv.untrack(c)
		if c.closed != nil {
			c.closed()
		}
	})
	return err
}

// beginTxn marks a transaction open; false when shutting down.
func (c *trackedConn) beginTxn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining {
		return false
	}
	c.inTxn = true
	return true
}

// endTxn marks the transaction over; a draining connection then ends at
// its next read.
func (c *trackedConn) endTxn() {
	c.mu.Lock()
	c.inTxn = false
	if c.draining {
		c.Conn.SetReadDeadline(time.Now())
	}
	c.mu.Unlock()
}

// drain starts the shutdown of this connection: at once when idle, else
// after its transaction.
func (c *trackedConn) drain() {
	c.mu.Lock()
	c.draining = true
	if !c.inTxn {
		c.Conn.SetReadDeadline(time.Now()) // wake a blocked read
	}
	c.mu.Unlock()
}
