package imap

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// CONDSTORE over real sockets (RFC 7162 section 3.1), one test per
// command.

var (
	reModSeq  = regexp.MustCompile(`MODSEQ \((\d+)\)`)
	reHighest = regexp.MustCompile(`\[HIGHESTMODSEQ (\d+)\]`)
	reFetch   = regexp.MustCompile(`(?s)^\* (\d+) FETCH \((.*)\)$`)
	reUID     = regexp.MustCompile(`UID (\d+)`)
)

// highest finds "* OK [HIGHESTMODSEQ n]" among lines (0: none).
func highest(t *testing.T, lines []string) uint64 {
	t.Helper()
	for _, l := range lines {
		if m := reHighest.FindStringSubmatch(l); m != nil && strings.HasPrefix(l, "* OK ") {
			n, _ := strconv.ParseUint(m[1], 10, 64)
			return n
		}
	}
	return 0
}

// modseqs maps each FETCH response's sequence number to its MODSEQ
// (messages without one are absent).
func modseqs(lines []string) map[uint32]uint64 {
	out := map[uint32]uint64{}
	for _, l := range lines {
		f := reFetch.FindStringSubmatch(l)
		if f == nil {
			continue
		}
		seq, _ := strconv.ParseUint(f[1], 10, 32)
		if m := reModSeq.FindStringSubmatch(f[2]); m != nil {
			n, _ := strconv.ParseUint(m[1], 10, 64)
			out[uint32(seq)] = n
		}
	}
	return out
}

func condEnv(t *testing.T, n int) (*env, *rawConn) {
	e := newEnv(t, envOptions{noSync: true})
	acct := e.account("alice@example.org")
	for i := range n {
		e.deliver(acct, "INBOX", fmt.Sprintf("m%d", i+1))
	}
	return e, e.raw("alice@example.org")
}

// 1. CAPABILITY lists CONDSTORE; ENABLE CONDSTORE answers ENABLED
// (RFC 5161 3.2), after which SELECT reports HIGHESTMODSEQ.
func TestCondStoreCapabilityEnable(t *testing.T) {
	t.Parallel()
	e, a := condEnv(t, 1)
	if got := a.ok("CAPABILITY"); !strings.Contains(got[0]+" ", " CONDSTORE ") {
		t.Fatalf("CAPABILITY %q: want CONDSTORE", got)
	}
	if got := a.ok("ENABLE CONDSTORE"); len(got) != 1 || got[0] != "* ENABLED CONDSTORE" {
		t.Fatalf("ENABLE CONDSTORE = %q", got)
	}
	if h := highest(t, a.ok("SELECT INBOX")); h == 0 {
		t.Fatal("SELECT after ENABLE CONDSTORE: no HIGHESTMODSEQ")
	}
	// Without it, SELECT says nothing of modseqs.
	b := e.raw("alice@example.org")
	if got := b.ok("SELECT INBOX"); highest(t, got) != 0 || strings.Contains(strings.Join(got, "\n"), "MODSEQ") {
		t.Fatalf("plain SELECT %q: want no HIGHESTMODSEQ", got)
	}
	if got := b.ok("FETCH 1 (FLAGS)"); strings.Contains(got[0], "MODSEQ") {
		t.Fatalf("FETCH before CONDSTORE %q: want no MODSEQ", got)
	}
}

// 1, 2. Each CONDSTORE enabling command enables it (RFC 7162 3.1): the
// folder already selected gets its HIGHESTMODSEQ once, and from then on
// a flag change made by another session reaches this one with MODSEQ.
func TestCondStoreEnablingCommands(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{
		"FETCH 1 (MODSEQ)",
		"FETCH 1 (FLAGS) (CHANGEDSINCE 1)",
		"UID FETCH 1:* (UID) (CHANGEDSINCE 1)",
		"SEARCH MODSEQ 1",
		"STORE 1 (UNCHANGEDSINCE 9223372036854775807) +FLAGS (\\Answered)",
		"STATUS INBOX (HIGHESTMODSEQ)",
		"ENABLE CONDSTORE",
	} {
		t.Run(cmd, func(t *testing.T) {
			t.Parallel()
			e, a := condEnv(t, 2)
			b := e.raw("alice@example.org")
			a.ok("SELECT INBOX")
			b.ok("SELECT INBOX")
			got := a.ok(cmd)
			if highest(t, got) == 0 {
				t.Fatalf("%s = %q: want HIGHESTMODSEQ for the selected folder", cmd, got)
			}
			if again := a.ok("NOOP"); highest(t, again) != 0 {
				t.Fatalf("HIGHESTMODSEQ sent twice: %q", again)
			}
			st := b.ok("STORE 2 +FLAGS (\\Flagged)")
			want := modseqs(b.ok("FETCH 2 (MODSEQ)"))[2]
			if want == 0 || indexOf(st, "* 2 FETCH") < 0 {
				t.Fatalf("other session's STORE %q, MODSEQ %d", st, want)
			}
			upd := a.ok("NOOP")
			if ms := modseqs(upd); ms[2] != want || !strings.Contains(upd[0], "UID ") {
				t.Fatalf("update %q: want FETCH with UID and MODSEQ (%d)", upd, want)
			}
		})
	}
}

// 2. SELECT and EXAMINE with (CONDSTORE) report HIGHESTMODSEQ (RFC 7162
// 3.1.2.1, 3.1.8), the highest modseq of the folder; other parameters
// are refused.
func TestCondStoreSelectParam(t *testing.T) {
	t.Parallel()
	e, a := condEnv(t, 3)
	got := a.ok("SELECT INBOX (CONDSTORE)")
	h := highest(t, got)
	ms := modseqs(a.ok("FETCH 1:* (MODSEQ)"))
	if h == 0 || len(ms) != 3 || h != max(ms[1], ms[2], ms[3]) {
		t.Fatalf("SELECT (CONDSTORE) HIGHESTMODSEQ %d, messages %v", h, ms)
	}
	b := e.raw("alice@example.org")
	if got := b.ok("EXAMINE INBOX (CONDSTORE)"); highest(t, got) != h {
		t.Fatalf("EXAMINE (CONDSTORE) %q: want HIGHESTMODSEQ %d", got, h)
	}
	if st, _ := b.do("SELECT INBOX (QRESYNC (1 2))"); !strings.HasPrefix(st, "BAD") { // RFC 7162 3.2.5
		t.Fatalf("SELECT with QRESYNC before ENABLE QRESYNC = %q: want BAD", st)
	}
	// An empty folder never changed still has a positive value.
	b.ok("CREATE Empty")
	if got := b.ok("SELECT Empty (CONDSTORE)"); highest(t, got) == 0 {
		t.Fatalf("empty folder %q: want HIGHESTMODSEQ > 0", got)
	}
}

// 3. STATUS HIGHESTMODSEQ (RFC 7162 3.1.7) follows every change.
func TestCondStoreStatus(t *testing.T) {
	t.Parallel()
	e, a := condEnv(t, 2)
	re := regexp.MustCompile(`HIGHESTMODSEQ (\d+)`)
	status := func() uint64 {
		got := a.ok("STATUS INBOX (MESSAGES HIGHESTMODSEQ)")
		m := re.FindStringSubmatch(got[0])
		if m == nil || !strings.Contains(got[0], "MESSAGES 2") {
			t.Fatalf("STATUS = %q", got)
		}
		n, _ := strconv.ParseUint(m[1], 10, 64)
		return n
	}
	h1 := status()
	b := e.raw("alice@example.org")
	b.ok("SELECT INBOX")
	b.ok("STORE 1 +FLAGS (\\Seen)")
	h2 := status()
	if h2 <= h1 {
		t.Fatalf("HIGHESTMODSEQ %d after a change, was %d", h2, h1)
	}
	if got := b.ok("SELECT INBOX (CONDSTORE)"); highest(t, got) != h2 {
		t.Fatalf("SELECT %q: want HIGHESTMODSEQ %d as STATUS said", got, h2)
	}
}

// 4. FETCH MODSEQ (RFC 7162 3.1.4.2) and CHANGEDSINCE (3.1.4.1): each
// change gives the message a modseq above every earlier one, and
// CHANGEDSINCE n returns exactly the messages changed after n, with
// MODSEQ even when not asked for.
func TestCondStoreFetch(t *testing.T) {
	t.Parallel()
	_, a := condEnv(t, 4)
	a.ok("SELECT INBOX")
	before := modseqs(a.ok("FETCH 1:* (MODSEQ)"))
	if len(before) != 4 {
		t.Fatalf("FETCH MODSEQ: %v", before)
	}
	last := max(before[1], before[2], before[3], before[4])
	// Strictly increasing per change, also on one message.
	for i, fl := range []string{"+FLAGS (\\Seen)", "+FLAGS ($Work)", "-FLAGS (\\Seen)", "FLAGS (\\Draft)"} {
		got := a.ok("STORE 2 " + fl)
		ms := modseqs(got)[2]
		if ms <= last {
			t.Fatalf("change %d (%s): MODSEQ %d, not above %d (%q)", i, fl, ms, last, got)
		}
		last = ms
	}
	if ms := modseqs(a.ok("FETCH 2 (MODSEQ)"))[2]; ms != last {
		t.Fatalf("FETCH MODSEQ %d, STORE said %d", ms, last)
	}
	// A no-op change keeps the modseq.
	a.ok("STORE 2 +FLAGS (\\Draft)")
	if ms := modseqs(a.ok("FETCH 2 (MODSEQ)"))[2]; ms != last {
		t.Fatalf("no-op STORE moved MODSEQ %d -> %d", last, ms)
	}
	mark := last
	a.ok("STORE 4 +FLAGS (\\Flagged)")
	got := a.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE " + strconv.FormatUint(mark, 10) + ")")
	if len(got) != 1 || !strings.HasPrefix(got[0], "* 4 FETCH") || modseqs(got)[4] <= mark {
		t.Fatalf("CHANGEDSINCE %d = %q: want message 4 alone, with MODSEQ", mark, got)
	}
	// Messages may share a modseq (delivered before the folder was
	// first read); CHANGEDSINCE x is modseq > x.
	cur := modseqs(a.ok("FETCH 1:* (MODSEQ)"))
	x := cur[3] // unchanged since delivery
	got = a.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE " + strconv.FormatUint(x, 10) + ")")
	ms := modseqs(got)
	for seq, m := range cur {
		if (m > x) != (ms[seq] != 0) {
			t.Fatalf("UID FETCH CHANGEDSINCE %d = %q; modseqs %v", x, got, cur)
		}
	}
	if ms[2] == 0 || ms[4] == 0 || ms[3] != 0 {
		t.Fatalf("UID FETCH CHANGEDSINCE %d = %q: want 2 and 4, not 3", x, got)
	}
	if got := a.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE " + strconv.FormatUint(last+1000000, 10) + ")"); len(got) != 0 {
		t.Fatalf("CHANGEDSINCE in the future = %q: want nothing", got)
	}
	for _, bad := range []string{"FETCH 1 (FLAGS) (CHANGEDSINCE)", "FETCH 1 (FLAGS) (CHANGEDSINCE x)",
		"FETCH 1 (FLAGS) (VANISHED)", "FETCH 1 (FLAGS) (CHANGEDSINCE 99999999999999999999)"} {
		if st, _ := a.do(bad); !strings.HasPrefix(st, "BAD") {
			t.Errorf("%s = %q: want BAD", bad, st)
		}
	}
	// Once enabled, FLAGS always come with their MODSEQ, also when a
	// body fetch sets \Seen.
	got = a.ok("FETCH 1 (BODY[TEXT])")
	if ms := modseqs(got)[1]; ms <= last || !strings.Contains(got[0], "\\Seen") {
		t.Fatalf("FETCH BODY[TEXT] setting \\Seen = %q: want FLAGS and a new MODSEQ above %d", got, last)
	}
}

// 5. STORE UNCHANGEDSINCE (RFC 7162 3.1.3): a message another session
// changed after the client's modseq is not changed and is named in
// [MODIFIED]; the others are, with MODSEQ in their FETCH.
func TestCondStoreUnchangedSince(t *testing.T) {
	t.Parallel()
	e, a := condEnv(t, 3)
	b := e.raw("alice@example.org")
	a.ok("SELECT INBOX")
	b.ok("SELECT INBOX")
	ms := modseqs(a.ok("FETCH 1:* (MODSEQ)"))
	mark := max(ms[1], ms[2], ms[3])
	b.ok("STORE 2 +FLAGS (\\Flagged)") // concurrent change by another session
	st, got := a.do(fmt.Sprintf("STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)", mark))
	if st != "OK [MODIFIED 2] STORE completed" {
		t.Fatalf("STORE UNCHANGEDSINCE = %q (%q): want OK [MODIFIED 2]", st, got)
	}
	changed := modseqs(got)
	if changed[1] <= mark || changed[3] <= mark {
		t.Fatalf("changed messages' FETCH %q: want new MODSEQs", got)
	}
	flags := a.ok("FETCH 1:3 (FLAGS)")
	if !strings.Contains(flags[0], "\\Seen") || strings.Contains(flags[1], "\\Seen") || !strings.Contains(flags[2], "\\Seen") {
		t.Fatalf("flags after conditional STORE: %q", flags)
	}
	// UID STORE names UIDs; 0 fails for every message (3.1.3).
	uids := map[string]bool{}
	for _, l := range a.ok("UID FETCH 1:* (UID)") {
		uids[reUID.FindStringSubmatch(l)[1]] = true
	}
	st, got = a.do("UID STORE 1:* (UNCHANGEDSINCE 0) +FLAGS (\\Answered)")
	if st != "OK [MODIFIED 1:3] STORE completed" || len(got) != 0 {
		t.Fatalf("UID STORE UNCHANGEDSINCE 0 = %q %q: want every UID MODIFIED, no change", st, got)
	}
	// .SILENT: no FLAGS, but a CONDSTORE client hears the new MODSEQ.
	cur := modseqs(a.ok("FETCH 3 (MODSEQ)"))[3]
	st, got = a.do(fmt.Sprintf("STORE 3 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Answered)", cur))
	if st != "OK STORE completed" || len(got) != 1 || strings.Contains(got[0], "FLAGS") || modseqs(got)[3] <= cur {
		t.Fatalf("STORE .SILENT = %q %q: want FETCH (UID MODSEQ) alone", st, got)
	}
	// The other session hears of every change with MODSEQ once enabled.
	upd := modseqs(b.ok("ENABLE CONDSTORE")) // the updates follow at once
	if upd[1] != changed[1] || upd[3] <= changed[3] || upd[2] != 0 {
		t.Fatalf("other session's updates %v: want 1 at %d, 3 above %d, not 2", upd, changed[1], changed[3])
	}
	for _, bad := range []string{"STORE 1 (UNCHANGEDSINCE) +FLAGS (\\Seen)", "STORE 1 (UNCHANGEDSINCE 1 +FLAGS (\\Seen)",
		"STORE 1 (FOO 1) +FLAGS (\\Seen)", "STORE 1 (UNCHANGEDSINCE -1) +FLAGS (\\Seen)"} {
		if st, _ := a.do(bad); !strings.HasPrefix(st, "BAD") {
			t.Errorf("%s = %q: want BAD", bad, st)
		}
	}
}

// 5. A keyword new to the client goes through the poll (FLAGS first);
// UNCHANGEDSINCE and MODIFIED hold there too.
func TestCondStoreUnchangedSinceNewKeyword(t *testing.T) {
	t.Parallel()
	_, a := condEnv(t, 2)
	a.ok("SELECT INBOX (CONDSTORE)")
	ms := modseqs(a.ok("FETCH 1:2 (MODSEQ)"))
	a.ok("STORE 2 +FLAGS (\\Seen)")
	st, got := a.do(fmt.Sprintf("STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS ($Fresh)", max(ms[1], ms[2])))
	if st != "OK [MODIFIED 2] STORE completed" || indexOf(got, "* FLAGS") < 0 || modseqs(got)[1] == 0 || modseqs(got)[2] != 0 {
		t.Fatalf("STORE = %q %q", st, got)
	}
}

// 6. SEARCH MODSEQ (RFC 7162 3.1.5) and the MODSEQ of the result
// (3.1.6): SEARCH ends with (MODSEQ n), ESEARCH has MODSEQ n, the
// highest of the messages returned (of MIN and MAX when only they are).
func TestCondStoreSearch(t *testing.T) {
	t.Parallel()
	_, a := condEnv(t, 4)
	a.ok("SELECT INBOX (CONDSTORE)")
	ms := map[uint32]uint64{}
	for _, seq := range []uint32{1, 3, 2, 4} {
		got := a.ok(fmt.Sprintf("STORE %d +FLAGS (\\Seen)", seq))
		ms[seq] = modseqs(got)[seq]
	}
	got := a.ok(fmt.Sprintf("SEARCH MODSEQ %d", ms[3]))
	if want := fmt.Sprintf("* SEARCH 2 3 4 (MODSEQ %d)", ms[4]); len(got) != 1 || got[0] != want {
		t.Fatalf("SEARCH MODSEQ = %q, want %q", got, want)
	}
	got = a.ok(fmt.Sprintf("UID SEARCH NOT MODSEQ %d", ms[3]))
	if len(got) != 1 || !strings.HasPrefix(got[0], "* SEARCH ") || !strings.HasSuffix(got[0], fmt.Sprintf("(MODSEQ %d)", ms[1])) {
		t.Fatalf("UID SEARCH NOT MODSEQ = %q", got)
	}
	for _, c := range []struct{ cmd, want string }{
		{`SEARCH RETURN (MIN) 1:3 MODSEQ "/flags/\\seen" all 1`, fmt.Sprintf("MIN 1 MODSEQ %d", ms[1])},
		{`SEARCH RETURN (MAX) 1:3 MODSEQ "/flags/\\seen" all 1`, fmt.Sprintf("MAX 3 MODSEQ %d", ms[3])},
		{`SEARCH RETURN () 1:3 MODSEQ "/flags/\\seen" all 1`, fmt.Sprintf("ALL 1:3 MODSEQ %d", ms[2])},
		{`SEARCH RETURN (MIN MAX) 2:3 MODSEQ "/flags/\\seen" priv 1`, fmt.Sprintf("MIN 2 MAX 3 MODSEQ %d", ms[2])},
		{`SEARCH RETURN (COUNT) MODSEQ 1 MODSEQ ` + strconv.FormatUint(ms[2], 10), fmt.Sprintf("COUNT 2 MODSEQ %d", ms[4])},
		{fmt.Sprintf(`SEARCH RETURN (ALL) 2:3 MODSEQ %d`, ms[4]), ""},
	} {
		got := a.ok(c.cmd)
		if len(got) != 1 || !strings.HasPrefix(got[0], "* ESEARCH (TAG ") || !strings.HasSuffix(got[0], ")"+prefixSP(c.want)) {
			t.Errorf("%s = %q, want ... %s", c.cmd, got, c.want)
		}
	}
	// No MODSEQ key: no MODSEQ in the result; no match: none either.
	if got := a.ok("SEARCH SEEN"); len(got) != 1 || got[0] != "* SEARCH 1 2 3 4" {
		t.Fatalf("SEARCH SEEN = %q", got)
	}
	if got := a.ok(fmt.Sprintf("SEARCH MODSEQ %d", ms[4]+1)); len(got) != 1 || got[0] != "* SEARCH" {
		t.Fatalf("SEARCH MODSEQ beyond = %q", got)
	}
	for _, bad := range []string{`SEARCH MODSEQ`, `SEARCH MODSEQ x`, `SEARCH MODSEQ "/flags/\\seen" 5`,
		`SEARCH MODSEQ "/flags/\\seen" mine 5`, `SEARCH MODSEQ "/other" all 5`} {
		if st, _ := a.do(bad); !strings.HasPrefix(st, "BAD") {
			t.Errorf("%s = %q: want BAD", bad, st)
		}
	}
}

func prefixSP(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

// HIGHESTMODSEQ survives a restart (store reopened) and never goes
// backwards, also when the last change was an expunge; the next change
// is above it (maildir/modseq.go).
func TestCondStoreRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, envOptions{dir: dir, noSync: true})
	acct := e.account("alice@example.org")
	for i := range 3 {
		e.deliver(acct, "INBOX", fmt.Sprintf("m%d", i))
	}
	a := e.raw("alice@example.org")
	a.ok("SELECT INBOX (CONDSTORE)")
	a.ok("STORE 1 +FLAGS (\\Seen)")
	a.ok("STORE 3 +FLAGS (\\Deleted)")
	a.ok("EXPUNGE")
	before := modseqs(a.ok("FETCH 1:* (MODSEQ)"))
	h1 := highest(t, a.ok("SELECT INBOX (CONDSTORE)"))
	if h1 <= max(before[1], before[2]) {
		t.Fatalf("HIGHESTMODSEQ %d after an expunge, messages %v", h1, before)
	}
	e.stop()

	e = newEnv(t, envOptions{dir: dir, noSync: true})
	a = e.raw("alice@example.org")
	h2 := highest(t, a.ok("SELECT INBOX (CONDSTORE)"))
	if h2 < h1 {
		t.Fatalf("HIGHESTMODSEQ went back across a restart: %d -> %d", h1, h2)
	}
	if after := modseqs(a.ok("FETCH 1:* (MODSEQ)")); !maps2Equal(after, before) {
		t.Fatalf("modseqs across restart %v -> %v", before, after)
	}
	got := a.ok("STORE 2 +FLAGS (\\Flagged \\Deleted)")
	if ms := modseqs(got)[2]; ms <= h2 {
		t.Fatalf("first change after restart MODSEQ %d, not above %d", ms, h2)
	}

	// An expunge alone since the last restart: its modseq is kept too.
	e.stop()
	e = newEnv(t, envOptions{dir: dir, noSync: true})
	a = e.raw("alice@example.org")
	a.ok("SELECT INBOX (CONDSTORE)")
	a.ok("EXPUNGE")
	h3 := highest(t, a.ok("SELECT INBOX (CONDSTORE)"))
	e.stop()
	e = newEnv(t, envOptions{dir: dir, noSync: true})
	a = e.raw("alice@example.org")
	if h4 := highest(t, a.ok("SELECT INBOX (CONDSTORE)")); h4 < h3 {
		t.Fatalf("HIGHESTMODSEQ went back across a restart after an expunge: %d -> %d", h3, h4)
	}
}

func maps2Equal(a, b map[uint32]uint64) bool {
	ka := make([]uint32, 0, len(a))
	for k := range a {
		ka = append(ka, k)
	}
	slices.Sort(ka)
	if len(a) != len(b) {
		return false
	}
	for _, k := range ka {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

// A flag change of another session queued before this session's own
// STORE is not sent after the STORE's answer: it would undo the newer
// flags at the client and take its MODSEQ back (imaptest's "MODSEQ
// dropped"). With and without CONDSTORE.
func TestCondStoreOwnChangeNotUndone(t *testing.T) {
	t.Parallel()
	for _, sel := range []string{"SELECT INBOX (CONDSTORE)", "SELECT INBOX"} {
		e, a := condEnv(t, 1)
		b := e.raw("alice@example.org")
		a.ok(sel)
		b.ok("SELECT INBOX")
		b.ok("STORE 1 +FLAGS (\\Flagged)") // queued to a
		got := a.ok("STORE 1 +FLAGS (\\Seen)")
		last := ""
		for _, l := range got {
			if strings.HasPrefix(l, "* 1 FETCH") {
				last = l
			}
		}
		if !strings.Contains(last, "\\Seen") || !strings.Contains(last, "\\Flagged") {
			t.Fatalf("%s: STORE answered %q: the last FETCH must have the newest flags", sel, got)
		}
		var seen uint64
		for _, l := range got {
			if ms := modseqs([]string{l})[1]; ms != 0 && ms < seen {
				t.Fatalf("%s: MODSEQ went back in %q", sel, got)
			} else if ms != 0 {
				seen = ms
			}
		}
	}
}

// A client that enables CONDSTORE while its selected folder is being
// deleted keeps its connection: the deletion is reported as usual.
func TestCondStoreEnableOnDeletedFolder(t *testing.T) {
	t.Parallel()
	e, a := condEnv(t, 1)
	a.ok("CREATE Gone")
	a.ok("SELECT Gone")
	b := e.raw("alice@example.org")
	b.ok("DELETE Gone")
	st, _ := a.do("ENABLE CONDSTORE")
	if !strings.HasPrefix(st, "OK") {
		t.Fatalf("ENABLE CONDSTORE = %q", st)
	}
	if st, _ := a.do("NOOP"); !strings.HasPrefix(st, "OK") && !strings.HasPrefix(st, "NO") {
		t.Fatalf("NOOP after = %q", st)
	}
	a.ok("SELECT INBOX")
}
