package smtp

import (
	"strings"
	"testing"
	"time"
)

// A bare CR before the CRLF of a line, the end line's included, must not
// hide the end of the data nor a leading dot (third_party/go-smtp
// PATCHES.md): each message ends where its CRLF "." CRLF is, the next
// command is read as a command, and the text is stored as sent, bare CRs
// kept, stuffing dots removed. Over a socket, pipelined, as a client
// would send it.
func TestDataBareCR(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	r := e.raw()
	r.c.SetDeadline(time.Now().Add(5 * time.Second))
	r.write("EHLO c\r\n")
	r.expect(250)
	bodies := []struct{ sent, stored string }{
		{"Subject: 1\r\n\r\nline\r\r\n", "line\r\r\n"},
		{"Subject: 2\r\n\r\n\r\r\n", "\r\r\n"},
		{"Subject: 3\r\n\r\n.\r\r\n..dot\r\n", "\r\r\n.dot\r\n"},
		{"Subject: 4\r\n\r\n.\rX\r\n", "\rX\r\n"},
		{"Subject: 5\r\n\r\na\r\r\r\n..b\r\n", "a\r\r\r\n.b\r\n"},
	}
	for _, b := range bodies {
		r.write("MAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n")
		r.expect(250)
		r.expect(250)
		r.expect(354)
		r.write(b.sent + ".\r\nNOOP\r\n")
		r.expect(250) // the message, not swallowed by the next one
		if msg := r.expect(250); !strings.Contains(msg, "done nothing") {
			t.Fatalf("after %q: NOOP answered %q", b.sent, msg)
		}
	}
	got := e.msgs(e.alice, "INBOX")
	if len(got) != len(bodies) {
		t.Fatalf("%d messages, want %d", len(got), len(bodies))
	}
	for i, b := range bodies {
		if !strings.HasSuffix(got[i], "\r\n\r\n"+b.stored) {
			t.Errorf("message %d ends %q, want %q", i+1, got[i][max(0, len(got[i])-30):], b.stored)
		}
	}
}
