package mimeparse

import (
	"fmt"
	"strings"
	"testing"
)

// show writes a list as IMAP address structures do (RFC 9051 7.5.2):
// (name route mailbox host), NIL for empty, group markers included.
func show(list []Address) string {
	n := func(s string) string {
		if s == "" {
			return "NIL"
		}
		return fmt.Sprintf("%q", s)
	}
	var b strings.Builder
	for _, a := range list {
		switch a.Kind {
		case KindGroupStart:
			fmt.Fprintf(&b, "(NIL NIL %s NIL)", n(a.Mailbox))
		case KindGroupEnd:
			b.WriteString("(NIL NIL NIL NIL)")
		default:
			fmt.Fprintf(&b, "(%s %s %s %s)", n(a.Name), n(a.Route), n(a.Mailbox), n(a.Domain))
		}
	}
	return b.String()
}

func TestParseAddressList(t *testing.T) {
	for _, tc := range []struct{ in, want, norm string }{
		// RFC 9051 7.5.2 / imaptest fetch-envelope.
		{"From Real <fromuser@fromdomain.org>", `("From Real" NIL "fromuser" "fromdomain.org")`, `"From Real" <fromuser@fromdomain.org>`},
		{"user@domain", `(NIL NIL "user" "domain")`, "<user@domain>"},
		{"user@domain (Real Name)", `("Real Name" NIL "user" "domain")`, `"Real Name" <user@domain>`},
		{"group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;",
			`(NIL NIL "group" NIL)(NIL NIL "g1" "d1.org")(NIL NIL "g2" "d2.org")(NIL NIL NIL NIL)(NIL NIL "group2" NIL)(NIL NIL "g3" "d3.org")(NIL NIL NIL NIL)`,
			"group: <g1@d1.org>, <g2@d2.org>;, group2: <g3@d3.org>;"},
		{"group:;, group2: (foo) ;", `(NIL NIL "group" NIL)(NIL NIL NIL NIL)(NIL NIL "group2" NIL)(NIL NIL NIL NIL)`, "group:;, group2:;"},
		{"undisclosed-recipients:;", `(NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)`, "undisclosed-recipients:;"},
		{"<@route:user@domain>", `(NIL "@route" "user" "domain")`, "<@route:user@domain>"},
		{"<@a.example,@b.example:user@domain>", `(NIL "@a.example,@b.example" "user" "domain")`, "<@a.example,@b.example:user@domain>"},
		// imaptest search-addresses: comments anywhere in the address.
		{"<user-from (comment)@ (comment) domain.org>", `(NIL NIL "user-from" "domain.org")`, "<user-from@domain.org>"},
		{"RealFrom <user-from@domain.org>", `("RealFrom" NIL "user-from" "domain.org")`, "RealFrom <user-from@domain.org>"},
		{"user-from@domain.org (RealFrom)", `("RealFrom" NIL "user-from" "domain.org")`, "RealFrom <user-from@domain.org>"},
		{"user-from1@domain.org, user-from2@domain.org", `(NIL NIL "user-from1" "domain.org")(NIL NIL "user-from2" "domain.org")`, "<user-from1@domain.org>, <user-from2@domain.org>"},
		// Quoted local parts and display names.
		{`"john doe"@example.org`, `(NIL NIL "john doe" "example.org")`, `<"john doe"@example.org>`},
		{`"Doe, John" <john@example.org>`, `("Doe, John" NIL "john" "example.org")`, `"Doe, John" <john@example.org>`},
		{`"a \"quoted\" name" <q@example.org>`, `("a \"quoted\" name" NIL "q" "example.org")`, `"a \"quoted\" name" <q@example.org>`},
		// Encoded-words stay encoded (ENVELOPE carries them as written).
		{"=?utf-8?q?J=C3=B6rg?= <j@example.org>", `("=?utf-8?q?J=C3=B6rg?=" NIL "j" "example.org")`, "=?utf-8?q?J=C3=B6rg?= <j@example.org>"},
		// Obsolete syntax: a phrase with dots, folding, CFWS around dots.
		{"John Q. Public <jqp@example.org>", `("John Q. Public" NIL "jqp" "example.org")`, `"John Q. Public" <jqp@example.org>`},
		{"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", `("Pete" NIL "pete" "silly.test")`, "Pete <pete@silly.test>"},
		{"a.b @ c . d", `(NIL NIL "a.b" "c.d")`, "<a.b@c.d>"},
		{".a..b.@c", `(NIL NIL ".a..b." "c")`, "<.a..b.@c>"},
		{"Joe\r\n Q. Public\r\n <joe@example.org>", `("Joe Q. Public" NIL "joe" "example.org")`, `"Joe Q. Public" <joe@example.org>`},
		{"<user@[192.0.2.1]>", `(NIL NIL "user" "[192.0.2.1]")`, "<user@[192.0.2.1]>"},
		// Broken ones are repaired, never group-like (a domain is set).
		{"user", `(NIL NIL "user" "MISSING_DOMAIN")`, "<user@MISSING_DOMAIN>"},
		{"Real Name", `("Real Name" NIL "MISSING_MAILBOX" "MISSING_DOMAIN")`, `"Real Name" <MISSING_MAILBOX@MISSING_DOMAIN>`},
		{"Name <broken", `("Name" NIL "broken" "SYNTAX_ERROR")`, "Name <broken@SYNTAX_ERROR>"},
		{"<>", `(NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN")`, "<MISSING_MAILBOX@MISSING_DOMAIN>"},
		{"a@b,", `(NIL NIL "a" "b")`, "<a@b>"},
		{"", ``, ""},
		{"  (only a comment)  ", ``, ""},
		{"g: a@b", `(NIL NIL "g" NIL)(NIL NIL "a" "b")(NIL NIL NIL NIL)`, "g: <a@b>;"},
	} {
		list := ParseAddressList(tc.in, 0)
		if got := show(list); got != tc.want {
			t.Errorf("ParseAddressList(%q)\n got %s\nwant %s", tc.in, got, tc.want)
		}
		if got := FormatAddressList(list); got != tc.norm {
			t.Errorf("FormatAddressList(%q) = %q, want %q", tc.in, got, tc.norm)
		}
	}
}

// TestAddressLimit: a list is cut at the limit and group markers stay
// paired, so a huge header cannot make a huge ENVELOPE.
func TestAddressLimit(t *testing.T) {
	long := strings.Repeat("a@b, ", 50000)
	if got := len(ParseAddressList(long, 0)); got != DefaultMaxAddresses-1 {
		t.Errorf("default limit: %d entries, want %d", got, DefaultMaxAddresses-1)
	}
	list := ParseAddressList("g: "+strings.Repeat("a@b, ", 20)+"c@d;", 10)
	if len(list) > 10 {
		t.Fatalf("%d entries over a limit of 10", len(list))
	}
	if list[0].Kind != KindGroupStart || list[len(list)-1].Kind != KindGroupEnd {
		t.Errorf("group markers not paired: %s", show(list))
	}
}
