package integration

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/imap"
	"github.com/immp-mail/immp/maildir"
)

// TestListAgreesWithDovecot points Debian's Dovecot 2.3 at a Maildir the
// mailbox layer wrote, with folders and subscriptions (one of them to a
// name that no longer exists), and sends the same LIST, LIST-EXTENDED and
// LSUB commands to Dovecot and to immp's IMAP server: both list the same
// names with the same \Noselect, \NonExistent, \Subscribed, \HasChildren,
// \HasNoChildren and CHILDINFO. (Special-use attributes are not compared:
// this Dovecot has no special_use settings.)
func TestListAgreesWithDovecot(t *testing.T) {
	dovecotBin := needTool(t, "dovecot")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the Dovecot interop test needs root (Dovecot switches to the mail user)")
		}
		t.Skip("needs root: Dovecot switches to the mail user")
	}
	ctx := context.Background()
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	store, err := maildir.Open(ctx, maildir.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	acct, err := store.AddAccount(ctx, "alice@example.org", "secret")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"INBOX/work", "INBOX/work/office", "INBOX/R&D", "INBOX/R&D/été",
		"Lists", "Lists/go", "Lists/rust", "Tom & Jerry", "Old", "Old/x"} {
		if err := store.CreateFolder(ctx, acct, n); err != nil {
			t.Fatalf("create %s: %v", n, err)
		}
	}
	for _, n := range []string{"Lists/go", "Old/x"} {
		if err := store.SetSubscribed(ctx, acct, n, true); err != nil {
			t.Fatal(err)
		}
	}
	// Deleted: the subscription of an ordinary folder stays (RFC 9051
	// 6.3.9), the folder is gone.
	if err := store.DeleteFolder(ctx, acct, "Old/x"); err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteFolder(ctx, acct, "Old"); err != nil {
		t.Fatal(err)
	}
	if err := store.SetSubscribed(ctx, acct, "INBOX/work", false); err != nil {
		t.Fatal(err)
	}

	dc := startDovecot(t, dovecotBin, tmp, data)
	srv, err := imap.New(imap.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	ours := dialLines(t, ln.Addr().String())
	theirs := dialLines(t, dc.addr)

	for _, cmd := range []string{
		`LIST "" "*"`,
		`LIST "" "%"`,
		`LIST "" "INBOX/%"`,
		`LIST "" "inbox/*"`,
		`LIST "INBOX/" "%"`,
		`LIST "" "*&-*"`,
		`LIST "" "L%/%"`,
		`LSUB "" "*"`,
		`LSUB "" "%"`,
		`LSUB "" "INBOX/%"`,
		`LIST (SUBSCRIBED) "" "*"`,
		`LIST (SUBSCRIBED) "" "%"`,
		`LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"`,
		`LIST (SUBSCRIBED RECURSIVEMATCH) "" "INBOX/%"`,
		`LIST "" "%" RETURN (SUBSCRIBED)`,
		`LIST "" "*" RETURN (CHILDREN)`,
		`LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN)`,
		`LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)`,
		`LIST "" ("INBOX/%" "Lists/*")`,
		`LIST "" ("INBOX/%" "Lists/*") RETURN (CHILDREN)`,
		`LIST "INBOX/R&-D" "*"`,
		`LSUB "" "L%"`,
	} {
		got, want := ours.list(cmd), theirs.list(cmd)
		if !slices.Equal(got, want) {
			t.Errorf("%s\n immp:    %q\n Dovecot: %q", cmd, got, want)
		}
	}
}

// lines is an IMAP connection driven by command lines.
type lines struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	n    int
}

func dialLines(t *testing.T, addr string) *lines {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	l := &lines{t: t, conn: conn, r: bufio.NewReader(conn)}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := l.r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	l.do(`LOGIN alice@example.org secret`)
	return l
}

func (l *lines) do(cmd string) []string {
	l.t.Helper()
	l.n++
	tag := fmt.Sprintf("c%d", l.n)
	l.conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(l.conn, "%s %s\r\n", tag, cmd)
	var out []string
	for {
		s, err := l.r.ReadString('\n')
		if err != nil {
			l.t.Fatalf("%s: %v", cmd, err)
		}
		s = strings.TrimRight(s, "\r\n")
		if rest, ok := strings.CutPrefix(s, tag+" "); ok {
			if !strings.HasPrefix(rest, "OK") {
				l.t.Fatalf("%s: %s", cmd, rest)
			}
			return out
		}
		out = append(out, s)
	}
}

// list runs LIST or LSUB and returns each name with the attributes both
// servers must agree on, sorted.
func (l *lines) list(cmd string) []string {
	l.t.Helper()
	var out []string
	for _, s := range l.do(cmd) {
		rest, ok := strings.CutPrefix(s, "* LIST (")
		if !ok {
			if rest, ok = strings.CutPrefix(s, "* LSUB ("); !ok {
				continue
			}
		}
		attrs, rest, _ := strings.Cut(rest, ")")
		rest = strings.TrimPrefix(rest, ` "/" `)
		name, ext := rest, ""
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`) + 1
			name, ext = rest[1:end], rest[end+1:]
		} else if i := strings.IndexByte(rest, ' '); i >= 0 {
			name, ext = rest[:i], rest[i:]
		}
		var keep []string
		for _, a := range strings.Fields(attrs) {
			switch a = strings.ToLower(a); a {
			case `\noselect`, `\nonexistent`, `\subscribed`, `\haschildren`, `\hasnochildren`:
				keep = append(keep, a)
			}
		}
		slices.Sort(keep)
		item := strings.Join(append([]string{name}, keep...), " ")
		if strings.Contains(strings.ToLower(ext), "childinfo") {
			item += " childinfo"
		}
		out = append(out, item)
	}
	slices.Sort(out)
	return out
}
