package smtp

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/internal/testcert"
)

// trickle writes s one octet every gap until it is written or the
// connection fails; it reports on done.
func trickle(r *raw, s string, gap time.Duration) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < len(s); i++ {
			if _, err := r.c.Write([]byte{s[i]}); err != nil {
				return
			}
			time.Sleep(gap)
		}
	}()
	return done
}

// expectLastReply reads one reply, then the end of the connection: the
// reply must be the last thing the server sent.
func expectLastReply(t *testing.T, r *raw, code int, enhanced string) {
	t.Helper()
	if msg := r.expect(code); !strings.HasPrefix(msg, enhanced) {
		t.Fatalf("got %d %s, want %d %s", code, msg, code, enhanced)
	}
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if rest, err := io.ReadAll(r.c); err != nil || len(rest) != 0 {
		t.Fatalf("after the reply: %q %v, want the connection closed", rest, err)
	}
}

// A client that keeps sending, but too slowly, is not held forever by a
// timeout that each octet renews: the message data as a whole must be in
// within DataTimeout, else 451 4.4.2, the connection is closed and
// nothing is stored. DATA, BDAT, and DATA under TLS alike.
func TestDataTimeout(t *testing.T) {
	t.Parallel()
	const budget = time.Second
	for _, mode := range []string{"DATA", "BDAT", "TLS"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			opts := Options{ReadTimeout: 5 * time.Second, DataTimeout: budget}
			var s setup
			if mode == "TLS" {
				server, _ := testcert.New(t)
				opts.TLSConfig = server
				s.tls = true
			}
			s.opts = opts
			e := newEnv(t, s)
			var r *raw
			if mode == "TLS" {
				r = e.rawTLS()
			} else {
				r = e.raw()
			}
			r.write("EHLO c\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.org>\r\n")
			r.expect(250)
			r.expect(250)
			r.expect(250)
			body := "Subject: slow\r\n\r\n" + strings.Repeat("x", 200) + "\r\n"
			if mode == "BDAT" {
				r.write("BDAT 300 LAST\r\n")
			} else {
				r.write("DATA\r\n")
				r.expect(354)
			}
			start := time.Now()
			done := trickle(r, body+".\r\n", 100*time.Millisecond)
			expectLastReply(t, r, 451, "4.4.2")
			// The server's clock starts as it answers 354, a little before ours.
			if d := time.Since(start); d < budget-200*time.Millisecond || d > budget+3*time.Second {
				t.Errorf("cut off after %v, want about %v", d, budget)
			}
			<-done
			if n := len(e.msgs(e.alice, "INBOX")); n != 0 {
				t.Errorf("%d messages stored", n)
			}
		})
	}
}

// The deadline is per message: a fast message right after a slow one that
// made it in time is not cut short by the earlier one's clock.
func TestDataTimeoutPerMessage(t *testing.T) {
	t.Parallel()
	// Two messages of about 1.2s each: together past the 2s budget.
	e := newEnv(t, setup{opts: Options{DataTimeout: 2 * time.Second}})
	r := e.raw()
	r.write("EHLO c\r\n")
	r.expect(250)
	for i := 0; i < 2; i++ {
		r.write("MAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n")
		r.expect(250)
		r.expect(250)
		r.expect(354)
		for j := 0; j < 4; j++ { // about 1.2s, within the budget
			r.write("line\r\n")
			time.Sleep(300 * time.Millisecond)
		}
		r.write(".\r\n")
		r.expect(250)
	}
	if n := len(e.msgs(e.alice, "INBOX")); n != 2 {
		t.Fatalf("%d messages", n)
	}
}

// Silence inside the data is the idle timeout: one 421 4.4.2, then the
// connection is closed (no second reply).
func TestDataIdleTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{opts: Options{ReadTimeout: time.Second}})
	r := e.raw()
	r.dataToAlice()
	r.write("Subject: then nothing\r\n")
	expectLastReply(t, r, 421, "4.4.2")
}
