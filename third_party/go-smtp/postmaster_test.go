package smtp_test

import (
	"io"
	"strings"
	"testing"
)

// RFC 5321 4.5.1: "RCPT TO:<Postmaster>" without a domain MUST be
// supported (immp); other mailboxes without a domain stay a syntax error.
func TestServerRcptBarePostmaster(t *testing.T) {
	be, s, c, scanner := testServerAuthenticated(t)
	defer s.Close()
	defer c.Close()

	io.WriteString(c, "MAIL FROM:<root@nsa.gov>\r\n")
	scanner.Scan()
	for _, rcpt := range []string{"<Postmaster>", "<postmaster> ", "<POSTMASTER>"} {
		io.WriteString(c, "RCPT TO:"+rcpt+"\r\n")
		scanner.Scan()
		if !strings.HasPrefix(scanner.Text(), "250 ") {
			t.Fatalf("RCPT TO:%s: %s", rcpt, scanner.Text())
		}
	}
	for _, rcpt := range []string{"<alice>", "<postmasterx>", "<postmaster"} {
		io.WriteString(c, "RCPT TO:"+rcpt+"\r\n")
		scanner.Scan()
		if !strings.HasPrefix(scanner.Text(), "501 ") {
			t.Fatalf("RCPT TO:%s: %s", rcpt, scanner.Text())
		}
	}
	io.WriteString(c, "DATA\r\nSubject: x\r\n\r\nx\r\n.\r\n")
	scanner.Scan()
	scanner.Scan()
	if len(be.messages) != 1 || strings.Join(be.messages[0].To, ",") != "postmaster,postmaster,postmaster" {
		t.Fatalf("delivered %+v", be.messages)
	}
}
