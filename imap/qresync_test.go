package imap

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// QRESYNC over real sockets (RFC 7162 section 3.2), one test per
// command.

var reUIDValidity = regexp.MustCompile(`\[UIDVALIDITY (\d+)\]`)

// qrEnv has n messages (UIDs 1..n) in alice's INBOX and a connection
// that enabled QRESYNC.
func qrEnv(t *testing.T, n int) (*env, *rawConn) {
	e, a := condEnv(t, n)
	if got := a.ok("ENABLE QRESYNC"); len(got) != 1 || got[0] != "* ENABLED QRESYNC" {
		t.Fatalf("ENABLE QRESYNC = %q", got)
	}
	return e, a
}

// selectState is what a SELECT told: UIDVALIDITY and HIGHESTMODSEQ.
func selectState(t *testing.T, lines []string) (uint32, uint64) {
	t.Helper()
	for _, l := range lines {
		if m := reUIDValidity.FindStringSubmatch(l); m != nil {
			n, _ := strconv.ParseUint(m[1], 10, 32)
			return uint32(n), highest(t, lines)
		}
	}
	t.Fatalf("no UIDVALIDITY in %q", lines)
	return 0, 0
}

// vanished is the set of every "* VANISHED" line (prefix "* VANISHED "
// or "* VANISHED (EARLIER) "), joined with ";" ("" when none).
func vanished(lines []string, earlier bool) string {
	p := "* VANISHED "
	if earlier {
		p += "(EARLIER) "
	}
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, p) && (earlier || !strings.HasPrefix(l, "* VANISHED (EARLIER)")) {
			out = append(out, l[len(p):])
		}
	}
	return strings.Join(out, ";")
}

// fetchedUIDs lists the UID of each FETCH response, in order.
func fetchedUIDs(lines []string) []string {
	var out []string
	for _, l := range lines {
		if f := reFetch.FindStringSubmatch(l); f != nil {
			if m := reUID.FindStringSubmatch(f[2]); m != nil {
				out = append(out, m[1])
			}
		}
	}
	return out
}

func hasExpunge(lines []string) bool {
	for _, l := range lines {
		if strings.HasSuffix(l, " EXPUNGE") {
			return true
		}
	}
	return false
}

// 1. CAPABILITY lists QRESYNC; ENABLE QRESYNC enables CONDSTORE too (RFC
// 7162 3.2.3): SELECT reports HIGHESTMODSEQ and FETCH FLAGS carries
// MODSEQ.
func TestQResyncEnable(t *testing.T) {
	t.Parallel()
	_, a := condEnv(t, 1)
	if got := a.ok("CAPABILITY"); !strings.Contains(got[0]+" ", " QRESYNC ") || !strings.Contains(got[0], " CONDSTORE") {
		t.Fatalf("CAPABILITY %q: want QRESYNC and CONDSTORE", got)
	}
	if got := a.ok("ENABLE QRESYNC"); len(got) != 1 || got[0] != "* ENABLED QRESYNC" {
		t.Fatalf("ENABLE QRESYNC = %q", got)
	}
	if h := highest(t, a.ok("SELECT INBOX")); h == 0 {
		t.Fatal("SELECT after ENABLE QRESYNC: no HIGHESTMODSEQ")
	}
	if got := a.ok("FETCH 1 (FLAGS)"); !strings.Contains(got[0], "MODSEQ (") {
		t.Fatalf("FETCH FLAGS %q: want MODSEQ", got)
	}
}

// 2. SELECT/EXAMINE (QRESYNC (uidvalidity modseq [known-uids])) (RFC
// 7162 3.2.5.1): after the usual answer, VANISHED (EARLIER) names the
// known UIDs that are gone, then one FETCH (UID FLAGS MODSEQ) per
// message changed since modseq: flag changes and expunges made by
// another session, and a new delivery.
func TestQResyncSelect(t *testing.T) {
	t.Parallel()
	e, a := qrEnv(t, 8)
	uv, h := selectState(t, a.ok("SELECT INBOX"))
	a.ok("LOGOUT")
	b := e.raw("alice@example.org")
	b.ok("SELECT INBOX")
	b.ok("UID STORE 2,6 +FLAGS (\\Flagged)")
	b.ok("UID STORE 3,5,8 +FLAGS (\\Deleted)")
	b.ok("EXPUNGE") // UIDs 3, 5, 8
	e.deliver(e.account("alice@example.org"), "INBOX", "m9")

	for _, c := range []struct {
		param, vanished string
		fetched         string
	}{
		{fmt.Sprintf("(QRESYNC (%d %d))", uv, h), "3,5,8", "2,6,9"},
		{fmt.Sprintf("(QRESYNC (%d %d 1:4))", uv, h), "3", "2,6,9"},
		{fmt.Sprintf("(QRESYNC (%d %d 1:2,6:7))", uv, h), "", "2,6,9"},
		// UIDs never used (above UIDNEXT-1) are not reported.
		{fmt.Sprintf("(QRESYNC (%d %d 5:100))", uv, h), "5,8", "2,6,9"},
		{fmt.Sprintf("(QRESYNC (%d %d 1:* (1:3 1,2,4)))", uv, h), "3,5,8", "2,6,9"},
		// modseq 0: every message.
		{fmt.Sprintf("(QRESYNC (%d 0 1:*))", uv), "3,5,8", "1,2,4,6,7,9"},
		// A wrong UIDVALIDITY: the plain SELECT answer.
		{fmt.Sprintf("(QRESYNC (%d %d 1:*))", uv+1, h), "", ""},
	} {
		for _, cmd := range []string{"SELECT", "EXAMINE"} {
			c2 := e.raw("alice@example.org")
			c2.ok("ENABLE QRESYNC")
			got := c2.ok(cmd + " INBOX " + c.param)
			if v := vanished(got, true); v != c.vanished {
				t.Errorf("%s %s: VANISHED (EARLIER) %q, want %q (%q)", cmd, c.param, v, c.vanished, got)
			}
			if f := strings.Join(fetchedUIDs(got), ","); f != c.fetched {
				t.Errorf("%s %s: FETCH for UIDs %q, want %q (%q)", cmd, c.param, f, c.fetched, got)
			}
			// VANISHED, then FETCH, after every other response.
			iv, ih, ie := indexOf(got, "* VANISHED"), indexOf(got, "* OK [HIGHESTMODSEQ"), indexOf(got, "* 6 EXISTS")
			if ih < 0 || ie < 0 || (iv >= 0 && iv < ih) {
				t.Errorf("%s %s: order %q", cmd, c.param, got)
			}
			for _, l := range got {
				if f := reFetch.FindStringSubmatch(l); f != nil {
					ms := reModSeq.FindStringSubmatch(f[2])
					if ms == nil || !strings.Contains(f[2], "FLAGS (") || indexOf(got, l) < iv {
						t.Errorf("%s %s: FETCH %q: want UID FLAGS MODSEQ after VANISHED", cmd, c.param, l)
					}
					if n, _ := strconv.ParseUint(ms[1], 10, 64); c.fetched != "1,2,4,6,7,9" && n <= h {
						t.Errorf("FETCH %q: MODSEQ not above %d", l, h)
					}
				}
			}
			if strings.Contains(c.fetched, "6") && !strings.Contains(strings.Join(got, "\n"), "\\Flagged") {
				t.Errorf("%s %s: flag change not reported: %q", cmd, c.param, got)
			}
			c2.ok("LOGOUT")
		}
	}
}

// 2. A client may send known-uids 1:4294967295 (or many such ranges):
// the answer is computed from ranges, not UID by UID, and comes at once.
func TestQResyncHostileKnownUIDs(t *testing.T) {
	t.Parallel()
	e, a := qrEnv(t, 3)
	uv, h := selectState(t, a.ok("SELECT INBOX"))
	a.ok("UID STORE 2 +FLAGS (\\Deleted)")
	a.ok("EXPUNGE")
	ranges := strings.Repeat("1:4294967295,", 2000) + "4294967295"
	b := e.raw("alice@example.org")
	b.ok("ENABLE QRESYNC")
	start := time.Now()
	got := b.ok(fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d %s))", uv, h, ranges))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("SELECT with a hostile known-uids took %v", d)
	}
	if v := vanished(got, true); v != "2" {
		t.Errorf("VANISHED (EARLIER) %q, want 2", v)
	}
	start = time.Now()
	got = b.ok(fmt.Sprintf("UID FETCH %s (FLAGS) (CHANGEDSINCE %d VANISHED)", ranges, h))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("UID FETCH VANISHED with a hostile set took %v", d)
	}
	if v := vanished(got, true); v != "2" {
		t.Errorf("UID FETCH VANISHED (EARLIER) %q, want 2", v)
	}
}

// 1. Once QRESYNC is enabled, every expunge is reported with VANISHED,
// never EXPUNGE (RFC 7162 3.2.10): this session's EXPUNGE, UID EXPUNGE
// and MOVE, and another session's EXPUNGE, MOVE and CLOSE. A session
// without QRESYNC still gets EXPUNGE.
func TestQResyncVanishedForExpunges(t *testing.T) {
	t.Parallel()
	e, a := qrEnv(t, 10)
	b := e.raw("alice@example.org") // QRESYNC off
	a.ok("SELECT INBOX")
	b.ok("SELECT INBOX")
	a.ok("CREATE Other")
	check := func(what string, got []string, want string) {
		t.Helper()
		if v := vanished(got, false); v != want || hasExpunge(got) {
			t.Errorf("%s: %q, want * VANISHED %s and no EXPUNGE", what, got, want)
		}
	}
	a.ok("UID STORE 1,2 +FLAGS (\\Deleted)")
	check("EXPUNGE", a.ok("EXPUNGE"), "1:2")
	if got := b.ok("NOOP"); !hasExpunge(got) || vanished(got, false) != "" {
		t.Errorf("session without QRESYNC: %q, want EXPUNGE", got)
	}
	a.ok("UID STORE 3,4 +FLAGS (\\Deleted)")
	check("UID EXPUNGE", a.ok("UID EXPUNGE 4"), "4")
	got := a.ok("UID MOVE 5 Other")
	check("MOVE", got, "5")
	if indexOf(got, "* OK [COPYUID") < 0 || indexOf(got, "* OK [COPYUID") > indexOf(got, "* VANISHED") {
		t.Errorf("MOVE %q: want COPYUID, then VANISHED", got)
	}
	b.ok("NOOP")
	b.ok("UID STORE 6 +FLAGS (\\Deleted)")
	b.ok("EXPUNGE")
	check("other session's EXPUNGE", a.ok("NOOP"), "3,6")
	b.ok("UID MOVE 7 Other")
	check("other session's MOVE", a.ok("NOOP"), "7")
	b.ok("UID STORE 9 +FLAGS (\\Deleted)")
	b.ok("CLOSE")
	check("other session's CLOSE", a.ok("NOOP"), "9")
	// Held back during FETCH (RFC 9051 7.5.1, RFC 7162 3.2.10).
	c := e.raw("alice@example.org")
	c.ok("SELECT INBOX")
	c.ok("UID STORE 10 +FLAGS (\\Deleted)")
	c.ok("EXPUNGE")
	if got := a.ok("FETCH 1:* (FLAGS)"); vanished(got, false) != "" {
		t.Errorf("FETCH %q: no VANISHED during FETCH", got)
	}
	check("after FETCH", a.ok("NOOP"), "10")
	if got := a.ok("UID SEARCH ALL"); got[0] != "* SEARCH 8" {
		t.Errorf("left %q, want UID 8", got)
	}
}

// 3. UID FETCH (CHANGEDSINCE n VANISHED) (RFC 7162 3.2.6): VANISHED
// (EARLIER) for the UIDs of the set that are gone, then the changed
// messages of the set.
func TestQResyncFetchVanished(t *testing.T) {
	t.Parallel()
	e, a := qrEnv(t, 6)
	_, h := selectState(t, a.ok("SELECT INBOX"))
	b := e.raw("alice@example.org")
	b.ok("SELECT INBOX")
	b.ok("UID STORE 2,4 +FLAGS (\\Deleted)")
	b.ok("EXPUNGE")
	b.ok("UID STORE 5 +FLAGS (\\Seen)")
	a.ok("NOOP")
	for _, c := range []struct{ set, vanished, fetched string }{
		{"1:*", "2,4", "5"},
		{"1:3", "2", ""},
		{"3:100", "4", "5"},
		{"4,4,1:2", "2,4", ""},
	} {
		got := a.ok(fmt.Sprintf("UID FETCH %s (FLAGS) (CHANGEDSINCE %d VANISHED)", c.set, h))
		if v := vanished(got, true); v != c.vanished {
			t.Errorf("UID FETCH %s: VANISHED (EARLIER) %q, want %q (%q)", c.set, v, c.vanished, got)
		}
		if f := strings.Join(fetchedUIDs(got), ","); f != c.fetched {
			t.Errorf("UID FETCH %s: FETCH UIDs %q, want %q (%q)", c.set, f, c.fetched, got)
		}
		if len(got) > 0 && c.vanished != "" && !strings.HasPrefix(got[0], "* VANISHED (EARLIER)") {
			t.Errorf("UID FETCH %s: %q, want VANISHED (EARLIER) first", c.set, got)
		}
	}
}

// 1-3. What RFC 7162 makes BAD: the QRESYNC parameter or the VANISHED
// modifier without ENABLE QRESYNC (3.2.5, 3.2.6), VANISHED without
// CHANGEDSINCE or with FETCH (3.2.6), a malformed parameter.
func TestQResyncBad(t *testing.T) {
	t.Parallel()
	e, a := condEnv(t, 2)
	a.ok("ENABLE CONDSTORE")
	for _, cmd := range []string{"SELECT INBOX (QRESYNC (1 1))", "EXAMINE INBOX (QRESYNC (1 1 1:2))"} {
		if st, _ := a.do(cmd); !strings.HasPrefix(st, "BAD") {
			t.Errorf("%s without ENABLE QRESYNC = %q, want BAD", cmd, st)
		}
	}
	a.ok("SELECT INBOX")
	if st, _ := a.do("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("VANISHED without ENABLE QRESYNC = %q, want BAD", st)
	}
	b := e.raw("alice@example.org")
	b.ok("ENABLE QRESYNC")
	for _, cmd := range []string{
		"SELECT INBOX (QRESYNC (0 1))",
		"SELECT INBOX (QRESYNC (1))",
		"SELECT INBOX (QRESYNC 1 1)",
		"SELECT INBOX (QRESYNC (1 1 $))",
		"SELECT INBOX (QRESYNC (1 1 1:2 (1:2)))",
	} {
		if st, _ := b.do(cmd); !strings.HasPrefix(st, "BAD") {
			t.Errorf("%s = %q, want BAD", cmd, st)
		}
	}
	b.ok("SELECT INBOX")
	for _, cmd := range []string{
		"UID FETCH 1:* (FLAGS) (VANISHED)",
		"FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)",
	} {
		if st, _ := b.do(cmd); !strings.HasPrefix(st, "BAD") {
			t.Errorf("%s = %q, want BAD", cmd, st)
		}
	}
	b.ok("NOOP") // the connection goes on
}

// 4. A SELECT that replaces a selected folder starts with OK [CLOSED]
// once QRESYNC is enabled (RFC 7162 3.2.11), before the new folder's
// responses.
func TestQResyncClosed(t *testing.T) {
	t.Parallel()
	_, a := qrEnv(t, 2)
	a.ok("CREATE Other")
	if got := a.ok("SELECT INBOX"); indexOf(got, "* OK [CLOSED]") >= 0 {
		t.Errorf("first SELECT %q: no CLOSED", got)
	}
	for _, cmd := range []string{"SELECT Other", "EXAMINE INBOX", "SELECT INBOX"} {
		got := a.ok(cmd)
		if i := indexOf(got, "* OK [CLOSED]"); i != 0 {
			t.Errorf("%s = %q: want * OK [CLOSED] first", cmd, got)
		}
	}
	// The expunges of the folder left are not reported after CLOSED.
	a.ok("UID STORE 1 +FLAGS (\\Deleted)")
	got := a.ok("SELECT Other")
	if vanished(got, false) != "" || hasExpunge(got) {
		t.Errorf("SELECT after STORE %q: nothing of INBOX after CLOSED", got)
	}
}

// absentUIDs: ranges in, ranges out, "*" and the bound applied, and the
// cost independent of the span (RFC 7162 3.2.5.1, 3.2.6).
func TestAbsentUIDs(t *testing.T) {
	t.Parallel()
	r := func(a, b uint32) imap.UIDRange { return imap.UIDRange{Start: imap.UID(a), Stop: imap.UID(b)} }
	for _, c := range []struct {
		set     imap.UIDSet
		present []uint32
		bound   uint32
		want    string
	}{
		{imap.UIDSet{r(1, 0)}, []uint32{2, 3, 7}, 9, "1,4:6,8:9"},
		{imap.UIDSet{r(1, 4294967295)}, []uint32{2, 3, 7}, 9, "1,4:6,8:9"},
		{imap.UIDSet{r(5, 1), r(3, 8)}, []uint32{2, 3, 7}, 9, "1,4:6,8"},
		{imap.UIDSet{r(10, 20)}, []uint32{2}, 9, ""},
		{imap.UIDSet{r(0, 0)}, []uint32{2}, 9, "9"}, // "*"
		{imap.UIDSet{r(1, 0)}, nil, 0, ""},          // nothing ever stored
		{imap.UIDSet{r(1, 3), r(4, 6), r(2, 2)}, []uint32{6}, 9, "1:5"},
		{imap.UIDSet{r(1, 0)}, []uint32{1, 2, 3}, 3, ""},
		{imap.UIDSet{r(1, 0)}, nil, 4294967295, "1:4294967294"}, // no wrap at the top
	} {
		got := absentUIDs(c.set, c.present, c.bound)
		s := ""
		if len(got) > 0 {
			s = got.String()
		}
		if s != c.want {
			t.Errorf("absentUIDs(%v, %v, %d) = %q, want %q", c.set, c.present, c.bound, s, c.want)
		}
	}
}

// EXPUNGE and UID EXPUNGE end with OK [HIGHESTMODSEQ n] once QRESYNC is
// enabled (RFC 7162 3.2.7): n is the folder's value after the expunge,
// which the expunge raised (3.2); without QRESYNC there is no code.
func TestQResyncExpungeHighestModSeq(t *testing.T) {
	t.Parallel()
	e, a := qrEnv(t, 4)
	_, h := selectState(t, a.ok("SELECT INBOX"))
	b := e.raw("alice@example.org")
	b.ok("SELECT INBOX")
	reCode := regexp.MustCompile(`^OK \[HIGHESTMODSEQ (\d+)\] `)
	status := func() uint64 {
		got := b.ok("STATUS INBOX (HIGHESTMODSEQ)")
		m := regexp.MustCompile(`HIGHESTMODSEQ (\d+)`).FindStringSubmatch(got[0])
		n, _ := strconv.ParseUint(m[1], 10, 64)
		return n
	}
	last := h
	for _, c := range []struct{ store, cmd string }{
		{"UID STORE 1 +FLAGS (\\Deleted)", "EXPUNGE"},
		{"UID STORE 2,3 +FLAGS (\\Deleted)", "UID EXPUNGE 2"},
		{"NOOP", "EXPUNGE"}, // UID 3
	} {
		cmd := c.cmd
		a.ok(c.store)
		st, got := a.do(cmd)
		m := reCode.FindStringSubmatch(st)
		if m == nil {
			t.Fatalf("%s = %q (%q): want OK [HIGHESTMODSEQ n]", cmd, st, got)
		}
		n, _ := strconv.ParseUint(m[1], 10, 64)
		if n <= last || n != status() {
			t.Errorf("%s: HIGHESTMODSEQ %d, before %d, STATUS says %d", cmd, n, last, status())
		}
		last = n
	}
	b.ok("UID STORE 4 +FLAGS (\\Deleted)")
	if st, _ := b.do("EXPUNGE"); strings.Contains(st, "HIGHESTMODSEQ") {
		t.Errorf("EXPUNGE without QRESYNC = %q: want no HIGHESTMODSEQ", st)
	}
}

// ENABLE QRESYNC with a folder already selected (RFC 5161 allows it in
// either state): the expunges from then on are VANISHED, and the
// folder's HIGHESTMODSEQ comes once, as after ENABLE CONDSTORE.
func TestQResyncEnableWhileSelected(t *testing.T) {
	t.Parallel()
	e, a := condEnv(t, 3)
	b := e.raw("alice@example.org")
	a.ok("SELECT INBOX")
	b.ok("SELECT INBOX")
	b.ok("UID STORE 2 +FLAGS (\\Deleted)")
	b.ok("EXPUNGE")
	got := a.ok("ENABLE QRESYNC")
	if indexOf(got, "* ENABLED QRESYNC") < 0 || highest(t, got) == 0 || vanished(got, false) != "2" || hasExpunge(got) {
		t.Fatalf("ENABLE QRESYNC while selected = %q: want ENABLED, HIGHESTMODSEQ and VANISHED 2", got)
	}
}
