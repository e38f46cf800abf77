package outbound

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/foxcpp/go-mockdns"
)

// TestRestartDelivers: messages queued while the MX is down survive a
// restart of the queue (a new Open on the same directory) and are
// delivered by the new runner.
func TestRestartDelivers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := startMX(t, nil)
	_, res := startDNS(t, map[string]mockdns.Zone{
		"remote.test": {A: []string{"127.0.0.1"}},
		"down.test":   {A: []string{"127.0.0.2"}},
	})
	q1, err := Open(Options{Dir: dir, Resolver: res, MXPort: m.port, Local: &bounces{}, RetryInitial: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	q1.Run()
	for i := 0; i < 5; i++ {
		enqueue(t, q1, "alice@local.test", []string{"bob@down.test"}, testMessage("restart"))
	}
	waitFor(t, 5*time.Second, "deferrals", func() bool {
		ents, _ := List(dir)
		for _, e := range ents {
			if e.Rcpts[0].Attempts == 0 {
				return false
			}
		}
		return len(ents) == 5
	})
	// A second Open while the first runs is refused (one runner per queue).
	if _, err := Open(Options{Dir: dir, Local: &bounces{}}); err == nil {
		t.Fatal("a second queue opened the same directory")
	}
	q1.Shutdown(context.Background())

	// down.test comes up at the MX's address.
	_, res2 := startDNS(t, map[string]mockdns.Zone{"down.test": {A: []string{"127.0.0.1"}}})
	q2, _ := testQueue(t, Options{Dir: dir, Resolver: res2, MXPort: m.port})
	if n, _ := q2.Stats(); n != 5 {
		t.Fatalf("reopened queue holds %d, want 5", n)
	}
	// Retries are an hour away: flush makes them due now.
	if running, err := Flush(dir, 5*time.Second); err != nil || !running {
		t.Fatalf("flush: running=%v err=%v", running, err)
	}
	waitFor(t, 10*time.Second, "5 deliveries", func() bool { return len(m.messages()) == 5 })
	waitFor(t, 5*time.Second, "an empty queue", func() bool { n, _ := q2.Stats(); return n == 0 })
	ents, _ := List(dir)
	if len(ents) != 0 {
		t.Errorf("queue files left: %v", ents)
	}
}

// TestIncompleteFileDiscarded: a queue file cut short (a crash while it
// was written, before any 250) is removed at load; a complete one stays.
func TestIncompleteFileDiscarded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := ensureDirs(dir); err != nil {
		t.Fatal(err)
	}
	env := Envelope{ID: "AAAAAAAAAAAAAAAA", Sender: "a@local.test", Recipients: []string{"b@remote.test"}, Created: time.Now()}
	if _, err := writeMessage(osFS{}, dir, &env, testMessage("whole")); err != nil {
		t.Fatal(err)
	}
	env2 := Envelope{ID: "BBBBBBBBBBBBBBBB", Sender: "a@local.test", Recipients: []string{"b@remote.test"}, Created: time.Now()}
	if _, err := writeMessage(osFS{}, dir, &env2, testMessage("cut")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, msgDir, env2.ID)
	fi, _ := os.Stat(p)
	os.Truncate(p, fi.Size()-3)
	_, res := startDNS(t, map[string]mockdns.Zone{})
	q, logs := testQueue(t, Options{Dir: dir, Resolver: res, RetryInitial: time.Hour})
	if n, _ := q.Stats(); n != 1 {
		t.Fatalf("loaded %d messages, want 1", n)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("incomplete file still there")
	}
	if !strings.Contains(logs.String(), "incomplete queue file") {
		t.Errorf("log:\n%s", logs)
	}
}

// TestDeleteWhileRunning: "immp queue delete" through the control
// directory removes a message from a running queue, without a bounce.
func TestDeleteWhileRunning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, res := startDNS(t, map[string]mockdns.Zone{"down.test": {A: []string{"127.0.0.2"}}})
	b := &bounces{domain: "local.test"}
	q, _ := testQueue(t, Options{Dir: dir, Resolver: res, MXPort: 9, Local: b, RetryInitial: time.Hour})
	id := enqueue(t, q, "alice@local.test", []string{"bob@down.test"}, testMessage("del"))
	if running, err := Delete(dir, id, 5*time.Second); err != nil || !running {
		t.Fatalf("delete: running=%v err=%v", running, err)
	}
	if n, _ := q.Stats(); n != 0 {
		t.Errorf("queue holds %d after delete", n)
	}
	if _, _, err := Show(dir, id); err != ErrNotFound {
		t.Errorf("Show after delete: %v", err)
	}
	if _, err := Delete(dir, "../../etc/passwd", time.Second); err != ErrNotFound {
		t.Errorf("a path as ID: %v", err)
	}
	if len(b.to("alice@local.test")) != 0 {
		t.Error("a deleted message was bounced")
	}
}

// TestPipelining: with PIPELINING offered, MAIL, RCPT and DATA go in one
// write: the server sees them in one read.
func TestPipelining(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		c.Write([]byte("220 pipe.test ESMTP\r\n"))
		n, _ := c.Read(buf) // EHLO
		_ = n
		c.Write([]byte("250-pipe.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"))
		time.Sleep(100 * time.Millisecond) // let the whole batch arrive
		n, _ = c.Read(buf)
		got <- string(buf[:n])
		c.Write([]byte("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"))
		n, _ = c.Read(buf)
		for !strings.Contains(string(buf[:n]), "\r\n.\r\n") {
			m, err := c.Read(buf[n:])
			if err != nil {
				return
			}
			n += m
		}
		c.Write([]byte("250 2.0.0 queued\r\n"))
		c.Read(buf)
		c.Write([]byte("221 bye\r\n"))
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	_, res := startDNS(t, map[string]mockdns.Zone{"remote.test": {A: []string{"127.0.0.1"}}})
	q, logs := testQueue(t, Options{Resolver: res, MXPort: port, TLS: TLSOff})
	enqueue(t, q, "alice@local.test", []string{"a@remote.test", "b@remote.test"}, testMessage("pipe"))
	select {
	case batch := <-got:
		want := "MAIL FROM:<alice@local.test> BODY=8BITMIME\r\nRCPT TO:<a@remote.test>\r\nRCPT TO:<b@remote.test>\r\nDATA\r\n"
		if batch != want {
			t.Errorf("first write after EHLO:\n%q\nwant\n%q", batch, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no transaction")
	}
	waitFor(t, 5*time.Second, "sent", func() bool { n, _ := q.Stats(); return n == 0 })
	if !strings.Contains(logs.String(), "status=sent (250 2.0.0 queued)") {
		t.Errorf("log:\n%s", logs)
	}
}

type headerSigner struct{ calls int }

func (s *headerSigner) SignHeader(_ context.Context, msg []byte) (string, error) {
	s.calls++
	if !strings.Contains(string(msg), "From: <alice@local.test>") {
		return "", nil // no key for the From domain
	}
	return "DKIM-Signature: v=1; d=local.test; s=test; b=xyz\r\n", nil
}

// TestSignerAtEnqueue: the Signer is asked once per message, at enqueue,
// and its field is the first line of what the MX receives.
func TestSignerAtEnqueue(t *testing.T) {
	t.Parallel()
	m := startMX(t, nil)
	_, res := startDNS(t, map[string]mockdns.Zone{"remote.test": {A: []string{"127.0.0.1"}}})
	s := &headerSigner{}
	q, _ := testQueue(t, Options{Resolver: res, MXPort: m.port, Signer: s})
	enqueue(t, q, "alice@local.test", []string{"bob@remote.test", "carol@remote.test"}, testMessage("signed"))
	waitFor(t, 5*time.Second, "delivery", func() bool { return len(m.messages()) == 1 })
	if got := string(m.messages()[0].data); !strings.HasPrefix(got, "DKIM-Signature: v=1; d=local.test") {
		t.Errorf("received:\n%s", got)
	}
	if s.calls != 1 {
		t.Errorf("signer called %d times", s.calls)
	}
}

// TestEnqueueAfterShutdown: a transaction finishing during the shutdown
// grace period still gets a durable queue file, sent at the next start.
func TestEnqueueAfterShutdown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := startMX(t, nil)
	_, res := startDNS(t, map[string]mockdns.Zone{"remote.test": {A: []string{"127.0.0.1"}}})
	q, err := Open(Options{Dir: dir, Resolver: res, MXPort: m.port, Local: &bounces{}})
	if err != nil {
		t.Fatal(err)
	}
	q.Run()
	q.Shutdown(context.Background())
	enqueue(t, q, "alice@local.test", []string{"bob@remote.test"}, testMessage("late"))
	q2, _ := testQueue(t, Options{Dir: dir, Resolver: res, MXPort: m.port})
	waitFor(t, 5*time.Second, "delivery after restart", func() bool { return len(m.messages()) == 1 })
	_ = q2
}

// TestLongEnvelope: a message with many recipients (an envelope line
// longer than the first read) is read back whole.
func TestLongEnvelope(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ensureDirs(dir)
	var rcpts []string
	for i := 0; i < 300; i++ {
		rcpts = append(rcpts, "recipient-number-"+strings.Repeat("x", 10)+"@remote"+string(rune('a'+i%26))+".test")
	}
	env := Envelope{ID: "CCCCCCCCCCCCCCCC", Sender: "a@local.test", Recipients: rcpts, Created: time.Now()}
	if _, err := writeMessage(osFS{}, dir, &env, testMessage("long")); err != nil {
		t.Fatal(err)
	}
	ents, err := List(dir)
	if err != nil || len(ents) != 1 || len(ents[0].Rcpts) != 300 {
		t.Fatalf("List: %v, %d entries", err, len(ents))
	}
	e, msg, err := Show(dir, env.ID)
	if err != nil || len(e.Recipients) != 300 || !strings.Contains(string(msg), "Subject: long") {
		t.Fatalf("Show: %v", err)
	}
}
