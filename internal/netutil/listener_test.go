package netutil

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/immp-mail/immp/internal/connlimit"
	"github.com/immp-mail/immp/internal/syncbuf"
)

// failing is a real listener whose next fail Accepts return err first.
type failing struct {
	net.Listener
	mu    sync.Mutex
	fail  int
	err   error
	calls int
}

func (f *failing) Accept() (net.Conn, error) {
	f.mu.Lock()
	f.calls++
	if f.fail != 0 {
		if f.fail > 0 {
			f.fail--
		}
		f.mu.Unlock()
		return nil, f.err
	}
	f.mu.Unlock()
	return f.Listener.Accept()
}

func (f *failing) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func emfile() error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
}

// dial connects from local (an address of 127/8) to ln.
func dial(t *testing.T, ln net.Listener, local string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestAcceptRetriesTemporary: EMFILE from accept is retried after 5 ms,
// 10 ms, 20 ms, ... (net/http's schedule) and never reaches the caller;
// the connection waiting in the queue is accepted afterwards.
func TestAcceptRetriesTemporary(t *testing.T) {
	t.Parallel()
	f := &failing{Listener: listen(t), fail: 9, err: emfile()}
	var logs syncbuf.Buffer
	l := Wrap(f, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), LogEvery: time.Hour})
	var delays []time.Duration
	l.sleeper = func(d time.Duration, stop <-chan struct{}) bool {
		delays = append(delays, d)
		return true
	}
	client := dial(t, f, "127.0.0.1")
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	defer c.Close()
	if c.RemoteAddr().String() != client.LocalAddr().String() {
		t.Errorf("accepted %v, want %v", c.RemoteAddr(), client.LocalAddr())
	}
	want := []time.Duration{5, 10, 20, 40, 80, 160, 320, 640, 1000}
	if len(delays) != len(want) {
		t.Fatalf("delays %v, want %v ms", delays, want)
	}
	for i, d := range delays {
		if d != want[i]*time.Millisecond {
			t.Errorf("delay %d = %v, want %v", i, d, want[i]*time.Millisecond)
		}
	}
	if n := strings.Count(logs.String(), "accept failed"); n != 1 {
		t.Errorf("%d log lines for 9 accept failures, want 1:\n%s", n, logs.String())
	}

	// A success resets the schedule; the real pause is waited.
	f.mu.Lock()
	f.fail = 2
	f.mu.Unlock()
	l.sleeper = sleep
	dial(t, f, "127.0.0.1")
	start := time.Now()
	c2, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
	if el := time.Since(start); el < 15*time.Millisecond {
		t.Errorf("two failures retried after %v, want at least 5+10 ms", el)
	}
}

// TestAcceptPermanentError: anything not temporary is returned at once.
func TestAcceptPermanentError(t *testing.T) {
	t.Parallel()
	bad := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EBADF)}
	f := &failing{Listener: listen(t), fail: -1, err: bad}
	l := Wrap(f, Options{})
	if _, err := l.Accept(); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("Accept = %v, want EBADF", err)
	}
	if n := f.Calls(); n != 1 {
		t.Errorf("%d accept calls, want 1", n)
	}
}

// TestCloseEndsBackoff: Close during a long pause returns from Accept at
// once with an error.
func TestCloseEndsBackoff(t *testing.T) {
	t.Parallel()
	f := &failing{Listener: listen(t), fail: -1, err: emfile()}
	l := Wrap(f, Options{})
	done := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		done <- err
	}()
	// After 8 failures the pause is 640 ms or more.
	deadline := time.Now().Add(5 * time.Second)
	for f.Calls() < 8 {
		if time.Now().After(deadline) {
			t.Fatal("accept not retried")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond)
	start := time.Now()
	l.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Accept after Close returned no error")
		}
		if el := time.Since(start); el > 300*time.Millisecond {
			t.Errorf("Accept returned %v after Close", el)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept did not return after Close")
	}
}

// acceptAll hands every admitted connection to a channel.
func acceptAll(l *Listener) <-chan net.Conn {
	ch := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(ch)
				return
			}
			ch <- c
		}
	}()
	return ch
}

func readAll(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("reading the refusal: %v (got %q)", err, b)
	}
	return string(b)
}

func next(t *testing.T, ch <-chan net.Conn) net.Conn {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no connection admitted")
		return nil
	}
}

// TestMaxConns: the listener holds MaxConns open connections; the next is
// told Busy and closed, never handed out; a closed one frees its slot
// (once, however often it is closed).
func TestMaxConns(t *testing.T) {
	t.Parallel()
	var refused []string
	var mu sync.Mutex
	l := Wrap(listen(t), Options{MaxConns: 2, Busy: []byte("BUSY try again later\r\n"),
		Refused: func(r string) { mu.Lock(); refused = append(refused, r); mu.Unlock() }})
	defer l.Close()
	ch := acceptAll(l)
	dial(t, l, "127.0.0.1")
	a := next(t, ch)
	dial(t, l, "127.0.0.1")
	next(t, ch)
	over := dial(t, l, "127.0.0.1")
	if got := readAll(t, over); got != "BUSY try again later\r\n" {
		t.Errorf("third connection read %q, want the busy line", got)
	}
	select {
	case c := <-ch:
		t.Fatalf("a connection over the cap was handed out: %v", c.RemoteAddr())
	default:
	}
	mu.Lock()
	if len(refused) != 1 || refused[0] != ReasonBusy {
		t.Errorf("Refused heard %v, want [%s]", refused, ReasonBusy)
	}
	mu.Unlock()
	a.Close()
	a.Close()
	if n := l.Open(); n != 1 {
		t.Fatalf("open after one close (twice) = %d, want 1", n)
	}
	dial(t, l, "127.0.0.1")
	next(t, ch).Close()
	if n := l.Open(); n != 1 {
		t.Errorf("open = %d, want 1", n)
	}
}

// TestPerIPCap: PerIP refuses the address over its cap with TooMany,
// other addresses are admitted, and the refused connection takes no slot
// of the listener.
func TestPerIPCap(t *testing.T) {
	t.Parallel()
	l := Wrap(listen(t), Options{MaxConns: 10, PerIP: connlimit.New(1), TooMany: []byte("TOO MANY\r\n")})
	defer l.Close()
	ch := acceptAll(l)
	dial(t, l, "127.0.0.1")
	next(t, ch)
	over := dial(t, l, "127.0.0.1")
	if got := readAll(t, over); got != "TOO MANY\r\n" {
		t.Errorf("second connection from one address read %q", got)
	}
	dial(t, l, "127.0.0.2")
	next(t, ch)
	if n := l.Open(); n != 2 {
		t.Errorf("open = %d, want 2", n)
	}
}

// TestRefusalsBounded: with MaxRefusing refusals in progress (clients
// that neither read nor hang up), a further connection over the cap is
// closed at once without a word.
func TestRefusalsBounded(t *testing.T) {
	t.Parallel()
	l := Wrap(listen(t), Options{MaxConns: 1, Busy: []byte("BUSY\r\n"), MaxRefusing: 1, RefuseTimeout: time.Minute})
	defer l.Close()
	ch := acceptAll(l)
	dial(t, l, "127.0.0.1")
	next(t, ch)
	first := dial(t, l, "127.0.0.1") // refused; the refusal waits for it to hang up
	line, err := bufio.NewReader(first).ReadString('\n')
	if err != nil || line != "BUSY\r\n" {
		t.Fatalf("first refused connection: %q, %v", line, err)
	}
	second := dial(t, l, "127.0.0.1")
	if got := readAll(t, second); got != "" {
		t.Errorf("refused while refusals are full: read %q, want nothing", got)
	}
}

// TestRefusalLogBounded: a burst of refusals makes one log line.
func TestRefusalLogBounded(t *testing.T) {
	t.Parallel()
	var buf syncbuf.Buffer
	l := Wrap(listen(t), Options{MaxConns: 1, Busy: []byte("BUSY\r\n"), LogEvery: time.Hour,
		Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	defer l.Close()
	ch := acceptAll(l)
	dial(t, l, "127.0.0.1")
	next(t, ch)
	for range 5 {
		readAll(t, dial(t, l, "127.0.0.1"))
	}
	if n := strings.Count(buf.String(), "connection refused"); n != 1 {
		t.Errorf("%d log lines for 5 refusals, want 1:\n%s", n, buf.String())
	}
}

func TestTemporary(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{emfile(), true},
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.ENFILE)}, true},
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.ENOBUFS)}, true},
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.ECONNABORTED)}, true},
		{&net.OpError{Op: "accept", Err: os.ErrDeadlineExceeded}, true},
		{&net.OpError{Op: "accept", Err: net.ErrClosed}, false},
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.EBADF)}, false},
		{errors.New("other"), false},
		{nil, false},
	} {
		if got := Temporary(tt.err); got != tt.want {
			t.Errorf("Temporary(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
