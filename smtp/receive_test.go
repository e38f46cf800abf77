package smtp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/immp-mail/immp/delivery"
	"github.com/immp-mail/immp/delivery/guard"
	"github.com/immp-mail/immp/maildir"
)

func TestExtensions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	c := e.dial()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "CHUNKING", "ENHANCEDSTATUSCODES"} {
		if ok, _ := c.Extension(ext); !ok {
			t.Errorf("%s not advertised", ext)
		}
	}
	if ok, p := c.Extension("SIZE"); !ok || p != fmt.Sprint(DefaultMaxMessageBytes) {
		t.Errorf("SIZE = %v %q, want %d", ok, p, DefaultMaxMessageBytes)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered without a certificate")
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered on the Receiver-SMTP")
	}
}

func TestDeliverOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	c := e.dial()
	body := "From: s@remote.example\r\nSubject: hello\r\n\r\nHi Alice.\r\n"
	if err := c.Mail("s@remote.example", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("alice@example.org", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, body)
	resp, err := w.CloseWithResponse()
	if err != nil {
		t.Fatal(err)
	}
	id, ok := strings.CutPrefix(resp.StatusText, "2.0.0 Ok: delivered as ")
	if !ok || len(id) != 16 {
		t.Fatalf("250 text %q", resp.StatusText)
	}
	got := e.msgs(e.alice, "INBOX")
	if len(got) != 1 {
		t.Fatalf("%d messages in INBOX", len(got))
	}
	for _, want := range []string{"Return-Path: <s@remote.example>\r\n", "Delivered-To: alice@example.org\r\n",
		"Received: from localhost ([127.0.0.1])", "by mx.example.org (immp) with ESMTP id " + id,
		"for <alice@example.org>;", body} {
		if !strings.Contains(got[0], want) {
			t.Errorf("message lacks %q:\n%s", want, got[0])
		}
	}
}

// Every RCPT-time code of profile 9, one transaction, mixed outcomes: the
// refused recipients do not fail the accepted ones.
func TestRcptCodesMixed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	e.block(e.bob, "*@spam.example")
	if err := e.store.CreateFolder(context.Background(), e.alice, "INBOX/work"); err != nil {
		t.Fatal(err)
	}
	c := e.dial()
	to := []string{
		"alice@example.org",       // ok
		"nobody@example.org",      // unknown account
		"alice@elsewhere.example", // relay
		"bob@example.org",         // blocked by bob's guard
		"work/alice@example.org",  // ok, subinbox
		"../x@example.org",        // bad address
	}
	want := []string{"", "550 5.1.1", "550 5.7.1", "550 5.7.1", "", "553 5.1.3"}
	errs, err := send(t, c, "x@spam.example", nil, to, "Subject: mixed\r\n\r\nSECRET-CONTENT\r\n")
	if err != nil {
		t.Fatal(err)
	}
	for i := range to {
		if got := code(errs[i]); got != want[i] {
			t.Errorf("RCPT %s: got %q, want %q", to[i], got, want[i])
		}
	}
	if n := len(e.msgs(e.alice, "INBOX")); n != 1 {
		t.Errorf("alice INBOX: %d messages", n)
	}
	if n := len(e.msgs(e.alice, "INBOX/work")); n != 1 {
		t.Errorf("alice INBOX/work: %d messages", n)
	}
	if n := len(e.msgs(e.bob, "INBOX")); n != 0 {
		t.Errorf("blocked bob got %d messages", n)
	}
	// One log line for the transaction naming each recipient's outcome.
	logs := e.logs.String()
	if strings.Count(logs, `"msg":"smtp transaction"`) != 1 {
		t.Fatalf("want one transaction line:\n%s", logs)
	}
	for _, want := range []string{`"<alice@example.org> delivered INBOX"`, `<nobody@example.org> rejected 550`,
		`<work/alice@example.org> delivered INBOX/work"`, `"outcome":"delivered"`, `"from":"x@spam.example"`,
		`"remote":"127.0.0.1"`, `"size":`, `"dur_ms":`,
		// Every refusal has a line of its own with its reason class.
		`"msg":"smtp rejected","proto":"smtp","session":1,"remote":"127.0.0.1","cmd":"RCPT","reason":"no_such_user","status":550,"reply":"550 5.1.1 Recipient address rejected","txn":`,
		`"reason":"relay","status":550,"reply":"550 5.7.1 Relay access denied"`,
		`"reason":"guard","status":550,"reply":"550 5.7.1 Recipient address rejected","txn":`,
		`"from":"x@spam.example","rcpt":"bob@example.org"}`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	if v := e.metric("immp_smtp_transactions_total", map[string]string{"service": "smtp", "outcome": "delivered"}); v != 1 {
		t.Errorf("transactions delivered = %v", v)
	}
	for kind, want := range map[string]float64{"inbox": 1, "subinbox": 1, "fallback_inbox": 0} {
		if v := e.metric("immp_deliveries_total", map[string]string{"folder": kind}); v != want {
			t.Errorf("deliveries{%s} = %v, want %v", kind, v, want)
		}
	}
	if strings.Contains(logs, "SECRET-CONTENT") || strings.Contains(logs, "mixed") {
		t.Errorf("log contains message content:\n%s", logs)
	}
}

// failingGuard cannot decide: the fault injected for 451 4.3.0.
type failingGuard struct{}

func (failingGuard) Verify(context.Context, string, string) (guard.Verdict, error) {
	return 0, errors.New("guard index unavailable")
}

func TestRcptUndecided(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{guard: failingGuard{}})
	c := e.dial()
	if err := c.Mail("s@remote.example", nil); err != nil {
		t.Fatal(err)
	}
	err := c.Rcpt("alice@example.org", nil)
	if got := code(err); got != "451 4.3.0" {
		t.Fatalf("got %q, want 451 4.3.0", got)
	}
	if strings.Contains(err.Error(), "unavailable") {
		t.Errorf("internal error text on the wire: %v", err)
	}
}

func TestNullSender(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	c := e.dial()
	errs, err := send(t, c, "", nil, []string{"alice@example.org"}, "Subject: bounce\r\n\r\nreport\r\n")
	if err != nil || errs[0] != nil {
		t.Fatal(errs, err)
	}
	got := e.msgs(e.alice, "INBOX")
	if len(got) != 1 || !strings.HasPrefix(got[0], "Return-Path: <>\r\n") {
		t.Fatalf("got %q", got)
	}
}

func TestSubinboxMapping(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	ctx := context.Background()
	for _, f := range []string{"INBOX/work", "INBOX/work/office"} {
		if err := e.store.CreateFolder(ctx, e.alice, f); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct{ rcpt, folder string }{
		{"work/alice@example.org", "INBOX/work"},
		{"office/work/alice@example.org", "INBOX/work/office"},
		{"alice+work@example.org", "INBOX/work"},
		{"Work/ALICE@example.org", "INBOX/work"},
		{"missing/alice@example.org", "INBOX"}, // draft 2.2.2: gone -> INBOX
	}
	for _, cs := range cases {
		c := e.dial()
		errs, err := send(t, c, "s@remote.example", nil, []string{cs.rcpt}, "Subject: "+cs.rcpt+"\r\n\r\nx\r\n")
		if err != nil || errs[0] != nil {
			t.Fatalf("%s: %v %v", cs.rcpt, errs, err)
		}
		c.Quit()
		found := false
		for _, m := range e.msgs(e.alice, cs.folder) {
			found = found || strings.Contains(m, "Subject: "+cs.rcpt+"\r\n")
		}
		if !found {
			t.Errorf("%s not filed in %s", cs.rcpt, cs.folder)
		}
	}
}

// The subinbox is looked up after the data: deleted between RCPT and
// DATA, the copy goes to INBOX; REPLACEd, it follows the alias.
func TestSubinboxChangedInFlight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	ctx := context.Background()
	for _, f := range []string{"INBOX/old", "INBOX/new", "INBOX/doomed"} {
		if err := e.store.CreateFolder(ctx, e.alice, f); err != nil {
			t.Fatal(err)
		}
	}
	c := e.dial()
	if err := c.Mail("s@remote.example", nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"old/alice@example.org", "doomed/alice@example.org"} {
		if err := c.Rcpt(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.ReplaceSubinbox(ctx, e.alice, "old", "new"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.DeleteFolder(ctx, e.alice, "INBOX/doomed"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, "Subject: in flight\r\n\r\nx\r\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(e.msgs(e.alice, "INBOX/new")); n != 1 {
		t.Errorf("INBOX/new (REPLACE target) has %d", n)
	}
	if n := len(e.msgs(e.alice, "INBOX")); n != 1 {
		t.Errorf("INBOX (fallback) has %d", n)
	}
	if v := e.metric("immp_deliveries_total", map[string]string{"folder": "fallback_inbox"}); v != 1 {
		t.Errorf("fallback deliveries = %v, want 1", v)
	}
}

func TestEightBitAndUTF8(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	c := e.dial()
	body := "From: Jörg <jörg@bücher.example>\r\nSubject: Grüße\r\n\r\nÄÖÜ \xff\xfe raw 8-bit\r\n"
	errs, err := send(t, c, "jörg@bücher.example", &gosmtp.MailOptions{UTF8: true, Body: gosmtp.Body8BitMIME},
		[]string{"alice@example.org"}, body)
	if err != nil || errs[0] != nil {
		t.Fatal(errs, err)
	}
	got := e.msgs(e.alice, "INBOX")
	if len(got) != 1 || !strings.HasSuffix(got[0], body) || !strings.Contains(got[0], "Return-Path: <jörg@bücher.example>") {
		t.Fatalf("8-bit message changed: %q", got)
	}
	if !strings.Contains(got[0], "with UTF8SMTP") {
		t.Errorf("SMTPUTF8 not recorded in Received: %q", got[0])
	}
}

func TestSizeLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{opts: Options{MaxMessageBytes: 10000}})
	c := e.dial()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	if ok, p := c.Extension("SIZE"); !ok || p != "10000" {
		t.Fatalf("SIZE %v %q", ok, p)
	}
	// Declared too large at MAIL (RFC 1870).
	if got := code(c.Mail("s@remote.example", &gosmtp.MailOptions{Size: 20000})); got != "552 5.3.4" {
		t.Errorf("MAIL SIZE=20000: %q", got)
	}
	// Undeclared, too large in DATA.
	_, err := send(t, c, "s@remote.example", nil, []string{"alice@example.org"},
		"Subject: big\r\n\r\n"+strings.Repeat("0123456789abcdef\r\n", 1000))
	if got := code(err); got != "552 5.3.4" {
		t.Errorf("DATA too large: %q", got)
	}
	if n := len(e.msgs(e.alice, "INBOX")); n != 0 {
		t.Errorf("%d messages stored", n)
	}
	// The session goes on: a small message passes.
	errs, err := send(t, c, "s@remote.example", nil, []string{"alice@example.org"}, "Subject: small\r\n\r\nok\r\n")
	if err != nil || errs[0] != nil {
		t.Fatal(errs, err)
	}
}

func TestLongLines(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	c := e.dial()
	long := strings.Repeat("x", 200<<10) // far beyond RFC 5321's 1000: real HTML mail has such lines
	body := "Subject: long\r\n\r\n" + long + "\r\n"
	errs, err := send(t, c, "s@remote.example", nil, []string{"alice@example.org"}, body)
	if err != nil || errs[0] != nil {
		t.Fatal(errs, err)
	}
	got := e.msgs(e.alice, "INBOX")
	if len(got) != 1 || !strings.HasSuffix(got[0], body) {
		t.Fatal("long line not stored intact")
	}
}

// A message line over MaxLineLength: 500 5.5.2, nothing stored.
func TestLineTooLong(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{opts: Options{MaxLineLength: 4096}})
	r := e.raw()
	r.write("EHLO c\r\n")
	r.expect(250)
	r.write("MAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n")
	r.expect(250)
	r.expect(250)
	r.expect(354)
	// The rest of the data cannot be told from commands: one reply, the
	// last, then the end of the connection (no second 500 for the next
	// "command"), the reply kept from a reset though input is unread.
	r.write("Subject: x\r\n\r\n" + strings.Repeat("y", 8192) + "\r\n" + strings.Repeat("more\r\n", 40000) + ".\r\n")
	expectLastReply(t, r, 500, "5.5.2")
	if n := len(e.msgs(e.alice, "INBOX")); n != 0 {
		t.Errorf("%d messages stored", n)
	}
}

func TestPipelining(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	r := e.raw()
	r.write("EHLO c\r\n")
	r.expect(250)
	// RFC 2920: the whole batch in one write; replies in order.
	r.write("MAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<nobody@example.org>\r\n" +
		"RCPT TO:<bob@example.org>\r\nDATA\r\n")
	for _, want := range []int{250, 250, 550, 250, 354} {
		r.expect(want)
	}
	r.write("Subject: piped\r\n\r\n..dot-stuffed\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n")
	r.expect(250)
	r.expect(250)
	r.expect(250)
	r.expect(354)
	r.write("Subject: second\r\n\r\nx\r\n.\r\nQUIT\r\n")
	r.expect(250)
	r.expect(221)
	a := e.msgs(e.alice, "INBOX")
	if len(a) != 1 || !strings.HasSuffix(a[0], "\r\n.dot-stuffed\r\n") {
		t.Errorf("alice: %q", a)
	}
	if n := len(e.msgs(e.bob, "INBOX")); n != 2 {
		t.Errorf("bob has %d messages, want 2", n)
	}
}

func TestChunking(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{opts: Options{MaxMessageBytes: 1000}})
	r := e.raw()
	r.write("EHLO c\r\n")
	r.expect(250)
	part1 := "Subject: chunks\r\n\r\n"
	part2 := "line one\r\n.not stuffed in BDAT\r\n"
	r.write("MAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.org>\r\n")
	r.expect(250)
	r.expect(250)
	r.write(fmt.Sprintf("BDAT %d\r\n%s", len(part1), part1))
	r.expect(250)
	r.write(fmt.Sprintf("BDAT %d LAST\r\n%s", len(part2), part2))
	r.expect(250)
	got := e.msgs(e.alice, "INBOX")
	if len(got) != 1 || !strings.HasSuffix(got[0], part1+part2) {
		t.Fatalf("got %q", got)
	}
	// Over the size limit in BDAT: 552, nothing stored.
	r.write("MAIL FROM:<s@remote.example>\r\nRCPT TO:<bob@example.org>\r\n")
	r.expect(250)
	r.expect(250)
	big := strings.Repeat("z", 1200)
	r.write(fmt.Sprintf("BDAT %d LAST\r\n%s", len(big), big))
	if msg := r.expect(552); !strings.HasPrefix(msg, "5.3.4") {
		t.Errorf("got %q", msg)
	}
	if n := len(e.msgs(e.bob, "INBOX")); n != 0 {
		t.Errorf("bob has %d", n)
	}
	// RSET between chunks abandons the message.
	r.write("MAIL FROM:<s@remote.example>\r\nRCPT TO:<bob@example.org>\r\n")
	r.expect(250)
	r.expect(250)
	r.write(fmt.Sprintf("BDAT %d\r\n%s", len(part1), part1))
	r.expect(250)
	r.write("RSET\r\n")
	r.expect(250)
	r.write("NOOP\r\n")
	r.expect(250)
	if n := len(e.msgs(e.bob, "INBOX")); n != 0 {
		t.Errorf("bob has %d after RSET", n)
	}
}

// faultTxn makes the storage fail where the test cannot for real (tests
// run as root; permissions stop nothing).
type faultTxn struct {
	delivery.Txn
	err error
}

func (f *faultTxn) Write(p []byte) (int, error) { return 0, f.err }

type commitFault struct {
	delivery.Txn
	err error
}

func (f *commitFault) Commit(context.Context) ([]maildir.Delivered, error) { return nil, f.err }

func TestStorageFaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		wrap func(delivery.Txn) delivery.Txn
		want string
	}{
		{"disk full", func(x delivery.Txn) delivery.Txn { return &faultTxn{x, fmt.Errorf("write: %w", syscall.ENOSPC)} }, "452 4.3.1"},
		{"read-only", func(x delivery.Txn) delivery.Txn { return &faultTxn{x, fmt.Errorf("open: %w", syscall.EROFS)} }, "451 4.3.0"},
		{"I/O error at commit", func(x delivery.Txn) delivery.Txn { return &commitFault{x, syscall.EIO} }, "451 4.3.0"},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, setup{wrap: cs.wrap})
			c := e.dial()
			_, err := send(t, c, "s@remote.example", nil, []string{"alice@example.org", "bob@example.org"},
				"Subject: x\r\n\r\n"+strings.Repeat("data\r\n", 30000))
			if got := code(err); got != cs.want {
				t.Fatalf("got %q (%v), want %s", got, err, cs.want)
			}
			if strings.Contains(err.Error(), "errno") || strings.Contains(err.Error(), "write:") {
				t.Errorf("internal error on the wire: %v", err)
			}
			for _, a := range []string{"alice", "bob"} {
				acct := e.alice
				if a == "bob" {
					acct = e.bob
				}
				if n := len(e.msgs(acct, "INBOX")); n != 0 {
					t.Errorf("%s has %d messages after a failed delivery", a, n)
				}
			}
			if !strings.Contains(e.logs.String(), `"outcome":"tempfail"`) {
				t.Errorf("tempfail not logged:\n%s", e.logs.String())
			}
		})
	}
}

// Command lines have their own, smaller limit (DefaultMaxCommandLength):
// a command line is held whole, message lines are streamed. Over it: 500
// 5.4.0 and the end of the connection, the reply not lost to the rest of
// the line still unread. A message line far longer is still taken, and
// the command limit is back once the data is in.
func TestCommandLineTooLong(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	r := e.raw()
	r.dataToAlice()
	long := strings.Repeat("y", 64<<10)
	r.write("Subject: x\r\n\r\n" + long + "\r\n.\r\n")
	r.expect(250)
	if got := e.msgs(e.alice, "INBOX"); len(got) != 1 || !strings.Contains(got[0], long) {
		t.Fatal("a 64 KiB message line was not stored intact")
	}
	// Just under the limit (CRLF included) is a command; one more octet
	// is not.
	noop := "NOOP " + strings.Repeat("n", DefaultMaxCommandLength-len("NOOP \r\n"))
	r.write(noop + "\r\n")
	r.expect(250)
	go r.c.Write([]byte(noop + "nn\r\n" + strings.Repeat("NOOP\r\n", 20000)))
	expectLastReply(t, r, 500, "5.4.0")
}

// RFC 5321 4.5.3.1.3: a path is at most 256 octets with its angle
// brackets; longer is "501 Path too long" (4.5.3.1.10), for the sender
// and for each recipient, and the transaction goes on.
func TestPathTooLong(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	r := e.raw()
	r.write("EHLO c\r\n")
	r.expect(250)
	at254 := strings.Repeat("s", 254-len("@remote.example")) + "@remote.example"
	r.write("MAIL FROM:<x" + at254 + ">\r\n")
	if msg := r.expect(501); msg != "5.1.7 Path too long" {
		t.Fatalf("MAIL: 501 %s", msg)
	}
	r.write("MAIL FROM:<" + at254 + ">\r\n")
	r.expect(250)
	r.write("RCPT TO:<" + strings.Repeat("a", 300) + "@example.org>\r\n")
	if msg := r.expect(501); msg != "5.1.3 Path too long" {
		t.Fatalf("RCPT: 501 %s", msg)
	}
	r.write("RCPT TO:<alice@example.org>\r\nDATA\r\n")
	r.expect(250)
	r.expect(354)
	r.write("Subject: x\r\n\r\nx\r\n.\r\n")
	r.expect(250)
	if n := len(e.msgs(e.alice, "INBOX")); n != 1 {
		t.Fatalf("%d messages stored", n)
	}
	// Logged as the client's syntax, not as a failure on this side.
	got := map[string]string{}
	for _, l := range e.logLines("smtp rejected") {
		got[l["cmd"].(string)] = fmt.Sprint(l["reason"], " ", l["status"], " ", len(l["from"].(string)))
	}
	if got["MAIL"] != "syntax 501 67" || got["RCPT"] != "syntax 501 254" {
		t.Errorf("refusals logged as %v, want MAIL and RCPT as syntax 501, the long sender clipped", got)
	}
}
