package immptest_test

import (
	"net"
	"os"
	"strings"
	"testing"

	"github.com/immp-mail/immp/immptest"
)

func TestStartSendWaitGet(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t)
	for name, a := range map[string]string{"smtp": srv.SMTP, "submission": srv.Submission, "imap": srv.IMAP,
		"imaps": srv.IMAPS, "immp": srv.IMMP, "http": srv.HTTP} {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host != "127.0.0.1" || port == "0" {
			t.Fatalf("%s address %q", name, a)
		}
	}
	srv.Send(t, "app@shop.test", []string{"bob@example.com"}, "From: Shop <app@shop.test>\nTo: bob@example.com\nSubject: Welcome Bob\n\nConfirm: https://shop.test/confirm?token=42\n")
	m := srv.WaitFor(t, immptest.Query{To: "bob@example.com", Subject: "welcome"})
	if m.Account != "bob@example.com" || m.From != "app@shop.test" || m.Subject != "Welcome Bob" {
		t.Fatalf("message %+v", m)
	}
	d := srv.Get(t, m.ID)
	if !strings.Contains(d.Text, "token=42") {
		t.Fatalf("text %q", d.Text)
	}
	if raw := srv.Raw(t, m.ID); !strings.HasPrefix(raw, "Return-Path: <app@shop.test>\r\n") || !strings.Contains(raw, "Subject: Welcome Bob\r\n") {
		t.Fatalf("raw %q", raw)
	}
	if ms := srv.Messages(t, immptest.Query{To: "bob@"}); len(ms) != 1 || ms[0].ID != m.ID {
		t.Fatalf("list %+v", ms)
	}
	srv.DeleteAll(t)
	if ms := srv.Messages(t, immptest.Query{}); len(ms) != 0 {
		t.Fatalf("after delete all: %d messages", len(ms))
	}
}

// TestCloseRemovesEverything: Close stops every listener and removes the
// data directory.
func TestCloseRemovesEverything(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t)
	srv.Send(t, "a@b.test", []string{"c@d.test"}, "Subject: x\n\nx\n")
	srv.WaitFor(t, immptest.Query{To: "c@d.test"})
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(srv.DataDir); !os.IsNotExist(err) {
		t.Fatalf("data dir still there: %v", err)
	}
	for _, a := range []string{srv.SMTP, srv.IMAP, srv.HTTP, srv.IMMP} {
		if c, err := net.Dial("tcp", a); err == nil {
			c.Close()
			t.Fatalf("%s still accepts connections", a)
		}
	}
	if err := srv.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
}
