package imap

import (
	"strings"
	"testing"
)

// Cases from imaptest's fetch-envelope, fetch-bodystructure,
// fetch-body-mime, search-addresses, search-header and search-body
// scripts (the reference for what Dovecot answers), over a real socket.
// Where go-imap's writer differs from Dovecot only in form it is said
// so: a space between the addresses of a list and "7bit" in lower case.
// The obsolete source route is sent as the address's adl (go-imap as
// patched in third_party/go-imap).

func mimeEnv(t *testing.T, msgs ...string) *rawConn {
	e := newEnv(t, envOptions{})
	acct := e.account("alice@example.org")
	for _, m := range msgs {
		e.appendRaw(acct, "INBOX", crlf(m))
	}
	rc := e.raw("alice@example.org")
	rc.ok("SELECT INBOX")
	return rc
}

func expectResponses(t *testing.T, rc *rawConn, cmd string, want ...string) {
	t.Helper()
	got := rc.ok(cmd)
	var fetch []string
	for _, g := range got {
		if strings.Contains(g, " FETCH ") || strings.HasPrefix(g, "* SEARCH") {
			fetch = append(fetch, g)
		}
	}
	if strings.Join(fetch, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %s\nwant %s", cmd, strings.Join(fetch, "\n     "), strings.Join(want, "\n     "))
	}
}

func TestEnvelopeImaptest(t *testing.T) {
	rc := mimeEnv(t, `Message-ID: <msg@id>
In-Reply-To: <reply@to.id>
Date: Thu, 15 Feb 2007 01:02:03 +0200
Subject: subject header
From: From Real <fromuser@fromdomain.org>
To: To Real <touser@todomain.org>
Cc: Cc Real <ccuser@ccdomain.org>
Bcc: Bcc Real <bccuser@bccdomain.org>
Sender: Sender Real <senderuser@senderdomain.org>
Reply-To: ReplyTo Real <replytouser@replytodomain.org>

body
`, `Date: Thu, 15 Feb 2007 01:02:03 +0200
From: user@domain

body
`, `Date: Thu, 15 Feb 2007 01:02:03 +0200
From: user@domain (Real Name)
To: group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;
Cc: group:;, group2: (foo) ;

body
`, `Date: Thu, 15 Feb 2007 01:02:03 +0200
From: user@domain (Real Name)
Sender: 
Reply-To: 

body
`, `Date: Thu, 15 Feb 2007 01:02:03 +0200
From: <@route:user@domain>

body
`, `To: undisclosed-recipients:;
From: =?utf-8?q?J=C3=B6rg?= <j@example.org>, "Doe, John" <"john doe"@example.org>
Subject: =?iso-8859-1?q?Caf=E9?=   folded
 subject
Message-ID: <a@b> (comment)

`)
	expectResponses(t, rc, "FETCH 1:* ENVELOPE",
		`* 1 FETCH (ENVELOPE ("Thu, 15 Feb 2007 01:02:03 +0200" "subject header" (("From Real" NIL "fromuser" "fromdomain.org")) (("Sender Real" NIL "senderuser" "senderdomain.org")) (("ReplyTo Real" NIL "replytouser" "replytodomain.org")) (("To Real" NIL "touser" "todomain.org")) (("Cc Real" NIL "ccuser" "ccdomain.org")) (("Bcc Real" NIL "bccuser" "bccdomain.org")) "<reply@to.id>" "<msg@id>"))`,
		`* 2 FETCH (ENVELOPE ("Thu, 15 Feb 2007 01:02:03 +0200" NIL ((NIL NIL "user" "domain")) ((NIL NIL "user" "domain")) ((NIL NIL "user" "domain")) NIL NIL NIL NIL NIL))`,
		`* 3 FETCH (ENVELOPE ("Thu, 15 Feb 2007 01:02:03 +0200" NIL (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain")) ((NIL NIL "group" NIL) (NIL NIL "g1" "d1.org") (NIL NIL "g2" "d2.org") (NIL NIL NIL NIL) (NIL NIL "group2" NIL) (NIL NIL "g3" "d3.org") (NIL NIL NIL NIL)) ((NIL NIL "group" NIL) (NIL NIL NIL NIL) (NIL NIL "group2" NIL) (NIL NIL NIL NIL)) NIL NIL NIL))`,
		`* 4 FETCH (ENVELOPE ("Thu, 15 Feb 2007 01:02:03 +0200" NIL (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain")) NIL NIL NIL NIL NIL))`,
		`* 5 FETCH (ENVELOPE ("Thu, 15 Feb 2007 01:02:03 +0200" NIL ((NIL "@route" "user" "domain")) ((NIL "@route" "user" "domain")) ((NIL "@route" "user" "domain")) NIL NIL NIL NIL NIL))`,
		`* 6 FETCH (ENVELOPE (NIL "=?iso-8859-1?q?Caf=E9?= folded subject" (("=?utf-8?q?J=C3=B6rg?=" NIL "j" "example.org") ("Doe, John" NIL "john doe" "example.org")) (("=?utf-8?q?J=C3=B6rg?=" NIL "j" "example.org") ("Doe, John" NIL "john doe" "example.org")) (("=?utf-8?q?J=C3=B6rg?=" NIL "j" "example.org") ("Doe, John" NIL "john doe" "example.org")) ((NIL NIL "undisclosed-recipients" NIL) (NIL NIL NIL NIL)) NIL NIL NIL "<a@b>"))`,
	)
}

func TestBodyStructureImaptest(t *testing.T) {
	rc := mimeEnv(t, `From: user@domain.org
Date: Sat, 24 Mar 2007 23:00:00 +0200
Mime-Version: 1.0
Content-Type: multipart/mixed; boundary="foo
 bar"

--foo bar
Content-Type: text/x-myown; charset=us-ascii

hello

--foo bar--
`, `Content-Type: multipart/mixed

--x
Content-Type: text/plain

no boundary parameter: one empty part, as Dovecot
--x--
`, `MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain; name*0*=utf-8''%E2%82%AC; name*1=.txt
Content-Transfer-Encoding: BASE64
Content-Disposition: attachment; filename="a.txt"
Content-Language: en, de
Content-ID: <id@x>

aGVsbG8=
--b--
`)
	expectResponses(t, rc, "FETCH 1 BODY",
		`* 1 FETCH (BODY (("text" "x-myown" ("charset" "us-ascii") NIL NIL "7bit" 7 1) "mixed"))`)
	expectResponses(t, rc, "FETCH 2:3 BODYSTRUCTURE",
		`* 2 FETCH (BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" NIL NIL NIL NIL))`,
		`* 3 FETCH (BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii" "name" {7}`+"\r\n€.txt"+`) "<id@x>" NIL "base64" 8 0 NIL ("attachment" ("filename" "a.txt")) ("en" "de") NIL) "mixed" ("boundary" "b") NIL NIL NIL))`)
	expectResponses(t, rc, "FETCH 3 (BINARY.PEEK[1] BINARY.SIZE[1] BODY.PEEK[1]<2.3>)",
		"* 3 FETCH (BODY[1]<2> {3}\r\nVsb BINARY[1] ~{5}\r\nhello BINARY.SIZE[1] 5)")
}

func TestBodySectionsImaptest(t *testing.T) {
	rc := mimeEnv(t, mimeMessage)
	for _, tc := range []struct{ item, want string }{
		{"BODY.PEEK[1]", "BODY[1] {7}\r\nhello\r\n"},
		{"BODY.PEEK[1.MIME]", "BODY[1.MIME] {48}\r\nContent-Type: text/x-myown; charset=us-ascii\r\n\r\n"},
		{"BODY.PEEK[2.MIME]", "BODY[2.MIME] {32}\r\nContent-Type: message/rfc822\r\n\r\n"},
		{"BODY.PEEK[2.HEADER]", "BODY[2.HEADER] {134}\r\nFrom: sub@domain.org\r\nDate: Sun, 12 Aug 2012 12:34:56 +0300\r\nSubject: submsg\r\nContent-Type: multipart/alternative; boundary=\"sub1\"\r\n\r\n"},
		{"BODY.PEEK[2.1]", "BODY[2.1] {20}\r\n<p>Hello world</p>\r\n"},
		{"BODY.PEEK[2.1.MIME]", "BODY[2.1.MIME] {27}\r\nContent-Type: text/html\r\n\r\n"},
		{"BODY.PEEK[2.2]", "BODY[2.2] {21}\r\nHello another world\r\n"},
		{"BODY.PEEK[HEADER.FIELDS (DATE FROM)]", "BODY[HEADER.FIELDS (\"DATE\" \"FROM\")] {64}\r\nFrom: user@domain.org\r\nDate: Sat, 24 Mar 2007 23:00:00 +0200\r\n\r\n"},
		{"BODY.PEEK[HEADER.FIELDS (xyz)]", "BODY[HEADER.FIELDS (\"xyz\")] {2}\r\n\r\n"},
		{"BODY.PEEK[3]", "BODY[3] {0}\r\n"},
		{"BODY.PEEK[1.2]", "BODY[1.2] {0}\r\n"},
		{"BODY.PEEK[1.TEXT]", "BODY[1.TEXT] {0}\r\n"},
		{"BINARY.SIZE[]", "BINARY.SIZE[] 602"},
	} {
		got := rc.ok("FETCH 1 (" + tc.item + ")")
		want := "* 1 FETCH (" + tc.want + ")"
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s:\n got %q\nwant %q", tc.item, got, want)
		}
	}
}

const mimeMessage = `From: user@domain.org
Date: Sat, 24 Mar 2007 23:00:00 +0200
Mime-Version: 1.0
Content-Type: multipart/mixed; boundary="foo
 bar"

Root MIME prologue

--foo bar
Content-Type: text/x-myown; charset=us-ascii

hello

--foo bar
Content-Type: message/rfc822

From: sub@domain.org
Date: Sun, 12 Aug 2012 12:34:56 +0300
Subject: submsg
Content-Type: multipart/alternative; boundary="sub1"

Sub MIME prologue
--sub1
Content-Type: text/html

<p>Hello world</p>

--sub1
Content-Type: text/plain

Hello another world

--sub1--
Sub MIME epilogue

--foo bar--
Root MIME epilogue
`

func TestSearchImaptest(t *testing.T) {
	rc := mimeEnv(t, `From: user-from@domain.org
To: user-to@domain.org
Cc: user-cc@domain.org
Bcc: user-bcc@domain.org

body
`, `From: RealFrom <user-from@domain.org>
To: RealTo <user-to@domain.org>
Cc: RealCc <user-cc@domain.org>
Bcc: RealBcc <user-bcc@domain.org>

body2
`, `From: <user-from (comment)@ (comment) domain.org>
To: <user-to@domain.org>
Cc: <user-cc@domain.org>
Bcc: <user-bcc@domain.org>

body3
`, `From: user-from@domain.org (RealFrom)
To: user-to@domain.org (RealTo)
Cc: user-cc@domain.org (RealCc)
Bcc: user-bcc@domain.org (RealBcc)

body4
`, `From: user-from1@domain.org, user-from2@domain.org
Cc: user-cc@domain.org

body5
`, `From: RealFrom <user-from@domain.org>
To: groupname: groupuser1@domain.org, groupuser2@domain.org;,
  groupname2: groupuser3@domain.org;

body6
`, `From: RealFrom <user-from@domain.org>
To: groupname:;

body7
`, `Subject: hello beautiful world
X-Extra: hello beautiful header
X-Extra: another one
Date: Sat, 24 Mar 2007 23:00:00 +0200

asdfghjkl zxcvbnm
`, `Subject: qwertyuiop
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

caf=E9 au lait
--b
Content-Type: application/octet-stream

notsearched
--b--
`)
	for _, tc := range []struct{ crit, want string }{
		{"FROM user-from@domain.org", "1 2 3 4 6 7"},
		{"TO user-to@domain.org", "1 2 3 4"},
		{"CC user-cc@domain.org", "1 2 3 4 5"},
		{"BCC user-bcc@domain.org", "1 2 3 4"},
		{"FROM realfrom", "2 4 6 7"},
		{"TO realto", "2 4"},
		{"CC realcc", "2 4"},
		{"BCC realbcc", "2 4"},
		{`HEADER FROM ""`, "1 2 3 4 5 6 7"},
		{`HEADER TO ""`, "1 2 3 4 6 7"},
		{"FROM ser-fro", "1 2 3 4 5 6 7"},
		{"FROM ealfro", "2 4 6 7"},
		{"BCC ealbc", "2 4"},
		{"FROM user-from1", "5"},
		{"FROM user-from2", "5"},
		{"TO groupname", "6 7"},
		{"TO groupname2", "6"},
		{"TO groupuser3", "6"},
		{"TO groupuser4", ""},
		{`SUBJECT "hello beautiful world"`, "8"},
		{`SUBJECT "eautiful worl"`, "8"},
		{`HEADER SUBJECT ""`, "8 9"},
		{`NOT HEADER X-EXTRA ""`, "1 2 3 4 5 6 7 9"},
		{`HEADER X-EXTRA "another"`, "8"},
		{`HEADER X-EXTRA "eautiful head"`, "8"},
		{"TEXT qwertyuiop", "9"},
		{"BODY qwertyuiop", ""},
		{"BODY xcvbn", "8"},
		{"BODY body3", "3"},
		{`BODY "CAFÉ AU"`, "9"}, // decoded from quoted-printable and ISO-8859-1
		{"BODY notsearched", ""},
		{"SENTON 24-Mar-2007", "8"},
	} {
		want := "* SEARCH"
		if tc.want != "" {
			want += " " + tc.want
		}
		expectResponses(t, rc, "SEARCH "+tc.crit, want)
	}
	expectResponses(t, rc, "SEARCH CHARSET UTF-8 BODY {5+}\r\ncafé", "* SEARCH 9")
}
