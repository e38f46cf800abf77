package smtp

import (
	"strings"
	"testing"
)

// RFC 5321 4.5.1 over a socket: postmaster@ every served domain, any
// case, and a bare <Postmaster>, are accepted with auto_create off and no
// postmaster account, and filed into the configured account.
func TestPostmasterAccepted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{domains: []string{"example.org", "example.net"}, postmaster: "bob@example.org"})
	r := e.raw()
	r.write("EHLO c\r\nMAIL FROM:<s@remote.example>\r\n")
	r.expect(250)
	r.expect(250)
	for _, rcpt := range []string{"postmaster@example.org", "PostMaster@Example.NET", "Postmaster", "abuse/postmaster@example.net"} {
		r.write("RCPT TO:<" + rcpt + ">\r\n")
		if code, msg := r.reply(); code != 250 {
			t.Fatalf("RCPT TO:<%s>: %d %s", rcpt, code, msg)
		}
	}
	r.write("RCPT TO:<hostmaster@example.net>\r\n")
	if msg := r.expect(550); !strings.HasPrefix(msg, "5.1.1") {
		t.Fatalf("hostmaster: %s", msg)
	}
	r.write("DATA\r\n")
	r.expect(354)
	r.write("Subject: abuse report\r\n\r\nx\r\n.\r\n")
	r.expect(250)
	if got := e.msgs(e.bob, "INBOX"); len(got) != 1 || !strings.Contains(got[0], "Subject: abuse report") {
		t.Fatalf("bob's INBOX %q", got)
	}
	if n := len(e.msgs(e.alice, "INBOX")); n != 0 {
		t.Fatalf("alice got %d", n)
	}
}
