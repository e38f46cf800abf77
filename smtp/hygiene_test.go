package smtp

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/immp-mail/immp/internal/testcert"
)

func TestStartTLS(t *testing.T) {
	t.Parallel()
	server, client := testcert.New(t)
	e := newEnv(t, setup{opts: Options{TLSConfig: server}})
	c := e.dial()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not offered with a certificate")
	}
	c.Close()
	tc, err := gosmtp.DialStartTLS(e.addr, client)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if ok, _ := tc.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered again inside TLS")
	}
	errs, err := send(t, tc, "s@remote.example", nil, []string{"alice@example.org"}, "Subject: tls\r\n\r\nx\r\n")
	if err != nil || errs[0] != nil {
		t.Fatal(errs, err)
	}
	got := e.msgs(e.alice, "INBOX")
	if len(got) != 1 || !strings.Contains(got[0], "(using TLS 1.3 with cipher ") || !strings.Contains(got[0], "with ESMTPS id") {
		t.Fatalf("TLS not recorded in Received: %q", got)
	}
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	server, client := testcert.New(t)
	e := newEnv(t, setup{opts: Options{TLSConfig: server}, tls: true})
	c, err := gosmtp.DialTLS(e.addr, client)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	errs, err := send(t, c, "s@remote.example", nil, []string{"alice@example.org"}, "Subject: tls\r\n\r\nx\r\n")
	if err != nil || errs[0] != nil {
		t.Fatal(errs, err)
	}
	if got := e.msgs(e.alice, "INBOX"); len(got) != 1 || !strings.Contains(got[0], "ESMTPS") {
		t.Fatalf("got %q", got)
	}
}

func TestMaxRecipients(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{opts: Options{MaxRecipients: 2}})
	c := e.dial()
	errs, err := send(t, c, "s@remote.example", nil,
		[]string{"alice@example.org", "bob@example.org", "work/alice@example.org"}, "Subject: x\r\n\r\nx\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := code(errs[2]); got != "452 4.5.3" {
		t.Errorf("third RCPT: %q, want 452 4.5.3", got)
	}
}

func TestMaxConnsPerIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{opts: Options{MaxConnsPerIP: 2}})
	a, b := e.raw(), e.raw()
	_ = a
	c, err := gosmtp.Dial(e.addr)
	if err == nil {
		err = c.Hello("client.example") // the greeting is read here
		c.Close()
	}
	if got := code(err); got != "421 4.7.0" {
		t.Fatalf("got %q (%v), want 421 4.7.0", got, err)
	}
	// A freed slot is usable again.
	b.write("QUIT\r\n")
	b.expect(221)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := gosmtp.Dial(e.addr)
		if err == nil {
			err = c.Hello("client.example")
			c.Close()
			if err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not freed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMaxConns: past MaxConns open connections on the listener, a client
// is answered 421 4.7.0 (RFC 5321 3.8) and closed; the refusal is counted.
func TestMaxConns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{opts: Options{MaxConns: 2, MaxConnsPerIP: -1}})
	a, b := e.raw(), e.raw()
	_ = b
	nc, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	got, _ := io.ReadAll(nc)
	if want := "421 4.7.0 " + e.srv.opts.Hostname + " Too many connections, try again later\r\n"; string(got) != want {
		t.Errorf("third connection read %q, want %q", got, want)
	}
	if n := e.metric("immp_connections_refused_total", map[string]string{"protocol": "smtp", "reason": "max_conns"}); n != 1 {
		t.Errorf("refusals counted: %v, want 1", n)
	}
	a.write("QUIT\r\n")
	a.expect(221)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := gosmtp.Dial(e.addr)
		if err == nil {
			err = c.Hello("client.example")
			c.Close()
			if err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not freed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReadTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{opts: Options{ReadTimeout: time.Second}})
	r := e.raw()
	r.dataToAlice()
	// A slow but steady sender is not cut off: the timeout is silence,
	// not the whole transfer (go-smtp's own would be).
	r.write("Subject: slow\r\n\r\n")
	for i := 0; i < 4; i++ {
		time.Sleep(400 * time.Millisecond)
		r.write("line\r\n")
	}
	r.write(".\r\n")
	r.expect(250)
	// Silence: 421 and closed.
	start := time.Now()
	if msg := r.expect(421); !strings.HasPrefix(msg, "4.4.2") {
		t.Errorf("got %q", msg)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("idle connection closed after %v", d)
	}
	if n := len(e.msgs(e.alice, "INBOX")); n != 1 {
		t.Errorf("%d messages", n)
	}
}

// A command trickled in one byte at a time (slowloris) must be complete
// within ReadTimeout of the last reply: renewing the deadline on every
// read, as during DATA, would keep such a client forever.
func TestSlowCommandCutOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{opts: Options{ReadTimeout: time.Second}})
	r := e.raw()
	start := time.Now()
	go func() {
		for _, b := range []byte("EHLO slow.example\r\n") {
			if _, err := r.c.Write([]byte{b}); err != nil {
				return // cut off
			}
			time.Sleep(250 * time.Millisecond)
		}
	}()
	// go-smtp (through bufio.Reader.ReadLine) takes the partial line as a
	// command first, then reports the timeout: 421 4.4.2.
	for {
		code, msg := r.reply()
		if code == 421 {
			if !strings.HasPrefix(msg, "4.4.2") {
				t.Errorf("got %q", msg)
			}
			break
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("slow command cut off after %v, want about 1s", d)
	}
}

// Shutdown closes idle connections at once and lets a DATA in progress
// finish and commit; Serve then returns ErrServerClosed.
func TestShutdownDrains(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	idle := e.raw()
	idle.write("EHLO c\r\n")
	idle.expect(250)

	busy := e.raw()
	busy.write("EHLO c\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n")
	busy.expect(250)
	busy.expect(250)
	busy.expect(250)
	busy.expect(354)
	busy.write("Subject: drained\r\n\r\nfirst half\r\n")

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- e.srv.Shutdown(ctx)
	}()
	if c, _ := idle.reply(); c != 421 {
		t.Errorf("idle connection got %d, want 421", c)
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a transaction in progress", err)
	case <-time.After(200 * time.Millisecond):
	}
	// New connections are refused meanwhile.
	if c, err := gosmtp.Dial(e.addr); err == nil {
		if err := c.Hello("client.example"); err == nil {
			t.Error("connection accepted while shutting down")
		}
		c.Close()
	}
	busy.write("second half\r\n.\r\n")
	busy.expect(250)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-e.served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
	got := e.msgs(e.alice, "INBOX")
	if len(got) != 1 || !strings.HasSuffix(got[0], "first half\r\nsecond half\r\n") {
		t.Fatalf("drained message: %q", got)
	}
	// The drained connection is closed after its reply.
	if _, err := io.ReadAll(busy.c); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Logf("read after drain: %v", err)
	}
}

func TestShutdownDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	busy := e.raw()
	busy.write("EHLO c\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n")
	for _, c := range []int{250, 250, 250, 354} {
		busy.expect(c)
	}
	busy.write("Subject: never finished\r\n\r\n")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := e.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want deadline exceeded", err)
	}
	busy.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(busy.c); err != nil && strings.Contains(err.Error(), "timeout") {
		t.Fatalf("connection not closed after the deadline: %v", err)
	}
	if n := len(e.msgs(e.alice, "INBOX")); n != 0 {
		t.Errorf("%d messages from an unfinished transaction", n)
	}
}
