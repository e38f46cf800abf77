package imap

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// dialFrom connects from a loopback address and returns the greeting.
func dialFrom(t *testing.T, local, addr string) (net.Conn, string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return c, line
}

// TestConnectionCaps: over MaxConns connections on the listener a client
// reads "* BYE [UNAVAILABLE] ... try again later", over MaxConnsPerIP
// from its address "* BYE [LIMIT] ..." (RFC 9051 7.1.5, RFC 5530), and
// is closed; a closed connection frees its slots.
func TestConnectionCaps(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{mutate: func(o *Options) { o.MaxConns = 3; o.MaxConnsPerIP = 2 }})
	const busy = "* BYE [UNAVAILABLE] Too many connections, try again later\r\n"
	const perIP = "* BYE [LIMIT] Too many connections from your address\r\n"
	a, line := dialFrom(t, "127.0.0.1", e.addr)
	if !strings.HasPrefix(line, "* OK") {
		t.Fatalf("greeting %q", line)
	}
	dialFrom(t, "127.0.0.1", e.addr)
	if _, line := dialFrom(t, "127.0.0.1", e.addr); line != perIP {
		t.Errorf("third from one address: %q, want %q", line, perIP)
	}
	if _, line := dialFrom(t, "127.0.0.2", e.addr); !strings.HasPrefix(line, "* OK") {
		t.Errorf("other address: %q", line)
	}
	if _, line := dialFrom(t, "127.0.0.3", e.addr); line != busy {
		t.Errorf("fourth connection: %q, want %q", line, busy)
	}
	io.WriteString(a, "Z LOGOUT\r\n")
	io.ReadAll(a)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, line := dialFrom(t, "127.0.0.3", e.addr)
		if strings.HasPrefix(line, "* OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not given back: %q", line)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestQuota: APPEND and COPY that would take the account over its
// storage quota are NO [OVERQUOTA] (RFC 5530) and store nothing; MOVE,
// which adds nothing to the account, and EXPUNGE work over the quota.
func TestQuota(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, envOptions{})
	acct := e.account("alice@example.org")
	msg := testMessage("quota")
	if err := e.store.SetQuota(ctx, acct.Address, int64(len(msg))*3/2); err != nil {
		t.Fatal(err)
	}
	e.deliver(acct, "INBOX", "quota")
	c := e.client("alice@example.org", nil)

	appendMsg := func() error {
		ac := c.Append("INBOX", int64(len(msg)), nil)
		ac.Write(msg)
		ac.Close()
		_, err := ac.Wait()
		return err
	}
	if err := appendMsg(); imapCode(err) != imap.ResponseCodeOverQuota {
		t.Fatalf("APPEND over quota: %v, want NO [OVERQUOTA]", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Copy(imap.SeqSetNum(1), "Archive").Wait(); imapCode(err) != imap.ResponseCodeOverQuota {
		t.Fatalf("COPY over quota: %v, want NO [OVERQUOTA]", err)
	}
	if n := len(e.folderUIDs(acct, "Archive")) + len(e.folderUIDs(acct, "INBOX")); n != 1 {
		t.Fatalf("%d messages after refused APPEND and COPY, want 1", n)
	}
	if _, err := c.Move(imap.SeqSetNum(1), "Archive").Wait(); err != nil {
		t.Fatalf("MOVE over quota: %v", err)
	}
	if err := e.store.SetQuota(ctx, acct.Address, int64(len(msg))-1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("Archive", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatalf("EXPUNGE over quota: %v", err)
	}
	if err := e.store.SetQuota(ctx, acct.Address, int64(len(msg))); err != nil {
		t.Fatal(err)
	}
	if err := appendMsg(); err != nil {
		t.Fatalf("APPEND that fits exactly: %v", err)
	}
}
