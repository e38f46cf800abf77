package delivery

import (
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/maildir"
)

func TestTraceHeaders(t *testing.T) {
	t.Parallel()
	when := time.Date(2026, 11, 27, 3, 4, 5, 0, time.UTC)
	alice := maildir.Account{ID: 1, Address: "alice@example.org"}
	bob := maildir.Account{ID: 2, Address: "bob@example.org"}
	tests := []struct {
		name string
		env  Envelope
		want string
	}{{
		name: "one recipient, plain",
		env: Envelope{ID: "ABC", Sender: "s@remote.example", Helo: "mx.remote.example", ClientIP: "192.0.2.1",
			Recipients: []Recipient{{Address: "work/alice@example.org", Account: alice, Subinbox: "work"}}, Time: when},
		want: "Return-Path: <s@remote.example>\r\n" +
			"Delivered-To: alice@example.org\r\n" +
			"Received: from mx.remote.example ([192.0.2.1])\r\n" +
			"\tby mail.example.org (immp) with ESMTP id ABC\r\n" +
			"\tfor <work/alice@example.org>;\r\n" +
			"\tFri, 27 Nov 2026 03:04:05 +0000\r\n",
	}, {
		name: "two accounts: no Delivered-To, no for (Bcc stays hidden)",
		env: Envelope{ID: "ABC", Sender: "", Helo: "h", ClientIP: "2001:db8::1", TLS: "TLSv1.3 with cipher X",
			AuthUser: "alice@example.org",
			Recipients: []Recipient{{Address: "alice@example.org", Account: alice},
				{Address: "bob@example.org", Account: bob}}, Time: when},
		want: "Return-Path: <>\r\n" +
			"Received: from h ([IPv6:2001:db8::1])\r\n" +
			"\t(using TLSv1.3 with cipher X)\r\n" +
			"\t(authenticated as alice@example.org)\r\n" +
			"\tby mail.example.org (immp) with ESMTPSA id ABC;\r\n" +
			"\tFri, 27 Nov 2026 03:04:05 +0000\r\n",
	}, {
		name: "one account, two addresses: Delivered-To without for",
		env: Envelope{Sender: "a b@x", Helo: "evil\r\nX-Injected: 1", ClientIP: "::ffff:10.0.0.1", UTF8: true,
			Recipients: []Recipient{{Address: "alice@example.org", Account: alice},
				{Address: "work/alice@example.org", Account: alice, Subinbox: "work"}}, Time: when},
		want: "Return-Path: <\"a b\"@x>\r\n" +
			"Delivered-To: alice@example.org\r\n" +
			"Received: from evil??X-Injected:?1 ([10.0.0.1])\r\n" +
			"\tby mail.example.org (immp) with UTF8SMTP;\r\n" +
			"\tFri, 27 Nov 2026 03:04:05 +0000\r\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := traceHeaders("mail.example.org", tt.env)
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// FuzzTraceHeaders: whatever the client sends as HELO, sender or
// recipient, the trace block is only well-formed header fields: no bare
// CR or LF, every line a field or a continuation.
func FuzzTraceHeaders(f *testing.F) {
	f.Add("mx.example", "s@example.org", "alice@example.org", "192.0.2.1")
	f.Add("evil\r\nBcc: x", "\"a\r\nb\"@x", "<x>@y", "::1")
	f.Add("", "", "", "garbage")
	f.Add("(((", "a\\\"@b", "a@b\x00", "fe80::1%eth0")
	f.Fuzz(func(t *testing.T, helo, sender, rcpt, ip string) {
		env := Envelope{ID: "X", Sender: sender, Helo: helo, ClientIP: ip, ClientHost: helo,
			TLS: helo, AuthUser: sender,
			Recipients: []Recipient{{Address: rcpt, Account: maildir.Account{ID: 1, Address: rcpt}}},
			Time:       time.Unix(0, 0)}
		out := traceHeaders(helo, env)
		if !strings.HasSuffix(out, "\r\n") {
			t.Fatalf("not CRLF-terminated: %q", out)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
		for _, l := range lines {
			if strings.ContainsAny(l, "\r\n") {
				t.Fatalf("bare CR/LF in %q", l)
			}
			if l == "" {
				t.Fatalf("empty line ends the header early: %q", out)
			}
			if l[0] == '\t' {
				continue
			}
			name, _, ok := strings.Cut(l, ": ")
			switch name {
			case "Return-Path", "Delivered-To", "Received":
			default:
				t.Fatalf("unexpected field %q (ok=%v) in %q", name, ok, out)
			}
		}
	})
}
