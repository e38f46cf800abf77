package imap

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// rawConn speaks IMAP as text, for tests about the order of untagged
// responses, which a client library hides.
type rawConn struct {
	t   *testing.T
	c   net.Conn
	r   *bufio.Reader
	tag int
}

func (e *env) raw(t *testing.T, user string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rc := &rawConn{t: t, c: c, r: bufio.NewReader(c)}
	rc.line() // greeting
	rc.ok(fmt.Sprintf("LOGIN %q %q", user, testPassword))
	return rc
}

func (rc *rawConn) line() string {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := rc.r.ReadString('\n')
	if err != nil {
		rc.t.Fatalf("read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

// ok sends a command and returns its untagged responses; it fails the
// test unless the command ends in OK.
func (rc *rawConn) ok(cmd string) []string {
	rc.t.Helper()
	rc.tag++
	tag := fmt.Sprintf("T%d", rc.tag)
	fmt.Fprintf(rc.c, "%s %s\r\n", tag, cmd)
	var out []string
	for {
		l := rc.line()
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				rc.t.Fatalf("%s: %s", cmd, l)
			}
			return out
		}
		out = append(out, l)
	}
}

func indexOf(lines []string, prefix string) int {
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return i
		}
	}
	return -1
}

// A keyword used for the first time reaches every session as FLAGS before
// any FETCH that carries it: the session that stored it and one that
// only has the folder selected (imaptest checks "Keyword used without
// being in FLAGS").
func TestNewKeywordAnnouncedBeforeUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noSync: true})
	acct := e.account("alice@example.org")
	e.deliver(acct, "INBOX", "one")
	a := e.raw(t, "alice@example.org")
	b := e.raw(t, "alice@example.org")
	a.ok("SELECT INBOX")
	b.ok("SELECT INBOX")
	got := a.ok("STORE 1 +FLAGS ($Fresh)")
	flags, fetch := indexOf(got, "* FLAGS ("), indexOf(got, "* 1 FETCH")
	if flags < 0 || fetch < 0 || flags > fetch || !strings.Contains(got[flags], "$Fresh") {
		t.Fatalf("storing session got %q: want FLAGS with $Fresh before the FETCH", got)
	}
	got = b.ok("NOOP")
	flags, fetch = indexOf(got, "* FLAGS ("), indexOf(got, "* 1 FETCH")
	if flags < 0 || fetch < 0 || flags > fetch || !strings.Contains(got[fetch], "$Fresh") {
		t.Fatalf("other session got %q: want FLAGS before the FETCH", got)
	}
	// Known now: a second use sends no FLAGS again.
	if got = a.ok("STORE 1 -FLAGS ($Fresh)"); indexOf(got, "* FLAGS") >= 0 {
		t.Fatalf("FLAGS sent again: %q", got)
	}
	// A new SELECT lists it.
	c := e.raw(t, "alice@example.org")
	if got = c.ok("SELECT INBOX"); !strings.Contains(got[indexOf(got, "* FLAGS")], "$Fresh") {
		t.Fatalf("SELECT FLAGS %q", got)
	}
}

// SEARCH RECENT, NEW and OLD (RFC 3501 6.4.4) follow the one session that
// holds \Recent; STATUS RECENT counts what nobody claimed yet.
func TestSearchRecentNewOld(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noSync: true})
	acct := e.account("alice@example.org")
	a := e.raw(t, "alice@example.org")
	b := e.raw(t, "alice@example.org")
	e.deliver(acct, "INBOX", "one")
	e.deliver(acct, "INBOX", "two")
	if got := b.ok("STATUS INBOX (RECENT MESSAGES)"); len(got) != 1 || !strings.Contains(got[0], "RECENT 2") {
		t.Fatalf("STATUS before any SELECT: %q", got)
	}
	got := a.ok("SELECT INBOX")
	if indexOf(got, "* 2 RECENT") < 0 {
		t.Fatalf("first SELECT %q: want 2 RECENT", got)
	}
	if got := b.ok("STATUS INBOX (RECENT)"); !strings.Contains(got[0], "RECENT 0") {
		t.Fatalf("STATUS after SELECT claimed them: %q", got)
	}
	a.ok("STORE 1 +FLAGS (\\Seen)")
	want := map[string]string{"RECENT": "* SEARCH 1 2", "NEW": "* SEARCH 2", "OLD": "* SEARCH"}
	for crit, w := range want {
		if got := a.ok("SEARCH " + crit); len(got) != 1 || got[0] != w {
			t.Errorf("SEARCH %s = %q, want %q", crit, got, w)
		}
	}
	// The other session does not get them; a message arriving now is
	// recent in the selecting session only.
	if got := b.ok("EXAMINE INBOX"); indexOf(got, "* 0 RECENT") < 0 {
		t.Fatalf("EXAMINE by another session: %q", got)
	}
	e.deliver(acct, "INBOX", "three")
	if got := a.ok("SEARCH RECENT"); indexOf(got, "* 3 EXISTS") < 0 {
		t.Fatalf("SEARCH after delivery: %q", got)
	}
	if got := a.ok("SEARCH RECENT"); got[0] != "* SEARCH 1 2 3" {
		t.Fatalf("SEARCH RECENT = %q", got)
	}
	if got := b.ok("SEARCH RECENT"); indexOf(got, "* SEARCH") < 0 || got[indexOf(got, "* SEARCH")] != "* SEARCH" {
		t.Fatalf("SEARCH RECENT in the other session = %q", got)
	}
}

// MOVE into the selected folder (RFC 6851 allows it): the messages get
// new UIDs; the client hears COPYUID, EXPUNGE and EXISTS.
func TestMoveIntoSelectedFolder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noSync: true})
	acct := e.account("alice@example.org")
	e.deliver(acct, "INBOX", "one")
	e.deliver(acct, "INBOX", "two")
	a := e.raw(t, "alice@example.org")
	a.ok("SELECT INBOX")
	got := a.ok("MOVE 1 INBOX")
	if i := indexOf(got, "* OK [COPYUID "); i < 0 || !strings.Contains(got[i], " 1 3]") {
		t.Fatalf("MOVE = %q: want COPYUID 1 -> 3", got)
	}
	if indexOf(got, "* 1 EXPUNGE") < 0 || indexOf(got, "* 2 EXISTS") < 0 {
		t.Fatalf("MOVE = %q: want EXPUNGE of 1 and EXISTS 2", got)
	}
	if got := a.ok("UID SEARCH ALL"); got[0] != "* SEARCH 2 3" {
		t.Fatalf("UIDs after MOVE = %q", got)
	}
	got = a.ok("COPY 1 INBOX")
	if indexOf(got, "* 3 EXISTS") < 0 {
		t.Fatalf("COPY into the selected folder = %q: want EXISTS 3", got)
	}
}
