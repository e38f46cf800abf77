package immp

import (
	"strings"
	"testing"

	"github.com/immp-mail/immp/delivery/address"
)

// TestDraftExamples runs every example of draft 6.1.1-6.5.2 over TCP, with
// the replies this profile fixes (profile 6 LIST flags; 6.4.6's example is
// DELETESPAMENTRY as printed, plus the DELETESPAMGUARDAGENT it means).
func TestDraftExamples(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.Mapper = address.Mapper{Domains: []string{"immp.pro"}} })
	for _, a := range []string{"sabarish@immp.pro", "mymail@immp.pro"} {
		if _, err := e.store.AddAccount(e.ctx, a, "RAMAN"); err != nil {
			t.Fatal(err)
		}
	}
	my := e.account("mymail@immp.pro")
	for _, f := range []string{"INBOX/work", "INBOX/work/office"} {
		if err := e.store.CreateFolder(e.ctx, my, f); err != nil {
			t.Fatal(err)
		}
	}
	c := e.dial()

	// 6.1.1
	c.send("A001 CAPABILITY")
	c.expect("* CAPABILITY IMMP LITERAL+ SASL-IR STARTTLS AUTH=PLAIN", "A001 OK CAPABILITY completed")
	// 6.1.2
	c.send("A002 NOOP")
	c.expect("A002 OK NOOP completed")
	// 6.2.1: KERBEROS_V4 is not offered: NO, and the session goes on.
	c.send("A004 AUTHENTICATE KERBEROS_V4")
	c.expect("A004 NO Unsupported authentication mechanism")
	// 6.2.2: a bare local part, the server serving one domain.
	c.send("A005 LOGIN SABARISH RAMAN")
	c.expect("A005 OK LOGIN completed")
	// 6.3.1
	c.send("A006 CREATE work/")
	c.expect("A006 OK CREATE completed")
	c.send("A007 CREATE office/work")
	c.expect("A007 OK CREATE completed")
	// 6.3.2 (the child first: a subinbox with children is INUSE).
	c.ok("x1 DELETE office/work")
	c.send("A008 DELETE work")
	c.expect("A008 OK DELETE completed")
	// 6.3.3
	c.ok("x2 CREATE worksabari")
	c.send("A009 RENAME worksabari offsabari")
	c.expect("A009 OK RENAME completed")
	// 6.3.4
	c.ok("x3 CREATE worksabari")
	c.send("A010 REPLACE worksabari offsabari")
	c.expect("A010 OK REPLACE completed")
	// 6.3.5, with the draft's comma and space before ")".
	c.ok("x4 CREATE oldpath")
	c.ok("x5 CREATE newpath")
	c.ok("x6 CREATE SABARISUBINBOX/oldpath")
	c.send("A011 MOVE SABARISUBINBOX (oldpath, newpath )")
	c.expect("A011 OK MOVE completed")
	c.send(`x7 LIST "newpath" "%"`)
	c.expect(`* LIST (\HasNoChildren) "/" SABARISUBINBOX/newpath`, "x7 OK LIST completed")
	// 6.3.6
	c.ok("x8 CREATE INBOX/Mail")
	c.ok("x9 CREATE INBOX/Mail/foo")
	c.ok("x10 CREATE INBOX/Mail/meetings")
	c.send(`A012 LIST "inbox/Mail/" "%"`)
	c.expect(`* LIST (\HasNoChildren) "/" inbox/Mail/foo`,
		`* LIST (\HasNoChildren) "/" inbox/Mail/meetings`,
		"A012 OK LIST completed")
	// 6.4.5, 6.4.2, 6.4.1
	c.send("A017 STORESPAMGUARDAGENT SabariGuard ")
	c.expect("A017 OK STORESPAMGUARDAGENT completed")
	c.send(`A014 STORESPAMENTRY SabariGuard "mail@immp.pro" `)
	c.expect("A014 OK STORESPAMENTRY completed")
	c.ok("x11 STORESPAMGUARDAGENT Sabarish")
	c.ok(`x12 STORESPAMENTRY Sabarish "*Rubble"`)
	c.ok(`x13 STORESPAMENTRY Sabarish "fred@bedrock.example"`)
	c.send(`A013 SEARCHSPAMENTRY Sabarish Email "*Rubble"`)
	c.expect(`* SEARCHSPAMENTRY "*Rubble"`, "A013 OK SEARCHSPAMENTRY completed")
	// 6.4.4
	c.ok(`x14 STORESPAMGUARDAGENT "*RubbleAgent"`)
	c.send(`A016 SEARCHSPAMGUARDAGENT "*RubbleAgent"`)
	c.expect(`* SEARCHSPAMGUARDAGENT "*RubbleAgent"`, "A016 OK SEARCHSPAMGUARDAGENT completed")
	// 6.4.3
	c.send(`A015 DELETESPAMENTRY SabariGuard "mail@immp.pro" `)
	c.expect("A015 OK DELETESPAMENTRY completed")
	// 6.4.6 as printed, then as meant.
	c.ok(`x15 STORESPAMENTRY SabariGuard "mail@immp.pro"`)
	c.send(`A018 DELETESPAMENTRY SabariGuard "mail@immp.pro" `)
	c.expect("A018 OK DELETESPAMENTRY completed")
	c.send(`A019 DELETESPAMGUARDAGENT SabariGuard`)
	c.expect("A019 OK DELETESPAMGUARDAGENT completed")
	// 6.5.1 and 6.5.2, untagged, from loopback (trusted).
	c.send(`VERIFYINSPAMGUARDAGENT "spammail@immp.pro"  "mymail@immp.pro" `)
	c.expect("OK VERIFYINSPAMGUARDAGENT completed")
	c.send(`VERIFYSUBINBOX "office/work"  "mymail@immp.pro" `)
	c.expect("OK VERIFYSUBINBOX completed")
	// 6.1.3
	c.send("A003 LOGOUT")
	c.expect("* BYE IMMP Server logging out", "A003 OK LOGOUT completed")
	if !c.closed() {
		t.Fatal("connection still open after LOGOUT")
	}
}

// TestDraftAuthenticateExchange follows 6.2.1's exchange shape with PLAIN:
// an empty challenge "+ ", the client's base64 line, the completion.
func TestDraftAuthenticateExchange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	c.send("A004 AUTHENTICATE PLAIN")
	c.expect("+ ")
	c.send("AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==") // \0alice@example.org\0secret
	c.expect("A004 OK AUTHENTICATE completed")
	out := c.ok("A005 LIST \"\" \"*\"")
	if len(out) != 1 {
		t.Fatalf("fresh account lists %q", out)
	}
	if !strings.HasPrefix(out[0], "A005 OK") {
		t.Fatal(out)
	}
}
