package connlimit

import (
	"errors"
	"net"
	"net/netip"
	"sync"
)

// Limiter counts open connections per IP address. A nil *Limiter admits
// everything.
type Limiter struct {
	max int
	mu  sync.Mutex
	n   map[netip.Addr]int
}

// New returns a limiter allowing max connections per address; max <= 0
// means unlimited (nil).
func New(max int) *Limiter {
	if max <= 0 {
		return nil
	}
	return &Limiter{max: max, n: make(map[netip.Addr]int)}
}

// Admit takes a slot for nc's remote address. It returns the connection to
// use from now on (its Close gives the slot back) and true, or nc itself
// and false when the address already holds the maximum.
func (l *Limiter) Admit(nc net.Conn) (net.Conn, bool) {
	if l == nil {
		return nc, true
	}
	ip := addrOf(nc.RemoteAddr())
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[ip] >= l.max {
		return nc, false
	}
	l.n[ip]++
	return &conn{Conn: nc, release: func() { l.release(ip) }}, true
}

// Open is the number of connections ip holds now.
func (l *Limiter) Open(ip netip.Addr) int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[ip]
}

func (l *Limiter) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[ip]--; l.n[ip] <= 0 {
		delete(l.n, ip)
	}
}

func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

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

// CloseWrite half-closes the connection where the one below can (TCP).
// The layers above depend on it for a lingering close: a server that
// writes its last reply, shuts its side and reads what the client still
// sends before closing, because closing with unread input makes the
// kernel send a reset that can destroy the reply before the client reads
// it (smtp's hang-up after 421, net/http after an error response). An
// admitted connection must keep that ability.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
