package examples

import (
	"fmt"
	"net/smtp"
	"strings"
	"testing"

	"github.com/immp-mail/immp/immptest"
)

// sendWelcome stands for the application under test: it sends a sign-up
// mail through the SMTP server it is configured with.
func sendWelcome(smtpAddr, to, token string) error {
	msg := fmt.Sprintf("From: Shop <noreply@shop.test>\r\nTo: %s\r\nSubject: Welcome to the shop\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Confirm your address: https://shop.test/confirm?token=%s\r\n", to, token)
	c, err := smtp.Dial(smtpAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("shop.test"); err != nil {
		return err
	}
	if err := c.Mail("noreply@shop.test"); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// TestSignupSendsConfirmation is how a project tests its mail with immp:
// start a server inside the test, point the application at it, wait for
// the message and look at it.
func TestSignupSendsConfirmation(t *testing.T) {
	srv := immptest.Start(t) // random loopback ports; removed after the test

	if err := sendWelcome(srv.SMTP, "new.user@example.com", "abc123"); err != nil {
		t.Fatal(err)
	}

	m := srv.WaitFor(t, immptest.Query{To: "new.user@example.com", Subject: "Welcome"})
	if m.From != "noreply@shop.test" {
		t.Errorf("from %q", m.From)
	}
	d := srv.Get(t, m.ID)
	if !strings.Contains(d.Text, "/confirm?token=abc123") {
		t.Errorf("no confirmation link in %q", d.Text)
	}
}

// TestRetriesOn451 checks an application's error handling with a chaos
// rule: the next delivery to the address gets 451, the retry works.
func TestRetriesOn451(t *testing.T) {
	srv := immptest.Start(t)
	rule := map[string]any{"stage": "rcpt", "code": 451, "match": "flaky@example.com", "times": 1}
	if err := srv.Do(t.Context(), "POST", "/api/v1/chaos", rule, nil); err != nil {
		t.Fatal(err)
	}
	err := sendWelcome(srv.SMTP, "flaky@example.com", "t1")
	if err == nil || !strings.HasPrefix(err.Error(), "451") {
		t.Fatalf("first attempt: %v, want 451", err)
	}
	if err := sendWelcome(srv.SMTP, "flaky@example.com", "t1"); err != nil {
		t.Fatalf("retry: %v", err)
	}
	srv.WaitFor(t, immptest.Query{To: "flaky@example.com"})
}
