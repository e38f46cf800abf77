package smtp

import (
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/internal/throttle"
)

// The server's last reply survives input the client pipelined behind it.
// A client refused once too often is answered 421 and the connection is
// closed; closing a socket with unread input makes the kernel send a
// reset, which can destroy the reply before the client reads it. So the
// server half-closes and reads what still comes (a lingering close): the
// client reads every reply, then the end of the stream, never a reset.
// With the default per-address cap, as in production: the cap's layer
// once hid the half-close, so the close was a race with the client's
// input (TestDataTimeout failed now and then on a reset).
func TestLastReplySurvivesPipelinedInput(t *testing.T) {
	t.Parallel()
	lim := throttle.New(throttle.Options{Free: 100, Base: time.Millisecond, Max: time.Millisecond})
	e := newEnv(t, setup{opts: Options{MaxBadRecipients: 2, RcptThrottle: lim}})
	r := e.raw()
	// Far more than the server's read buffer: it is still unread when
	// the server hangs up.
	junk := strings.Repeat("NOOP\r\n", 40000)
	go r.c.Write([]byte("EHLO c\r\nMAIL FROM:<s@remote.example>\r\n" +
		"RCPT TO:<nobody1@example.org>\r\nRCPT TO:<nobody2@example.org>\r\n" + junk))
	r.expect(250)
	r.expect(250)
	r.expect(550)
	expectLastReply(t, r, 421, "4.7.0")
}
