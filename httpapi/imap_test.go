package httpapi_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/immptest"
)

// imapConn is a minimal IMAP client: one tagged command at a time.
type imapConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
	n  int
}

func dialIMAP(t *testing.T, addr string) *imapConn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ic := &imapConn{t: t, c: c, br: bufio.NewReader(c)}
	ic.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := ic.br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	return ic
}

// cmd sends a command and returns the untagged lines; the tagged reply
// must be OK.
func (ic *imapConn) cmd(format string, args ...any) string {
	ic.t.Helper()
	ic.n++
	tag := fmt.Sprintf("t%d", ic.n)
	fmt.Fprintf(ic.c, "%s %s\r\n", tag, fmt.Sprintf(format, args...))
	var out strings.Builder
	for {
		line, err := ic.br.ReadString('\n')
		if err != nil {
			ic.t.Fatal(err)
		}
		if strings.HasPrefix(line, tag+" ") {
			if !strings.HasPrefix(line, tag+" OK") {
				ic.t.Fatalf("%s: %s", format, line)
			}
			return out.String()
		}
		out.WriteString(line)
	}
}

// TestSameStateAsIMAP: what the API changes an IMAP session sees, and
// the reverse, at once.
func TestSameStateAsIMAP(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t)
	srv.CreateAccount(t, "lee@example.com", "lee-password")
	srv.Send(t, "a@shop.test", []string{"lee@example.com"}, simple("a@shop.test", "lee@example.com", "one", "x"))
	srv.Send(t, "a@shop.test", []string{"lee@example.com"}, simple("a@shop.test", "lee@example.com", "two", "x"))
	im := dialIMAP(t, srv.IMAP)
	im.cmd(`LOGIN "lee@example.com" "lee-password"`)
	im.cmd("SELECT INBOX")

	one := srv.WaitFor(t, immptest.Query{Subject: "one"})
	mustCall(t, srv, "PATCH", "/api/v1/messages/"+one.ID, `{"seen": true}`, 200, nil)
	if got := im.cmd("UID FETCH %d (FLAGS)", one.UID); !strings.Contains(got, `\Seen`) {
		t.Fatalf("IMAP after the API marked seen: %q", got)
	}
	im.cmd(`UID STORE %d +FLAGS (\Flagged)`, one.UID)
	var m immptest.Message
	mustCall(t, srv, "GET", "/api/v1/messages/"+one.ID, "", 200, &m)
	if strings.Join(m.Flags, " ") != `\Flagged \Seen` {
		t.Fatalf("API after IMAP flagged: %v", m.Flags)
	}
	mustCall(t, srv, "DELETE", "/api/v1/messages/"+one.ID, "", 204, nil)
	if got := im.cmd("NOOP"); !strings.Contains(got, "* 1 EXPUNGE") {
		t.Fatalf("IMAP after the API deleted: %q", got)
	}
	im.cmd(`APPEND INBOX {%d+}`+"\r\n%s", len("Subject: appended\r\n\r\nx\r\n"), "Subject: appended\r\n\r\nx\r\n")
	var l list
	mustCall(t, srv, "GET", "/api/v1/messages?account=lee@example.com&subject=appended", "", 200, &l)
	if l.Total != 1 {
		t.Fatalf("API after IMAP APPEND: %+v", l)
	}
}

// TestEventsFolders: folders made, renamed and deleted over IMAP reach
// the event stream as "event: folder", narrowed by the query's account.
func TestEventsFolders(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t)
	srv.CreateAccount(t, "kim@example.com", "kim-password")
	srv.CreateAccount(t, "other@example.com", "other-password")
	kim := openEvents(t, srv, "?account=kim@example.com")
	im := dialIMAP(t, srv.IMAP)
	im.cmd(`LOGIN "other@example.com" "other-password"`)
	im.cmd("CREATE elsewhere") // another account: not on kim's stream
	im = dialIMAP(t, srv.IMAP)
	im.cmd(`LOGIN "kim@example.com" "kim-password"`)
	im.cmd("CREATE INBOX/work")
	im.cmd("RENAME INBOX/work INBOX/jobs")
	im.cmd("DELETE INBOX/jobs")
	for _, want := range []string{
		`{"account":"kim@example.com","folder":"INBOX/work","change":"created"}`,
		`{"account":"kim@example.com","folder":"INBOX/work","change":"renamed","new_name":"INBOX/jobs"}`,
		`{"account":"kim@example.com","folder":"INBOX/jobs","change":"deleted"}`,
	} {
		ev, err := kim.next()
		if err != nil || ev.event != "folder" || ev.data != want {
			t.Fatalf("event %+v (%v), want folder %s", ev, err, want)
		}
	}
}
