package imap

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

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
	a := e.raw("alice@example.org")
	b := e.raw("alice@example.org")
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
	c := e.raw("alice@example.org")
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
	a := e.raw("alice@example.org")
	b := e.raw("alice@example.org")
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
// new UIDs; the client hears COPYUID, EXPUNGE and EXISTS, in that order
// (imaptest's move script).
func TestMoveIntoSelectedFolder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noSync: true})
	acct := e.account("alice@example.org")
	e.deliver(acct, "INBOX", "one")
	e.deliver(acct, "INBOX", "two")
	a := e.raw("alice@example.org")
	a.ok("SELECT INBOX")
	got := a.ok("MOVE 1 INBOX")
	if i := indexOf(got, "* OK [COPYUID "); i < 0 || !strings.Contains(got[i], " 1 3]") {
		t.Fatalf("MOVE = %q: want COPYUID 1 -> 3", got)
	}
	if x, e := indexOf(got, "* 1 EXPUNGE"), indexOf(got, "* 2 EXISTS"); x < 0 || e < 0 || x > e {
		t.Fatalf("MOVE = %q: want EXPUNGE of 1, then EXISTS 2 (Dovecot's order)", got)
	}
	if got := a.ok("UID SEARCH ALL"); got[0] != "* SEARCH 2 3" {
		t.Fatalf("UIDs after MOVE = %q", got)
	}
	got = a.ok("COPY 1 INBOX")
	if indexOf(got, "* 3 EXISTS") < 0 {
		t.Fatalf("COPY into the selected folder = %q: want EXISTS 3", got)
	}
}

// clientCount applies untagged EXISTS and EXPUNGE lines to a count, as a
// client does.
func clientCount(n int, lines []string) int {
	for _, l := range lines {
		var k int
		switch {
		case strings.HasSuffix(l, " EXISTS"):
			fmt.Sscanf(l, "* %d EXISTS", &k)
			n = k
		case strings.HasSuffix(l, " EXPUNGE"):
			n--
		}
	}
	return n
}

// Arrivals and expunges interleaved before one poll: the client's count,
// kept from EXISTS and EXPUNGE as a client keeps it, ends equal to the
// folder's (a second arrival after an expunge needs an EXISTS of its
// own).
func TestPollInterleavedArrivalsAndExpunges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noSync: true})
	acct := e.account("alice@example.org")
	e.deliver(acct, "INBOX", "one")
	e.deliver(acct, "INBOX", "two")
	a := e.raw("alice@example.org")
	b := e.raw("alice@example.org")
	a.ok("SELECT INBOX")
	b.ok("SELECT INBOX")
	e.deliver(acct, "INBOX", "three")
	b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
	b.ok("EXPUNGE")
	e.deliver(acct, "INBOX", "four")
	got := a.ok("NOOP")
	if n, want := clientCount(2, got), len(e.folderUIDs(acct, "INBOX")); n != want {
		t.Fatalf("NOOP sent %q: the client counts %d messages, the folder has %d", got, n, want)
	}
	// Held back during FETCH (RFC 9051 7.5.1), sent by the next NOOP.
	b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
	b.ok("EXPUNGE")
	e.deliver(acct, "INBOX", "five")
	fetched := a.ok("FETCH 1 (UID)")
	if slices.ContainsFunc(fetched, func(l string) bool { return strings.HasSuffix(l, " EXPUNGE") }) {
		t.Fatalf("EXPUNGE during FETCH: %q", fetched)
	}
	got = append(got, fetched...)
	got = append(got, a.ok("NOOP")...)
	if n, want := clientCount(2, got), len(e.folderUIDs(acct, "INBOX")); n != want {
		t.Fatalf("responses %q: the client counts %d messages, the folder has %d", got, n, want)
	}
}
