package netutil

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/immp-mail/immp/internal/connlimit"
)

// Backoff bounds after a temporary accept failure (net/http's Server.Serve
// uses the same).
const (
	MinBackoff = 5 * time.Millisecond
	MaxBackoff = time.Second
)

// Defaults for Options' zero fields.
const (
	DefaultMaxRefusing   = 32
	DefaultRefuseTimeout = 2 * time.Second
	DefaultLogEvery      = 10 * time.Second
)

// Reasons passed to Options.Refused.
const (
	ReasonBusy  = "max_conns"        // MaxConns connections open on the listener
	ReasonPerIP = "max_conns_per_ip" // the client address holds its maximum
)

// Options configure a Listener.
type Options struct {
	// Protocol names the service in logs ("smtp", "imap", ...).
	Protocol string
	Logger   *slog.Logger
	// MaxConns caps the connections open at once on this listener; zero
	// or less: no cap.
	MaxConns int
	// PerIP caps the connections from one client address; it may be
	// shared by several listeners of one server. nil: no cap.
	PerIP *connlimit.Limiter
	// Busy is written to a connection refused because MaxConns are open,
	// TooMany to one refused by PerIP. Empty: closed without a word (on an
	// implicit-TLS port nothing can be said before a handshake, which a
	// refused client is not worth).
	Busy, TooMany []byte
	// Refused, when set, hears of every refusal with its reason
	// (ReasonBusy or ReasonPerIP): metrics.
	Refused func(reason string)
	// MaxRefusing bounds the refusals in progress (default
	// DefaultMaxRefusing); RefuseTimeout how long one may take (default
	// DefaultRefuseTimeout); LogEvery how often refusals and accept
	// failures are logged (default DefaultLogEvery).
	MaxRefusing   int
	RefuseTimeout time.Duration
	LogEvery      time.Duration
}

// Listener is a net.Listener with backoff on temporary accept failures and
// connection caps (doc.go).
type Listener struct {
	net.Listener
	opts Options
	log  *slog.Logger

	open      atomic.Int64  // admitted connections not yet closed
	refusing  chan struct{} // semaphore of refusals in progress
	closed    chan struct{}
	closeOnce sync.Once

	logMu   sync.Mutex
	logged  map[string]time.Time // last line per kind
	unsaid  map[string]int       // events since that line
	sleeper func(d time.Duration, stop <-chan struct{}) bool
}

// Wrap returns ln with the behaviour of doc.go.
func Wrap(ln net.Listener, opts Options) *Listener {
	if opts.MaxRefusing <= 0 {
		opts.MaxRefusing = DefaultMaxRefusing
	}
	if opts.RefuseTimeout <= 0 {
		opts.RefuseTimeout = DefaultRefuseTimeout
	}
	if opts.LogEvery <= 0 {
		opts.LogEvery = DefaultLogEvery
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Protocol != "" {
		log = log.With("protocol", opts.Protocol)
	}
	return &Listener{
		Listener: ln,
		opts:     opts,
		log:      log.With("listen", ln.Addr().String()),
		refusing: make(chan struct{}, opts.MaxRefusing),
		closed:   make(chan struct{}),
		logged:   make(map[string]time.Time),
		unsaid:   make(map[string]int),
		sleeper:  sleep,
	}
}

// sleep waits d, or until stop is closed (false).
func sleep(d time.Duration, stop <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}

// Accept waits for and returns the next admitted connection. Temporary
// failures are retried after a growing pause; connections over a cap are
// refused and never returned.
func (l *Listener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			select {
			case <-l.closed:
				return nil, err
			default:
			}
			if !Temporary(err) {
				return nil, err
			}
			delay = min(max(2*delay, MinBackoff), MaxBackoff)
			l.note("accept", func(unsaid int) {
				l.log.Warn("accept failed; retrying", "err", err, "in", delay, "failures_unlogged", unsaid)
			})
			if !l.sleeper(delay, l.closed) {
				return nil, net.ErrClosed
			}
			continue
		}
		delay = 0
		if ac, ok := l.admit(c); ok {
			return ac, nil
		}
	}
}

// Close closes the listener and ends a backoff pause at once.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// Open is the number of admitted connections not yet closed.
func (l *Listener) Open() int { return int(l.open.Load()) }

// admit takes the listener's slot and the address's slot for c, or refuses c.
func (l *Listener) admit(c net.Conn) (net.Conn, bool) {
	if n := l.open.Add(1); l.opts.MaxConns > 0 && n > int64(l.opts.MaxConns) {
		l.open.Add(-1)
		l.refuse(c, ReasonBusy, l.opts.Busy)
		return nil, false
	}
	pc, ok := l.opts.PerIP.Admit(c)
	if !ok {
		l.open.Add(-1)
		l.refuse(c, ReasonPerIP, l.opts.TooMany)
		return nil, false
	}
	return &conn{Conn: pc, release: func() { l.open.Add(-1) }}, true
}

// refuse tells c why it is dropped and closes it, in a goroutine of its
// own (a slow reader must not hold up Accept), or closes it at once when
// MaxRefusing refusals are in progress already.
func (l *Listener) refuse(c net.Conn, reason string, line []byte) {
	if l.opts.Refused != nil {
		l.opts.Refused(reason)
	}
	remote := c.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(remote); err == nil {
		remote = host // as "remote" in every log line: the IP (docs/logging.md)
	}
	l.note("refused "+reason, func(unsaid int) {
		l.log.Warn("connection refused", "reason", reason, "remote", remote, "refusals_unlogged", unsaid)
	})
	select {
	case l.refusing <- struct{}{}:
		go func() {
			defer func() { <-l.refusing }()
			sayAndClose(c, line, l.opts.RefuseTimeout)
		}()
	default:
		c.Close()
	}
}

// sayAndClose writes line to c, then half-closes it and reads what the
// client still sends until it hangs up (or the timeout): closing a socket
// with unread input sends a reset, which may destroy the line before the
// client reads it.
func sayAndClose(c net.Conn, line []byte, timeout time.Duration) {
	defer c.Close()
	if len(line) == 0 {
		return
	}
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(line); err != nil {
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		io.CopyN(io.Discard, c, 64<<10)
	}
}

// note calls say for the first event of a kind, then at most once per
// LogEvery, with the number of events it did not report.
func (l *Listener) note(kind string, say func(unsaid int)) {
	now := time.Now()
	l.logMu.Lock()
	if last, ok := l.logged[kind]; ok && now.Sub(last) < l.opts.LogEvery {
		l.unsaid[kind]++
		l.logMu.Unlock()
		return
	}
	n := l.unsaid[kind]
	l.unsaid[kind] = 0
	l.logged[kind] = now
	l.logMu.Unlock()
	say(n)
}

// conn is an admitted connection: its first Close gives the listener's
// slot back (the per-address slot is given back by the connlimit layer
// below it).
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite half-closes the connection where the one below can (TCP):
// net/http uses it to end a response cleanly.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// Temporary reports whether an accept failure is worth retrying: the
// process or the system is out of descriptors or memory (EMFILE, ENFILE,
// ENOBUFS, ENOMEM), a connection died in the queue (ECONNABORTED,
// ECONNRESET, EPROTO), a firewall refused it (EPERM, accept(2)), or a
// deadline passed. A closed listener is not temporary.
func Temporary(err error) bool {
	if err == nil || errors.Is(err, net.ErrClosed) {
		return false
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
			syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EPROTO, syscall.EPERM,
			syscall.EINTR, syscall.EAGAIN, syscall.ETIMEDOUT:
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
