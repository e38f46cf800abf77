package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/imap"
	"github.com/immp-mail/immp/maildir"
)

// imapQuoted writes literal content the way a quoted string carries it,
// or marks it when it cannot be one.
func imapQuoted(b []byte) string {
	if strings.ContainsAny(string(b), "\r\n\x00") {
		return fmt.Sprintf("{literal %q}", b)
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(string(b)) + `"`
}

// rawFetch logs in, selects INBOX, runs cmds and returns their FETCH and
// SEARCH responses, literals inline.
func rawFetch(t *testing.T, addr, user, pass string, cmds []string) []string {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	r.ReadString('\n')
	var out []string
	run := func(tag, cmd string) {
		fmt.Fprintf(c, "%s %s\r\n", tag, cmd)
		for {
			var b []byte
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				line = strings.TrimSuffix(line, "\r\n")
				b = append(b, line...)
				i := strings.LastIndexByte(line, '{')
				if strings.HasSuffix(line, "}") && i >= 0 {
					n, _ := strconv.Atoi(line[i+1 : len(line)-1])
					buf := make([]byte, n)
					io.ReadFull(r, buf)
					// The same text may come as a literal from one
					// server and quoted from the other.
					b = append(b[:len(b)-(len(line)-i)], imapQuoted(buf)...)
					continue
				}
				break
			}
			s := string(b)
			if strings.HasPrefix(s, tag+" ") {
				return
			}
			if strings.Contains(s, "FETCH") || strings.Contains(s, "SEARCH") {
				out = append(out, s)
			}
		}
	}
	run("a", fmt.Sprintf("LOGIN %s %s", user, pass))
	run("b", "SELECT INBOX")
	for i, cmd := range cmds {
		run(fmt.Sprintf("c%d", i), cmd)
	}
	return out
}

// mimeCases are messages whose structure immp must describe as Dovecot
// does (groups, comments, repaired addresses, digest defaults, boundary
// prefixes, empty epilogues, 150-deep nesting, 12000 parts). Known,
// deliberate differences are left out: an invalid Content-Type (immp:
// text/plain, RFC 2045 5.2), RFC 2231 values (Debian's Dovecot 2.3 keeps
// them encoded), routes (go-imap's Address has none), Message-ID
// comments, and go-imap's spaces between addresses (normalized here).
func mimeCases() []string {
	msgs := []string{
		"From: user@domain (Real Name)\nTo: group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;\nCc: group:;, group2: (foo) ;\nSubject: =?iso-8859-1?q?Caf=E9?=   folded\n subject\nIn-Reply-To: <x@y> <z@w>\n\nbody\n",
		"Content-Type: multipart/mixed\n\n--x\nContent-Type: text/plain\n\nno boundary\n--x--\n",
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=us-ascii; name=a.txt\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"a.txt\"\nContent-Language: en, de\nContent-ID: <id@x>\nContent-Description: desc\n\naGVsbG8=\n--b--\n",
		"Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: inner\nFrom: a@b\n\nbody\n--d\nContent-Type: text/plain\n\nx\n--d--\n",
		"From: Name <broken\nTo: user, Real Name, <>, \"john doe\"@x, a.b @ c . d\n\nx\n",
		"Content-Type: multipart/mixed; boundary=out\n\n--out\nContent-Type: multipart/mixed; boundary=in\n\n--in\n\ninner\n--out\n\nsecond\n--out--\n",
		"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n--b--\n",
		"Content-Type: message/rfc822\n\nSubject: enc\nContent-Type: text/plain\n\nx\n",
		"Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=aa\n\n--aa\n\nx\n--aa--\n--a--\n",
		strings.Repeat("Content-Type: message/rfc822\n\n", 150) + "Subject: deep\n\nx\n",
		"Content-Type: multipart/mixed; boundary=b\n\n" + strings.Repeat("--b\n\nx\n", 12000) + "--b--\n",
	}
	for i, m := range msgs {
		msgs[i] = strings.ReplaceAll(m, "\n", "\r\n")
	}
	return msgs
}

// TestMimeAgreesWithDovecot stores the same messages for Dovecot and
// immp and compares, octet for octet, ENVELOPE, BODYSTRUCTURE, body
// sections and sizes as each server sends them.
func TestMimeAgreesWithDovecot(t *testing.T) {
	bin := needTool(t, "dovecot")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the Dovecot comparison needs root (Dovecot switches to the mail user)")
		}
		t.Skip("needs root: Dovecot switches to the mail user")
	}
	ctx := context.Background()
	tmp := t.TempDir()
	data := tmp + "/data"
	store, err := maildir.Open(ctx, maildir.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	acct, err := store.AddAccount(ctx, "alice@example.org", "secret")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := store.OpenFolder(ctx, acct, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mimeCases() {
		if _, err := inbox.Append(ctx, strings.NewReader(m), nil, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	dc := startDovecot(t, bin, tmp, data)
	srv, err := imap.New(imap.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(ctx)
	// One item per command: the servers order items differently.
	var cmds []string
	for _, item := range []string{"ENVELOPE", "BODYSTRUCTURE", "BODY", "BODY.PEEK[1]", "BODY.PEEK[1.MIME]",
		"BODY.PEEK[2]", "BODY.PEEK[1.1]", "BODY.PEEK[1.TEXT]", "BODY.PEEK[1.HEADER]", "BODY.PEEK[TEXT]",
		"BODY.PEEK[HEADER]", "BINARY.SIZE[1]", "RFC822.SIZE"} {
		cmds = append(cmds, "FETCH 1:* ("+item+")")
	}
	want := rawFetch(t, dc.addr, "alice@example.org", "secret", cmds)
	got := rawFetch(t, ln.Addr().String(), "alice@example.org", "secret", cmds)
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, ") (", ")(")) }
	if len(got) != len(want) || len(want) != len(cmds)*len(mimeCases()) {
		t.Fatalf("%d responses from immp, %d from Dovecot", len(got), len(want))
	}
	for i := range want {
		if norm(got[i]) != norm(want[i]) {
			t.Errorf("differs from Dovecot:\n dovecot %s\n immp    %s", want[i], got[i])
		}
	}
}
