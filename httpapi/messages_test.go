package httpapi_test

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/immptest"
)

func TestListPagingNewestFirst(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t)
	for i := 1; i <= 7; i++ {
		srv.Send(t, "app@shop.test", []string{"alice@localhost"}, simple("app@shop.test", "alice@localhost", fmt.Sprintf("m%d", i), "body"))
		time.Sleep(2 * time.Millisecond) // distinct received times
	}
	var l list
	mustCall(t, srv, "GET", "/api/v1/messages?limit=3", "", 200, &l)
	if l.Total != 7 || subjects(l) != "m7,m6,m5" {
		t.Fatalf("page 1: total %d, %s", l.Total, subjects(l))
	}
	mustCall(t, srv, "GET", "/api/v1/messages?limit=3&start=3", "", 200, &l)
	if l.Total != 7 || l.Start != 3 || subjects(l) != "m4,m3,m2" {
		t.Fatalf("page 2: total %d, %s", l.Total, subjects(l))
	}
	mustCall(t, srv, "GET", "/api/v1/messages?limit=3&start=6", "", 200, &l)
	if subjects(l) != "m1" {
		t.Fatalf("page 3: %s", subjects(l))
	}
	mustCall(t, srv, "GET", "/api/v1/messages?start=70", "", 200, &l)
	if l.Total != 7 || len(l.Messages) != 0 || l.Messages == nil {
		t.Fatalf("past the end: %+v", l)
	}
	m := l
	mustCall(t, srv, "GET", "/api/v1/messages?account=alice@localhost&folder=INBOX&limit=1", "", 200, &m)
	got := m.Messages[0]
	if got.Account != "alice@localhost" || got.Folder != "INBOX" || got.UID != 7 || got.From != "app@shop.test" ||
		len(got.To) != 1 || got.To[0] != "alice@localhost" || got.Size <= 0 || got.Flags == nil || got.Date.IsZero() {
		t.Fatalf("M: %+v", got)
	}
	for _, bad := range []string{"limit=0", "limit=1001", "limit=x", "start=-1", "since=yesterday", "q=%22open", "q=is:maybe"} {
		mustCall(t, srv, "GET", "/api/v1/messages?"+bad, "", 400, nil)
	}
	mustCall(t, srv, "GET", "/api/v1/messages?account=nobody@localhost", "", 404, nil)
	mustCall(t, srv, "GET", "/api/v1/messages?account=alice@localhost&folder=Nope", "", 404, nil)
	mustCall(t, srv, "GET", "/api/v1/nothing", "", 404, nil)
}

func TestSearch(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t)
	srv.Send(t, "orders@shop.test", []string{"alice@localhost"}, simple("Shop Orders <orders@shop.test>", "alice@localhost", "Your order 1001", "Total: 12 EUR, blue socks"))
	srv.Send(t, "news@paper.test", []string{"bob@example.com"}, simple("news@paper.test", "bob@example.com", "Daily news", "Weather: sunny"))
	html := "From: promo@shop.test\r\nTo: carol@example.com\r\nCc: dave@example.com\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n\r\n<p>Red <b>shoes</b> on sale</p>\r\n"
	srv.Send(t, "promo@shop.test", []string{"carol@example.com", "dave@example.com"}, html)
	cutoff := time.Now()
	time.Sleep(5 * time.Millisecond)
	srv.Send(t, "late@shop.test", []string{"alice@localhost"}, simple("late@shop.test", "alice@localhost", "Late", "x"))

	for _, c := range []struct {
		query string
		want  string // subjects, newest first
	}{
		{"from=shop.test&subject=order", "Your order 1001"},
		{"from=shop+orders", "Your order 1001"},
		{"to=bob@example.com", "Daily news"},
		{"to=dave@", "Grüße,Grüße"}, // Cc, and dave's own copy
		{"account=dave@example.com", "Grüße"},
		{"subject=GRÜSSE", ""},
		{"subject=grüße", "Grüße,Grüße"},
		{"text=blue+socks", "Your order 1001"},
		{"text=shoes", "Grüße,Grüße"},
		{"text=%3Cb%3E", ""}, // markup is not text
		{"q=sunny", "Daily news"},
		{"q=from:orders+subject:%22order+1001%22", "Your order 1001"},
		{"q=body:socks+to:alice", "Your order 1001"},
		{"folder=INBOX&account=alice@localhost", "Late,Your order 1001"},
		{"before=" + url.QueryEscape(cutoff.Format(time.RFC3339Nano)) + "&to=alice", "Your order 1001"},
		{"since=" + url.QueryEscape(cutoff.Format(time.RFC3339Nano)), "Late"},
		{"q=is:unseen+to:alice", "Late,Your order 1001"},
		{"seen=true", ""},
		{"since=2000-01-01&to=bob", "Daily news"},
	} {
		var l list
		mustCall(t, srv, "GET", "/api/v1/messages?"+c.query, "", 200, &l)
		if got := subjects(l); got != c.want || l.Total != len(l.Messages) {
			t.Errorf("%s: %q (total %d), want %q", c.query, got, l.Total, c.want)
		}
	}
}

func TestGetRawAttachments(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t)
	pdf := []byte("%PDF-1.4 fake \x00\x01\x02 binary")
	msg := "From: Alice Example <alice@shop.test>\r\nTo: Bob <bob@example.com>, carol@example.com\r\nSubject: Invoice\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 -0700\r\nX-Trace: one\r\nX-Trace: two\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=OUT\r\n\r\n" +
		"--OUT\r\nContent-Type: multipart/alternative; boundary=ALT\r\n\r\n" +
		"--ALT\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHall=F6chen, see attached\r\n" +
		"--ALT\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hall&ouml;chen</p><img src=\"https://tracker.test/p.gif\">\r\n--ALT--\r\n" +
		"--OUT\r\nContent-Type: application/pdf; name=\"invoice.pdf\"\r\nContent-Disposition: attachment; filename=\"invoice.pdf\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(pdf) + "\r\n" +
		"--OUT\r\nContent-Type: text/html; name=\"evil.html\"\r\nContent-Disposition: attachment; filename=\"evil.html\"\r\n\r\n<script>alert(1)</script>\r\n--OUT--\r\n"
	srv.Send(t, "alice@shop.test", []string{"bob@example.com"}, msg)
	m := srv.WaitFor(t, immptest.Query{Subject: "Invoice"})
	var d immptest.Detail
	mustCall(t, srv, "GET", "/api/v1/messages/"+m.ID, "", 200, &d)
	if d.ID != m.ID || d.FromName != "Alice Example" || strings.Join(d.To, ",") != "bob@example.com,carol@example.com" {
		t.Fatalf("detail envelope %+v", d.Message)
	}
	if !d.Date.Equal(time.Date(2006, 1, 2, 22, 4, 5, 0, time.UTC)) {
		t.Errorf("date %v", d.Date)
	}
	if strings.TrimSpace(d.Text) != "Hallöchen, see attached" || !strings.Contains(d.HTML, "<p>Hall&ouml;chen</p>") {
		t.Errorf("text %q html %q", d.Text, d.HTML)
	}
	if got := d.Headers["X-Trace"]; len(got) != 2 || got[1] != "two" || d.Headers["Subject"][0] != "Invoice" {
		t.Errorf("headers %v", d.Headers)
	}
	if len(d.Attachments) != 2 || d.Attachments[0].Filename != "invoice.pdf" || d.Attachments[0].ContentType != "application/pdf" ||
		d.Attachments[0].Size != len(pdf) || d.Attachments[1].Filename != "evil.html" {
		t.Fatalf("attachments %+v", d.Attachments)
	}
	resp, err := http.Get(srv.URL + d.Attachments[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != string(pdf) || resp.Header.Get("Content-Type") != "application/pdf" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), `filename=invoice.pdf`) {
		t.Fatalf("attachment: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	resp, _ = http.Get(srv.URL + d.Attachments[1].URL)
	resp.Body.Close()
	if h := resp.Header; h.Get("Content-Security-Policy") != "sandbox" || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(h.Get("Content-Disposition"), "attachment") {
		t.Fatalf("an HTML attachment must be a sandboxed download: %v", h)
	}
	mustCall(t, srv, "GET", "/api/v1/messages/"+m.ID+"/attachments/2", "", 404, nil)
	mustCall(t, srv, "GET", "/api/v1/messages/"+m.ID+"/attachments/x", "", 404, nil)

	raw := srv.Raw(t, m.ID)
	if !strings.HasSuffix(raw, msg) || int64(len(raw)) != m.Size {
		t.Fatalf("raw (%d octets, M.size %d) does not end with the message sent", len(raw), m.Size)
	}
}

// TestIDs: ids are opaque, stable and never name another message.
func TestIDs(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t)
	srv.Send(t, "a@shop.test", []string{"erin@example.com"}, simple("a@shop.test", "erin@example.com", "one", "x"))
	m := srv.WaitFor(t, immptest.Query{To: "erin@"})
	if again := srv.WaitFor(t, immptest.Query{To: "erin@"}); again.ID != m.ID {
		t.Fatalf("id changed: %s, %s", m.ID, again.ID)
	}
	if strings.ContainsAny(m.ID, "/+=:") {
		t.Fatalf("id %q is not URL-safe", m.ID)
	}
	for _, bad := range []string{"x", "AAAA", base64.RawURLEncoding.EncodeToString([]byte("1:1:1:1:INBOX")), m.ID + "A",
		base64.RawURLEncoding.EncodeToString([]byte("1:01:1:1:INBOX")), strings.Repeat("A", 5000)} {
		mustCall(t, srv, "GET", "/api/v1/messages/"+bad, "", 404, nil)
	}
	// The same reference written another way is not an id.
	raw, _ := base64.RawURLEncoding.DecodeString(m.ID)
	parts := strings.SplitN(string(raw), ":", 3)
	for _, alias := range []string{parts[0] + ":0" + parts[1] + ":" + parts[2], parts[0] + ":+" + parts[1] + ":" + parts[2]} {
		mustCall(t, srv, "GET", "/api/v1/messages/"+base64.RawURLEncoding.EncodeToString([]byte(alias)), "", 404, nil)
	}
	mustCall(t, srv, "DELETE", "/api/v1/messages/"+m.ID, "", 204, nil)
	mustCall(t, srv, "GET", "/api/v1/messages/"+m.ID, "", 404, nil)
	mustCall(t, srv, "DELETE", "/api/v1/messages/"+m.ID, "", 404, nil)
	// A new message gets a new id; an account deleted and made again
	// does not bring old ids back.
	srv.Send(t, "a@shop.test", []string{"erin@example.com"}, simple("a@shop.test", "erin@example.com", "two", "x"))
	m2 := srv.WaitFor(t, immptest.Query{To: "erin@", Subject: "two"})
	if m2.ID == m.ID || m2.UID != 2 {
		t.Fatalf("second message %+v", m2)
	}
	mustCall(t, srv, "DELETE", "/api/v1/accounts/erin@example.com", "", 204, nil)
	srv.Send(t, "a@shop.test", []string{"erin@example.com"}, simple("a@shop.test", "erin@example.com", "three", "x"))
	srv.WaitFor(t, immptest.Query{To: "erin@", Subject: "three"})
	mustCall(t, srv, "GET", "/api/v1/messages/"+m2.ID, "", 404, nil)
}

func TestSeenAndDelete(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t)
	for _, to := range []string{"f@example.com", "f@example.com", "g@example.com"} {
		srv.Send(t, "a@shop.test", []string{to}, simple("a@shop.test", to, "s-"+to, "x"))
	}
	m := srv.WaitFor(t, immptest.Query{To: "g@"})
	var got immptest.Message
	mustCall(t, srv, "PATCH", "/api/v1/messages/"+m.ID, `{"seen": true}`, 200, &got)
	if !got.Seen || strings.Join(got.Flags, " ") != `\Seen` {
		t.Fatalf("after seen: %+v", got)
	}
	var l list
	mustCall(t, srv, "GET", "/api/v1/messages?seen=true", "", 200, &l)
	if l.Total != 1 || l.Messages[0].ID != m.ID {
		t.Fatalf("seen list %+v", l)
	}
	mustCall(t, srv, "PATCH", "/api/v1/messages/"+m.ID, `{"seen": false}`, 200, &got)
	if got.Seen || len(got.Flags) != 0 {
		t.Fatalf("after unseen: %+v", got)
	}
	mustCall(t, srv, "PATCH", "/api/v1/messages/"+m.ID, `{"flagged": true}`, 400, nil)
	mustCall(t, srv, "PATCH", "/api/v1/messages/"+m.ID, `{}`, 400, nil)
	mustCall(t, srv, "PATCH", "/api/v1/messages/"+m.ID, `not json`, 400, nil)

	var del map[string]int
	mustCall(t, srv, "DELETE", "/api/v1/messages?account=f@example.com", "", 200, &del)
	if del["deleted"] != 2 {
		t.Fatalf("deleted %v", del)
	}
	mustCall(t, srv, "GET", "/api/v1/messages", "", 200, &l)
	if l.Total != 1 || l.Messages[0].Account != "g@example.com" {
		t.Fatalf("after deleting f's: %+v", l)
	}
	mustCall(t, srv, "DELETE", "/api/v1/messages", "", 200, &del)
	mustCall(t, srv, "GET", "/api/v1/messages", "", 200, &l)
	if del["deleted"] != 1 || l.Total != 0 {
		t.Fatalf("after deleting all: %v %+v", del, l)
	}
	mustCall(t, srv, "DELETE", "/api/v1/messages?account=nobody@example.com", "", 404, nil)
}

// TestReadYourWrites: a message answered 250 is in the very next list.
func TestReadYourWrites(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t)
	for i := range 40 {
		to := fmt.Sprintf("ryw%d@example.com", i%3)
		subj := fmt.Sprintf("ryw-%d", i)
		srv.Send(t, "a@shop.test", []string{to}, simple("a@shop.test", to, subj, "x"))
		var l list
		mustCall(t, srv, "GET", "/api/v1/messages?subject="+subj, "", 200, &l)
		if l.Total != 1 {
			t.Fatalf("message %d answered 250 is not in the next list (total %d)", i, l.Total)
		}
	}
}
