package smtp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-sasl"
	"github.com/foxcpp/go-mockdns"

	"github.com/immp-mail/immp/internal/resolver"
	"github.com/immp-mail/immp/msgauth"
)

type quietDNS struct{}

func (quietDNS) Printf(string, ...any) {}

// checksWorld is a DNS server on loopback with SPF, DKIM and DMARC
// records for the verdicts below, and a DKIM key of signed.test.
type checksWorld struct {
	checker *msgauth.Checker
	key     *msgauth.Key
}

func newChecksWorld(t testing.TB) checksWorld {
	t.Helper()
	priv, err := msgauth.GenerateKey(msgauth.AlgoEd25519)
	if err != nil {
		t.Fatal(err)
	}
	key := &msgauth.Key{Domain: "signed.test", Selector: "s1", Signer: priv}
	spfZone := func(rec string) mockdns.Zone { return mockdns.Zone{TXT: []string{rec}} }
	zones := map[string]mockdns.Zone{
		"pass.test.":                  spfZone("v=spf1 ip4:127.0.0.1 -all"),
		"fail.test.":                  spfZone("v=spf1 ip4:192.0.2.1 -all"),
		"softfail.test.":              spfZone("v=spf1 ~all"),
		"neutral.test.":               spfZone("v=spf1 ?all"),
		"none.test.":                  {A: []string{"192.0.2.7"}},
		"temperror.test.":             {Err: errors.New("servfail")},
		"permerror.test.":             spfZone("v=spf1 frobnicate:x -all"),
		"mx.helo.test.":               spfZone("v=spf1 ip4:127.0.0.0/8 -all"),
		"signed.test.":                spfZone("v=spf1 -all"),
		key.RecordName() + ".":        {TXT: []string{key.RecordValue()}},
		"_dmarc.signed.test.":         spfZone("v=DMARC1; p=reject"),
		"reject.test.":                spfZone("v=spf1 -all"),
		"_dmarc.reject.test.":         spfZone("v=DMARC1; p=reject"),
		"quarantine.test.":            spfZone("v=spf1 -all"),
		"_dmarc.quarantine.test.":     spfZone("v=DMARC1; p=quarantine; pct=100"),
		"_dmarc.pass.test.":           spfZone("v=DMARC1; p=reject; aspf=s"),
		"sub.relaxed.test.":           spfZone("v=spf1 ip4:127.0.0.1 -all"),
		"_dmarc.relaxed.test.":        spfZone("v=DMARC1; p=reject"),
		"_dmarc.strict.test.":         spfZone("v=DMARC1; p=reject; aspf=s"),
		"sub.strict.test.":            spfZone("v=spf1 ip4:127.0.0.1 -all"),
		"_dmarc.halfquarantine.test.": spfZone("v=DMARC1; p=quarantine; pct=50"),
		"manylookups.test.": spfZone("v=spf1 include:l1.test include:l2.test include:l3.test include:l4.test " +
			"include:l5.test include:l6.test include:l7.test include:l8.test include:l9.test include:l10.test include:l11.test -all"),
		"halfquarantine.test.": spfZone("v=spf1 -all"),
	}
	for i := 1; i <= 11; i++ {
		zones[fmt.Sprintf("l%d.test.", i)] = spfZone("v=spf1 ip4:192.0.2.99 -all")
	}
	srv, err := mockdns.NewServerWithLogger(zones, quietDNS{}, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c, err := msgauth.NewChecker(msgauth.CheckerOptions{
		Resolver:   resolver.New(srv.LocalAddr().String(), 2*time.Second),
		AuthservID: "mx.example.org",
		Timeout:    5 * time.Second,
		Sample:     func() int { return 99 }, // pct=50: not sampled
	})
	if err != nil {
		t.Fatal(err)
	}
	return checksWorld{checker: c, key: key}
}

func msgFrom(from, extra string) string {
	return "From: <" + from + ">\r\nTo: alice@example.org\r\nSubject: check\r\n" +
		"Date: Thu, 03 Dec 2026 10:00:00 +0000\r\nMessage-ID: <x@" + from[strings.IndexByte(from, '@')+1:] + ">\r\n" +
		extra + "\r\nbody line\r\n"
}

// TestInboundVerdicts: each SPF, DKIM and DMARC result over a real SMTP
// socket, against a DNS server on loopback: the stored message starts
// with exactly one Authentication-Results field saying so, DMARC
// p=reject failures are refused with 550 5.7.1 at end of DATA, and
// p=quarantine failures land in Junk.
func TestInboundVerdicts(t *testing.T) {
	t.Parallel()
	w := newChecksWorld(t)
	e := newEnv(t, setup{opts: Options{Checks: w.checker}})
	sign := func(msg string) string {
		sig, err := msgauth.Sign(w.key, []string{"From", "From", "To", "Subject", "Date", "Message-ID"}, []byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		return sig + msg
	}
	signedMsg := msgFrom("news@signed.test", "")
	signN := func(n int, msg string) string {
		for range n {
			msg = sign(msg)
		}
		return msg
	}
	cases := []struct {
		name, helo, from, body string
		sigs                   int    // dkim= results expected; 0: not counted
		code                   string // of DATA; "" is 250
		folder                 string // "" is INBOX
		want                   []string
	}{
		{name: "spf pass", from: "a@pass.test", body: msgFrom("a@pass.test", ""),
			want: []string{"spf=pass smtp.mailfrom=a@pass.test", "dkim=none", "dmarc=pass header.from=pass.test"}},
		{name: "spf fail", from: "a@fail.test", body: msgFrom("a@fail.test", ""),
			want: []string{"spf=fail smtp.mailfrom=a@fail.test", "dmarc=none"}},
		{name: "spf softfail", from: "a@softfail.test", body: msgFrom("a@softfail.test", ""),
			want: []string{"spf=softfail smtp.mailfrom=a@softfail.test"}},
		{name: "spf neutral", from: "a@neutral.test", body: msgFrom("a@neutral.test", ""),
			want: []string{"spf=neutral smtp.mailfrom=a@neutral.test"}},
		{name: "spf none", from: "a@none.test", body: msgFrom("a@none.test", ""),
			want: []string{"spf=none smtp.mailfrom=a@none.test"}},
		{name: "spf temperror", from: "a@temperror.test", body: msgFrom("a@temperror.test", ""),
			want: []string{"spf=temperror reason=\"lookup temperror.test: server misbehaving\" smtp.mailfrom=a@temperror.test"}},
		{name: "spf permerror", from: "a@permerror.test", body: msgFrom("a@permerror.test", ""),
			want: []string{"spf=permerror", "smtp.mailfrom=a@permerror.test"}},
		{name: "spf lookup limit", from: "a@manylookups.test", body: msgFrom("a@manylookups.test", ""),
			want: []string{"spf=permerror reason=\"lookup limit reached\""}},
		{name: "dkim signature cap", from: "bounce@fail.test", body: signN(7, msgFrom("news@signed.test", "")),
			want: []string{"dmarc=pass"}, sigs: msgauth.DefaultMaxSignatures},
		{name: "spf helo", helo: "mx.helo.test", from: "", body: msgFrom("a@none.test", ""),
			want: []string{"spf=pass smtp.mailfrom=postmaster@mx.helo.test", "spf=pass smtp.helo=mx.helo.test"}},
		{name: "dkim pass dmarc pass", from: "bounce@fail.test", body: sign(signedMsg),
			want: []string{"spf=fail", "dkim=pass header.d=signed.test header.s=s1 header.b=", "dmarc=pass header.from=signed.test"}},
		{name: "dkim fail dmarc reject", from: "bounce@fail.test", body: strings.Replace(sign(signedMsg), "body line", "body lime", 1),
			code: "550 5.7.1"},
		{name: "dkim fail", from: "a@none.test", body: strings.Replace(sign(msgFrom("a@none.test", "")), "body line", "body lime", 1),
			want: []string{"dkim=fail reason=", "header.d=signed.test header.s=s1", "dmarc=none header.from=none.test"}},
		{name: "dmarc reject", from: "a@reject.test", body: msgFrom("a@reject.test", ""), code: "550 5.7.1"},
		{name: "dmarc quarantine", from: "a@quarantine.test", body: msgFrom("a@quarantine.test", ""), folder: "Junk",
			want: []string{"spf=fail", "dmarc=fail reason=\"p=quarantine\" header.from=quarantine.test"}},
		{name: "dmarc quarantine not sampled", from: "a@halfquarantine.test", body: msgFrom("a@halfquarantine.test", ""),
			want: []string{"dmarc=fail reason=\"p=quarantine (pct sample: none)\""}},
		{name: "dmarc relaxed alignment", from: "a@sub.relaxed.test", body: msgFrom("x@relaxed.test", ""),
			want: []string{"spf=pass", "dmarc=pass header.from=relaxed.test"}},
		{name: "dmarc strict alignment", from: "a@sub.strict.test", body: msgFrom("x@strict.test", ""), code: "550 5.7.1"},
		{name: "large message spooled to a file", from: "bounce@fail.test",
			body: sign(msgFrom("news@signed.test", "") + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 6000)),
			want: []string{"dkim=pass header.d=signed.test", "dmarc=pass"}},
		{name: "forged results removed", from: "a@pass.test",
			body: "Authentication-Results: MX.example.org; dkim=pass header.d=bank.test\r\n" +
				"Authentication-Results: other.test; spf=pass\r\n" + msgFrom("a@pass.test", ""),
			want: []string{"spf=pass", "Authentication-Results: other.test; spf=pass"}},
	}
	for _, tc := range cases {
		c := e.dial()
		if tc.helo != "" {
			if err := c.Hello(tc.helo); err != nil {
				t.Fatal(err)
			}
		}
		before := len(e.msgs(e.alice, "INBOX")) + len(e.msgs(e.alice, "Junk"))
		_, err := send(t, c, tc.from, nil, []string{"alice@example.org"}, tc.body)
		c.Close()
		if got := code(err); got != tc.code {
			t.Errorf("%s: DATA got %q, want %q", tc.name, got, tc.code)
			continue
		}
		inbox, junk := e.msgs(e.alice, "INBOX"), e.msgs(e.alice, "Junk")
		if tc.code != "" {
			if len(inbox)+len(junk) != before {
				t.Errorf("%s: refused message was stored", tc.name)
			}
			continue
		}
		var got string
		switch tc.folder {
		case "Junk":
			got = junk[len(junk)-1]
		default:
			got = inbox[len(inbox)-1]
		}
		if len(inbox)+len(junk) != before+1 {
			t.Errorf("%s: %d messages stored, want 1", tc.name, len(inbox)+len(junk)-before)
		}
		if !strings.HasPrefix(got, "Authentication-Results: mx.example.org;") {
			t.Errorf("%s: stored message does not start with our Authentication-Results:\n%s", tc.name, got)
			continue
		}
		if n := len(regexp.MustCompile(`(?im)^Authentication-Results: mx\.example\.org`).FindAllString(got, -1)); n != 1 {
			t.Errorf("%s: %d Authentication-Results fields with our authserv-id, want 1:\n%s", tc.name, n, got)
		}
		if !strings.HasSuffix(got, strings.SplitN(tc.body, "\r\n\r\n", 2)[1]) {
			t.Errorf("%s: body not stored intact", tc.name)
		}
		ar := got[:strings.Index(got, "\r\nReturn-Path:")]
		t.Logf("%s:\n%s", tc.name, ar)
		unfolded := strings.NewReplacer("\r\n\t", " ").Replace(ar)
		for _, s := range tc.want {
			if !strings.Contains(unfolded, s) && !strings.Contains(got, s) {
				t.Errorf("%s: %q missing from\n%s", tc.name, s, ar)
			}
		}
		if tc.sigs != 0 && strings.Count(ar, "dkim=pass") != tc.sigs {
			t.Errorf("%s: %d DKIM results, want %d", tc.name, strings.Count(ar, "dkim=pass"), tc.sigs)
		}
		if id, _, err := authres.Parse(strings.TrimPrefix(unfolded, "Authentication-Results: ")); err != nil || id != "mx.example.org" {
			t.Errorf("%s: field does not parse as RFC 8601: %v (%q)", tc.name, err, id)
		}
	}
	if n := e.metric("immp_deliveries_total", map[string]string{"folder": "junk"}); n < 1 {
		t.Logf("junk deliveries metric: %v", n)
	}
}

// TestChecksSkipped: trusted networks and a Receiver-SMTP without checks
// store the message without any Authentication-Results field, and a
// DMARC p=reject sender is not refused there.
func TestChecksSkipped(t *testing.T) {
	t.Parallel()
	w := newChecksWorld(t)
	e := newEnv(t, setup{opts: Options{Checks: w.checker, TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
	c := e.dial()
	if _, err := send(t, c, "a@reject.test", nil, []string{"alice@example.org"}, msgFrom("a@reject.test", "")); err != nil {
		t.Fatalf("trusted client refused: %v", err)
	}
	got := e.msgs(e.alice, "INBOX")
	if len(got) != 1 || strings.Contains(got[0], "Authentication-Results") {
		t.Fatalf("trusted network's message: %q", got)
	}
}

// TestSubmissionNotChecked: mail from a logged-in user is not checked,
// even on a server whose checks are on and whose sender domain says
// p=reject.
func TestSubmissionNotChecked(t *testing.T) {
	t.Parallel()
	w := newChecksWorld(t)
	e := subEnv(t, Options{Checks: w.checker})
	c := e.dial()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.org", "pw-alice")); err != nil {
		t.Fatal(err)
	}
	if _, err := send(t, c, "alice@example.org", nil, []string{"bob@example.org"}, msgFrom("alice@example.org", "")); err != nil {
		t.Fatal(err)
	}
	got := e.msgs(e.bob, "INBOX")
	if len(got) != 1 || strings.Contains(got[0], "Authentication-Results") {
		t.Fatalf("submitted message: %q", got)
	}
}

// BenchmarkDeliverChecked is BenchmarkDeliverParallel's load with the
// checks on: SPF, DKIM (one Ed25519 signature) and DMARC against a DNS
// server on loopback.
func BenchmarkDeliverChecked(b *testing.B) {
	w := newChecksWorld(b)
	e := newEnv(b, setup{opts: Options{Checks: w.checker}})
	msg := msgFrom("news@signed.test", "") + strings.Repeat(strings.Repeat("x", 78)+"\r\n", 4096/80)
	sig, err := msgauth.Sign(w.key, []string{"From", "From", "To", "Subject", "Date", "Message-ID"}, []byte(msg))
	if err != nil {
		b.Fatal(err)
	}
	benchSend(b, e.addr, "a@pass.test", sig+msg)
}

// TestSilentDNSBounded: a DNS server that never answers costs a message
// at most the check timeout; it is stored with temperror results.
func TestSilentDNSBounded(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c, err := msgauth.NewChecker(msgauth.CheckerOptions{
		Resolver:   resolver.New(pc.LocalAddr().String(), 200*time.Millisecond),
		AuthservID: "mx.example.org",
		Timeout:    time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, setup{opts: Options{Checks: c}})
	cl := e.dial()
	start := time.Now()
	if _, err := send(t, cl, "a@pass.test", nil, []string{"alice@example.org"}, msgFrom("a@pass.test", "")); err != nil {
		t.Fatal(err)
	}
	t.Logf("silent DNS: message took %v", time.Since(start))
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a silent DNS server held the message %v (timeout 1s)", d)
	}
	got := e.msgs(e.alice, "INBOX")
	if len(got) != 1 || !strings.Contains(got[0], "spf=temperror") || !strings.Contains(got[0], "dmarc=temperror") {
		t.Errorf("stored: %q", got)
	}
}
