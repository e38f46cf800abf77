package wire

// draftExamples are the client lines of every example in
// draft-sabarish-immp-00 6.1.1-6.5.2, spaces as printed (double spaces and
// trailing spaces included), and the profile's own examples.
var draftExamples = []string{
	"A001 CAPABILITY",
	"A002 NOOP",
	"A003 LOGOUT",
	"A004 AUTHENTICATE KERBEROS_V4",
	"A005 LOGIN SABARISH RAMAN",
	"A006 CREATE work/",
	"A007 CREATE office/work",
	"A008 DELETE work",
	"A009 RENAME worksabari offsabari",
	"A010 REPLACE worksabari offsabari",
	"A011 MOVE SABARISUBINBOX (oldpath, newpath )",
	`A012 LIST "inbox/Mail/" "%"`,
	`A013 SEARCHSPAMENTRY Sabarish Email "*Rubble"`,
	`A014 STORESPAMENTRY SabariGuard "mail@immp.pro" `,
	`A015 DELETESPAMENTRY SabariGuard "mail@immp.pro" `,
	`A016 SEARCHSPAMGUARDAGENT "*RubbleAgent"`,
	`A017 STORESPAMGUARDAGENT SabariGuard `,
	`A018 DELETESPAMENTRY SabariGuard "mail@immp.pro" `,
	`VERIFYINSPAMGUARDAGENT "spammail@immp.pro"  "mymail@immp.pro" `,
	`VERIFYSUBINBOX "office/work"  "mymail@immp.pro" `,
}

// profileExamples are command forms the profile names.
var profileExamples = []string{
	"a1 LOGIN anonymous x",
	"a2 AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==",
	"a3 AUTHENTICATE PLAIN =",
	"a4 STARTTLS",
	`a5 LIST "" "*"`,
	`a6 LIST "" ""`,
	`a7 LIST "work" "%"`,
	`a8 LIST INBOX/ %`,
	`a9 MOVE office ("work" "")`,
	`a10 MOVE office (INBOX/work, INBOX)`,
	`a11 SEARCHSPAMENTRY agent MAIL "*@spam.example" email "a*"`,
	`a12 SEARCHSPAMGUARDAGENT`,
	`a13 STORESPAMENTRY alice "*@*.spam.example"`,
	`a14 VERIFYINSPAMGUARDAGENT "" "alice@example.org"`,
	`a15 VERIFYSUBINBOX INBOX/work "work/alice@example.org"`,
	"a16 CREATE {5}\r\nb\xc3\xbcro",
	"a17 LOGIN {5+}\r\nalice {6+}\r\nsecret",
	`a18 CREATE "a \"quoted\" \\ name"`,
	"a19 DELETE nil",
}
