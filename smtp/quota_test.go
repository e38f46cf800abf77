package smtp

import (
	"context"
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/immp-mail/immp/delivery"
	"github.com/immp-mail/immp/maildir"
)

// TestQuota: over real sockets, a recipient whose account is at or over
// its storage quota, or too full for MAIL's SIZE, gets 452 4.2.2 at RCPT
// (the other recipients are accepted); a message that turns out not to
// fit after DATA gets 552 5.2.2 and is delivered to nobody; making room
// lets mail in again.
func TestQuota(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, setup{})
	if err := e.store.SetQuota(ctx, "alice@example.org", 3000); err != nil {
		t.Fatal(err)
	}
	big := "Subject: big\r\n\r\n" + strings.Repeat("x", 1800) + "\r\n"
	c := e.dial()
	if _, err := send(t, c, "s@remote.example", nil, []string{"alice@example.org"}, big); err != nil {
		t.Fatalf("first message: %v", err)
	}

	// SIZE says it would not fit: refused at RCPT for alice alone.
	errs, err := send(t, c, "s@remote.example", &gosmtp.MailOptions{Size: 2000},
		[]string{"alice@example.org", "bob@example.org"}, big)
	if got := code(errs[0]); got != "452 4.2.2" {
		t.Errorf("RCPT alice with SIZE=2000: %q, want 452 4.2.2", got)
	}
	if errs[1] != nil || err != nil {
		t.Errorf("bob: RCPT %v, DATA %v", errs[1], err)
	}

	// No SIZE: accepted at RCPT, refused after DATA, for every recipient.
	errs, err = send(t, c, "s@remote.example", nil, []string{"alice@example.org", "bob@example.org"}, big)
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("RCPT without SIZE: %v", errs)
	}
	if got := code(err); got != "552 5.2.2" {
		t.Errorf("DATA over quota: %q, want 552 5.2.2", got)
	}
	if n, m := len(e.msgs(e.alice, "INBOX")), len(e.msgs(e.bob, "INBOX")); n != 1 || m != 1 {
		t.Errorf("alice has %d messages (want 1), bob %d (want 1: the one SIZE let through)", n, m)
	}

	// At the limit: full before any SIZE is known.
	if err := e.store.SetQuota(ctx, "alice@example.org", 1000); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("s@remote.example", nil); err != nil {
		t.Fatal(err)
	}
	if got := code(c.Rcpt("alice@example.org", nil)); got != "452 4.2.2" {
		t.Errorf("RCPT to a full mailbox: %q, want 452 4.2.2", got)
	}
	c.Reset()

	// Room made: accepted again.
	f, err := e.store.OpenFolder(ctx, e.alice, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.StoreFlags(ctx, []uint32{1}, maildir.FlagsAdd, []string{`\Deleted`}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Expunge(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := send(t, c, "s@remote.example", nil, []string{"alice@example.org"}, "Subject: small\r\n\r\nx\r\n"); err != nil {
		t.Errorf("after expunging: %v", err)
	}
}

// TestEveryReasonHasAReply: each refusal reason of package delivery maps
// to a reply of its own (ReasonBody's depend on the reader's error).
func TestEveryReasonHasAReply(t *testing.T) {
	t.Parallel()
	for r := delivery.ReasonBadAddress; r <= delivery.ReasonOverQuota; r++ {
		if r == delivery.ReasonBody {
			continue
		}
		rep, ok := reasonReplies[r]
		if !ok {
			t.Errorf("%v has no reply", r)
			continue
		}
		if temp := rep.Code/100 == 4; temp != r.Temporary() {
			t.Errorf("%v: reply %d, but Temporary() = %v", r, rep.Code, r.Temporary())
		}
	}
}
