package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
)

// ownsAlice stands for Deliverer.Owns of alice@example.org in the pure
// tests: her address, any case, with a subinbox or +detail.
func ownsAlice(a string) bool {
	a = strings.ToLower(a)
	local, domain, ok := strings.Cut(a, "@")
	if !ok || strings.Contains(domain, "@") || strings.TrimSuffix(domain, ".") != "example.org" {
		return false
	}
	if i := strings.LastIndexByte(local, '/'); i >= 0 {
		local = local[i+1:]
	}
	local, _, _ = strings.Cut(local, "+")
	return local == "alice"
}

func TestCheckHeaderSenders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		hdr     string
		problem senderProblem
		field   string
	}{
		// Accepted: only alice's addresses, however written.
		{"From: alice@example.org\r\n\r\n", senderOK, ""},
		{"From: Alice <ALICE@Example.ORG>\r\n", senderOK, ""},
		{"from:alice@example.org\r\n\r\n", senderOK, ""},
		{"FROM : alice@example.org\r\n\r\n", senderOK, ""},
		{"From: \"Bob <bob@example.org>\" <alice@example.org>\r\n\r\n", senderOK, ""}, // display names are free
		{"From: =?utf-8?q?bob=40example.org?= <alice@example.org>\r\n\r\n", senderOK, ""},
		{"From: =?x-unknown?q?Al=FCce?= <alice@example.org>\r\n\r\n", senderOK, ""},
		{"From: alice@example.org (bob@example.org)\r\n\r\n", senderOK, ""}, // a comment is a display name
		{"From: Alice\r\n <alice@example.org>\r\n\r\n", senderOK, ""},       // folded
		{"From: team: alice@example.org, work/alice@example.org;\r\n\r\n", senderOK, ""},
		{"From: alice+lists@example.org\r\nSender: alice@example.org\r\n\r\n", senderOK, ""},
		{"From: alice@example.org\r\nResent-From: alice@example.org\r\nResent-Sender: a <alice@example.org>\r\n" +
			"Resent-From: work/alice@example.org\r\n\r\n", senderOK, ""},
		{"Subject: x\nFrom: alice@example.org\n\n", senderOK, ""},
		{"From: alice@example.org\r\n", senderOK, ""}, // no body

		// Someone else's address, hidden by obsolete syntax or not.
		{"From: bob@example.org\r\n\r\n", senderNotOwned, "From"},
		{"From : bob@example.org\r\n\r\n", senderNotOwned, "From"},
		{"From\t: bob@example.org\r\n\r\n", senderNotOwned, "From"},
		{"From: alice@example.org,\r\n bob@example.org\r\n\r\n", senderNotOwned, "From"}, // folded list
		{"From: \"alice@example.org\" <mallory@evil.example>\r\n\r\n", senderNotOwned, "From"},
		{"From: bob@example.org (alice@example.org)\r\n\r\n", senderNotOwned, "From"},
		{"From: team: alice@example.org, bob@example.org;\r\n\r\n", senderNotOwned, "From"},
		{"From: \"alice@example.org\"@example.org\r\n\r\n", senderNotOwned, "From"}, // quoted '@' stays quoted
		{"From: alice@example.org\r\nSender: bob@example.org\r\n\r\n", senderNotOwned, "Sender"},
		{"From: alice@example.org\r\nSENDER : bob@example.org\r\n\r\n", senderNotOwned, "Sender"},
		{"From: alice@example.org\r\nResent-From: bob@example.org\r\n\r\n", senderNotOwned, "Resent-From"},
		{"From: alice@example.org\r\nresent-sender :\r\n bob@example.org\r\n\r\n", senderNotOwned, "Resent-Sender"},
		{"From: alice@example.org\r\nResent-From: alice@example.org\r\nResent-From: x <bob@example.org>\r\n\r\n",
			senderNotOwned, "Resent-From"},
		{"From: alice@evil.example\r\n\r\n", senderNotOwned, "From"},
		{"From: alice@[127.0.0.1]\r\n\r\n", senderNotOwned, "From"},

		// Exactly one From (RFC 5322 3.6), one Sender at most.
		{"Subject: no from\r\n\r\n", senderNoFrom, "From"},
		{"\r\nFrom: alice@example.org\r\n", senderNoFrom, "From"}, // that From is body
		{"From: alice@example.org\r\nFrom: alice@example.org\r\n\r\n", senderManyFrom, "From"},
		{"From: alice@example.org\r\nfrom : bob@example.org\r\n\r\n", senderManyFrom, "From"},
		{"From: alice@example.org\r\nSender: alice@example.org\r\nSender: alice@example.org\r\n\r\n", senderManySender, "Sender"},

		// Not readable: refused, never guessed.
		{"From: team:;\r\n\r\n", senderNoAddress, "From"},
		{"From: \r\n\r\n", senderNoAddress, "From"},
		{"From: alice@example.org <bob@example.org>\r\n\r\n", senderBadList, "From"},
		{"From: <@relay.example:bob@example.org>\r\n\r\n", senderBadList, "From"},
		{"From: alice@example.org\rFrom: bob@example.org\r\n\r\n", senderBadList, "From"}, // bare CR
		{" From: alice@example.org\r\n\r\n", senderMalformed, ""},
		{"From alice@example.org\r\n\r\n", senderMalformed, ""},
		{"From: alice@example.org\r\nFr om: bob@example.org\r\n\r\n", senderMalformed, ""},
	} {
		_, err := checkHeaderSenders([]byte(tc.hdr), ownsAlice)
		var se *senderError
		switch {
		case tc.problem == senderOK && err != nil:
			t.Errorf("%q: refused: %v", tc.hdr, err)
		case tc.problem == senderOK:
		case !errors.As(err, &se) || se.problem != tc.problem || se.field != tc.field:
			t.Errorf("%q: %v, want %v in %q", tc.hdr, err, tc.problem, tc.field)
		}
	}
}

// The end of the header section is an empty line, never the last piece
// of a long line read in several pieces: otherwise a second From after a
// line that fills the buffer just before its CRLF would pass as body.
func TestReadHeaderLongLine(t *testing.T) {
	t.Parallel()
	const bufSize = 64
	for pad := 0; pad < 3*bufSize; pad++ {
		msg := "From: alice@example.org\r\nX: " + strings.Repeat("a", pad) + "\r\nFrom: bob@example.org\r\n\r\nbody\r\n"
		hdr, err := readHeader(bufio.NewReaderSize(strings.NewReader(msg), bufSize), maxHeaderBytes)
		if err != nil {
			t.Fatal(err)
		}
		if want := msg[:strings.Index(msg, "\r\n\r\n")+4]; string(hdr) != want {
			t.Fatalf("pad %d: header %q", pad, hdr)
		}
		var se *senderError
		if _, err := checkHeaderSenders(hdr, ownsAlice); !errors.As(err, &se) || se.problem != senderManyFrom {
			t.Fatalf("pad %d: %v", pad, err)
		}
	}
	if _, err := readHeader(bufio.NewReader(bytes.NewReader(append(bytes.Repeat([]byte("X: y\r\n"), 10), "\r\n"...))), 20); !errors.Is(err, errHeaderTooLong) {
		t.Fatalf("over the bound: %v", err)
	}
}

// Over a socket: each refused header gets 550 5.7.1 with a text naming
// the problem, nothing is stored; the accepted ones are delivered as sent.
func TestSubmissionSenderFields(t *testing.T) {
	t.Parallel()
	e := subEnv(t, Options{})
	c := e.dial()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.org", "pw-alice")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ hdr, text string }{
		{"From : bob@example.org", "From header may name only addresses of the authenticated account"},
		{"From: alice@example.org\r\nFrom : bob@example.org", "more than one From header"},
		{"From: Alice <alice@example.org>,\r\n\tBob <bob@example.org>", "From header may name only"},
		{"From: friends: alice@example.org, bob@example.org;", "From header may name only"},
		{"From: alice@example.org\r\nSender: bob@example.org", "Sender header may name only"},
		{"From: alice@example.org\r\nResent-From: bob@example.org", "Resent-From header may name only"},
		{"From: alice@example.org\r\nResent-Sender : bob@example.org", "Resent-Sender header may name only"},
		{"Subject: none", "no From header"},
		{"From: undisclosed:;", "From header names no address"},
		{"From: alice@example.org <bob@example.org>", "not a valid address list"},
		{"From alice@example.org", "Malformed header section"},
	} {
		_, err := send(t, c, "alice@example.org", nil, []string{"bob@example.org"}, tc.hdr+"\r\nSubject: x\r\n\r\nbody\r\n")
		if got := code(err); got != "550 5.7.1" || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%q: %q %v, want 550 5.7.1 %q", tc.hdr, got, err, tc.text)
		}
	}
	if n := len(e.msgs(e.bob, "INBOX")); n != 0 {
		t.Fatalf("bob got %d refused messages", n)
	}
	for _, hdr := range []string{
		"From: \"Bob <bob@example.org>\" <alice@example.org>",
		"FROM :\r\n Alice (the real one) <alice+lists@example.org>\r\nSender: work/alice@example.org",
		"From: =?utf-8?q?B=C3=B6b?= <alice@example.org>\r\nResent-From: alice@example.org",
	} {
		body := hdr + "\r\nSubject: ok\r\n\r\nbody\r\n"
		if _, err := send(t, c, "alice@example.org", nil, []string{"bob@example.org"}, body); err != nil {
			t.Errorf("%q: %v", hdr, err)
		}
	}
	if n := len(e.msgs(e.bob, "INBOX")); n != 3 {
		t.Fatalf("bob got %d of 3 accepted messages", n)
	}
	if !strings.Contains(e.logs.String(), `"problem":"address not owned","field":"From","addr":"bob@example.org"`) {
		t.Errorf("refusal not logged:\n%s", e.logs.String())
	}
}
