package smtp

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestRejectionReasons: each refusal class gets one "smtp rejected" line
// with its reason, the command, the envelope and the reply as sent,
// including the limits go-smtp enforces by itself (OnReject).
func TestRejectionReasons(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{opts: Options{MaxRecipients: 2, MaxMessageBytes: 1000}})
	e.block(e.alice, "*@spam.example")
	r := e.raw()
	steps := []struct {
		send string
		code int
	}{
		{"EHLO c\r\n", 250},
		{"MAIL FROM:<big@remote.example> SIZE=5000\r\n", 552},
		{"MAIL FROM:<x@spam.example>\r\n", 250},
		{"RCPT TO:<alice@example.org>\r\n", 550},
		{"RCPT TO:<nobody@example.org>\r\n", 550},
		{"RCPT TO:<bob@example.org>\r\n", 250},
		{"RCPT TO:<bob@elsewhere.example>\r\n", 550},
		{"RCPT TO:<work/bob@example.org>\r\n", 250},
		{"RCPT TO:<x/bob@example.org>\r\n", 452},
		{"DATA\r\n", 354},
		{strings.Repeat("x", 2000) + "\r\n.\r\n", 552},
	}
	for _, s := range steps {
		r.write(s.send)
		r.expect(s.code)
	}
	want := []string{
		"MAIL size 552 552 5.3.4 Max message size exceeded from=big@remote.example",
		"RCPT guard 550 550 5.7.1 Recipient address rejected from=x@spam.example rcpt=alice@example.org",
		"RCPT no_such_user 550 550 5.1.1 Recipient address rejected from=x@spam.example rcpt=nobody@example.org",
		"RCPT relay 550 550 5.7.1 Relay access denied from=x@spam.example rcpt=bob@elsewhere.example",
		"RCPT rate 452 452 4.5.3 Maximum limit of 2 recipients reached from=x@spam.example rcpt=x/bob@example.org",
		"DATA size 552 552 5.3.4 Message size exceeds fixed maximum message size from=x@spam.example",
	}
	lines := e.waitLog("smtp rejected")
	var got []string
	for _, l := range lines {
		s := fmt.Sprintf("%v %v %v %v from=%v", l["cmd"], l["reason"], l["status"], l["reply"], l["from"])
		if l["rcpt"] != nil {
			s += fmt.Sprintf(" rcpt=%v", l["rcpt"])
		}
		if l["remote"] != "127.0.0.1" || l["session"] == nil || l["proto"] != "smtp" {
			t.Errorf("line without the connection's keys: %v", l)
		}
		if l["cmd"] != "MAIL" && l["txn"] == nil {
			t.Errorf("line without txn: %v", l)
		}
		got = append(got, s)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rejections logged:\n%s\nwant:\n%s\nlog:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), e.logs.String())
	}
}

// TestDMARCRejectIsPolicy: a DMARC p=reject failure is answered 550
// 5.7.1 and logged as a policy refusal, not a local failure.
func TestDMARCRejectIsPolicy(t *testing.T) {
	err := error(&dmarcRejected{domain: "bank.test"})
	rep := replyFor(err)
	if rep.Code != 550 || rep.EnhancedCode[1] != 7 || !strings.Contains(rep.Message, "bank.test") {
		t.Errorf("reply %+v", rep)
	}
	if got := reasonClass(err, rep); got != reasonPolicy {
		t.Errorf("reason %q, want %q", got, reasonPolicy)
	}
}

// clip keeps a log line short and its text valid UTF-8.
func TestClip(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"short@example.org", "short@example.org"},
		{strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{strings.Repeat("a", 65), strings.Repeat("a", 64) + "..."},
		{strings.Repeat("a", 63) + "éé", strings.Repeat("a", 63) + "..."},
	} {
		if got := clip(c.in); got != c.want || !utf8.ValidString(got) {
			t.Errorf("clip(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
