package dnssetup

import (
	"context"
	"maps"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/foxcpp/go-mockdns"

	"github.com/immp-mail/immp/internal/mtasts"
	"github.com/immp-mail/immp/internal/resolver"
	"github.com/immp-mail/immp/msgauth"
)

type quiet struct{}

func (quiet) Printf(string, ...any) {}

func testSetup(t *testing.T) Setup {
	t.Helper()
	priv, err := msgauth.GenerateKey(msgauth.AlgoEd25519)
	if err != nil {
		t.Fatal(err)
	}
	sts := mtasts.Policy{Mode: mtasts.ModeTesting, MX: []string{"mail.example.org"}, MaxAge: mtasts.DefaultMaxAge}
	return Setup{Domain: "example.org", Hostname: "mail.example.org", Selector: "immp",
		Key:            &msgauth.Key{Domain: "example.org", Selector: "immp", Signer: priv},
		SubmissionPort: 587, IMAPPort: 143, IMAPSPort: 0, MTASTS: &sts}
}

// goodZone is what Records asks for, published as asked.
func goodZone(s Setup) map[string]mockdns.Zone {
	return map[string]mockdns.Zone{
		"example.org.":                  {MX: []net.MX{{Host: "mail.example.org.", Pref: 10}}, TXT: []string{"v=spf1 mx ~all", "google-site-verification=abc"}},
		"mail.example.org.":             {A: []string{"192.0.2.10"}},
		"10.2.0.192.in-addr.arpa.":      {PTR: []string{"mail.example.org."}},
		s.Key.RecordName() + ".":        {TXT: []string{s.Key.RecordValue()}},
		"_dmarc.example.org.":           {TXT: []string{"v=DMARC1; p=quarantine; rua=mailto:postmaster@example.org"}},
		"_mta-sts.example.org.":         {TXT: []string{s.MTASTS.Record()}},
		"mta-sts.example.org.":          {CNAME: "mail.example.org."},
		"_smtp._tls.example.org.":       {TXT: []string{"v=TLSRPTv1; rua=mailto:postmaster@example.org"}},
		"_submission._tcp.example.org.": {SRV: []net.SRV{{Target: "mail.example.org.", Port: 587, Priority: 0, Weight: 1}}},
		"_imap._tcp.example.org.":       {SRV: []net.SRV{{Target: "mail.example.org.", Port: 143, Priority: 0, Weight: 1}}},
		"_imaps._tcp.example.org.":      {SRV: []net.SRV{{Target: ".", Port: 0}}},
		"autoconfig.example.org.":       {CNAME: "mail.example.org."},
		"autodiscover.example.org.":     {A: []string{"192.0.2.10"}}, // same addresses: fine too
	}
}

func runCheck(t *testing.T, s Setup, zones map[string]mockdns.Zone) []Finding {
	t.Helper()
	srv, err := mockdns.NewServerWithLogger(zones, quiet{}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return Check(ctx, resolver.New(srv.LocalAddr().String(), 2*time.Second), s)
}

// TestCheckCorrectZone: a zone published as "dns records" says passes
// with every record OK, reverse DNS included.
func TestCheckCorrectZone(t *testing.T) {
	t.Parallel()
	s := testSetup(t)
	fs := runCheck(t, s, goodZone(s))
	for _, f := range fs {
		if f.Status != OK {
			t.Errorf("%s %s: %s %s (fix %s)", f.Record.Kind, f.Record.Name, f.Status, f.Detail, f.Fix)
		}
	}
	if Failed(fs) {
		t.Error("correct zone failed")
	}
	kinds := map[Kind]bool{}
	for _, f := range fs {
		kinds[f.Record.Kind] = true
	}
	for _, k := range []Kind{KindMX, KindHost, KindSPF, KindDKIM, KindDMARC, KindMTASTS, KindMTASTSHost, KindTLSRPT, KindSRV, KindAutoconfig, KindAutodiscover, KindFCrDNS} {
		if !kinds[k] {
			t.Errorf("%s not checked", k)
		}
	}
}

// TestCheckNamesEachBreakage breaks one record at a time: check reports
// that record (and only it) as WRONG or MISSING, with a fix, and fails
// unless the record is a recommended one that is merely absent.
func TestCheckNamesEachBreakage(t *testing.T) {
	t.Parallel()
	s := testSetup(t)
	other, _ := msgauth.GenerateKey(msgauth.AlgoEd25519)
	otherKey := &msgauth.Key{Domain: "example.org", Selector: "immp", Signer: other}
	cases := []struct {
		name   string
		change func(z map[string]mockdns.Zone)
		kind   Kind
		rname  string // the record named; "" : any of kind
		status Status
		fails  bool
		detail string // in the finding's detail
		also   Kind   // a finding that follows from the breakage
	}{
		{"MX elsewhere", func(z map[string]mockdns.Zone) {
			z["example.org."] = mockdns.Zone{MX: []net.MX{{Host: "mx.other.test.", Pref: 10}}, TXT: z["example.org."].TXT}
		}, KindMX, "", Wrong, true, "mx.other.test", KindSPF},
		{"null MX", func(z map[string]mockdns.Zone) {
			z["example.org."] = mockdns.Zone{MX: []net.MX{{Host: ".", Pref: 0}}, TXT: z["example.org."].TXT}
		}, KindMX, "", Wrong, true, "null MX", KindSPF},
		{"no MX", func(z map[string]mockdns.Zone) {
			z["example.org."] = mockdns.Zone{TXT: z["example.org."].TXT}
		}, KindMX, "", Missing, true, "no MX", KindSPF},
		{"SPF fails for the host", func(z map[string]mockdns.Zone) {
			z["example.org."] = mockdns.Zone{MX: z["example.org."].MX, TXT: []string{"v=spf1 ip4:198.51.100.1 -all"}}
		}, KindSPF, "", Wrong, true, "fail", ""},
		{"two SPF records", func(z map[string]mockdns.Zone) {
			z["example.org."] = mockdns.Zone{MX: z["example.org."].MX, TXT: []string{"v=spf1 mx ~all", "v=spf1 -all"}}
		}, KindSPF, "", Wrong, true, "2 SPF records", ""},
		{"DKIM other key", func(z map[string]mockdns.Zone) {
			z[s.Key.RecordName()+"."] = mockdns.Zone{TXT: []string{otherKey.RecordValue()}}
		}, KindDKIM, "", Wrong, true, "not this server's key", ""},
		{"DKIM absent", func(z map[string]mockdns.Zone) { delete(z, s.Key.RecordName()+".") }, KindDKIM, "", Missing, true, "no TXT", ""},
		{"DMARC invalid", func(z map[string]mockdns.Zone) {
			z["_dmarc.example.org."] = mockdns.Zone{TXT: []string{"v=DMARC1; p=bogus"}}
		}, KindDMARC, "", Wrong, true, "not a valid DMARC record", ""},
		{"DMARC absent", func(z map[string]mockdns.Zone) { delete(z, "_dmarc.example.org.") }, KindDMARC, "", Missing, true, "no TXT", ""},
		{"MTA-STS bad id", func(z map[string]mockdns.Zone) {
			z["_mta-sts.example.org."] = mockdns.Zone{TXT: []string{"v=STSv1; id=2026-12-03"}}
		}, KindMTASTS, "", Wrong, true, "id must be", ""},
		{"MTA-STS id of another policy", func(z map[string]mockdns.Zone) {
			z["_mta-sts.example.org."] = mockdns.Zone{TXT: []string{"v=STSv1; id=20261203"}}
		}, KindMTASTS, "", Wrong, true, "not the served policy's", ""},
		{"MTA-STS absent", func(z map[string]mockdns.Zone) { delete(z, "_mta-sts.example.org.") }, KindMTASTS, "", Missing, false, "no TXT", ""},
		{"MTA-STS host elsewhere", func(z map[string]mockdns.Zone) {
			z["mta-sts.example.org."] = mockdns.Zone{CNAME: "pages.other.test."}
			z["pages.other.test."] = mockdns.Zone{A: []string{"198.51.100.7"}}
		}, KindMTASTSHost, "", Wrong, true, "pages.other.test", ""},
		{"TLS-RPT without rua", func(z map[string]mockdns.Zone) {
			z["_smtp._tls.example.org."] = mockdns.Zone{TXT: []string{"v=TLSRPTv1;"}}
		}, KindTLSRPT, "", Wrong, true, "rua=", ""},
		{"SRV submission wrong port", func(z map[string]mockdns.Zone) {
			z["_submission._tcp.example.org."] = mockdns.Zone{SRV: []net.SRV{{Target: "mail.example.org.", Port: 25}}}
		}, KindSRV, "_submission._tcp.example.org", Wrong, true, "mail.example.org:25", ""},
		{"SRV imaps offered though off", func(z map[string]mockdns.Zone) {
			z["_imaps._tcp.example.org."] = mockdns.Zone{SRV: []net.SRV{{Target: "mail.example.org.", Port: 993}}}
		}, KindSRV, "_imaps._tcp.example.org", Wrong, true, "993", ""},
		{"autoconfig elsewhere", func(z map[string]mockdns.Zone) {
			z["autoconfig.example.org."] = mockdns.Zone{A: []string{"198.51.100.9"}}
		}, KindAutoconfig, "", Wrong, true, "198.51.100.9", ""},
		{"autodiscover absent", func(z map[string]mockdns.Zone) { delete(z, "autodiscover.example.org.") }, KindAutodiscover, "", Missing, false, "no CNAME", ""},
		{"PTR names another host", func(z map[string]mockdns.Zone) {
			z["10.2.0.192.in-addr.arpa."] = mockdns.Zone{PTR: []string{"host-10.isp.test."}}
		}, KindFCrDNS, "", Wrong, true, "host-10.isp.test", ""},
		{"no PTR", func(z map[string]mockdns.Zone) { delete(z, "10.2.0.192.in-addr.arpa.") }, KindFCrDNS, "", Missing, true, "no PTR", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			z := maps.Clone(goodZone(s))
			tc.change(z)
			fs := runCheck(t, s, z)
			found := false
			for _, f := range fs {
				hit := f.Record.Kind == tc.kind && (tc.rname == "" || f.Record.Name == tc.rname)
				if !hit {
					if f.Status != OK && f.Record.Kind != tc.also {
						t.Errorf("unrelated finding: %s %s %s: %s", f.Status, f.Record.Kind, f.Record.Name, f.Detail)
					}
					continue
				}
				found = true
				if f.Status != tc.status || !strings.Contains(f.Detail, tc.detail) {
					t.Errorf("%s %s: got %s %q, want %s with %q", f.Record.Kind, f.Record.Name, f.Status, f.Detail, tc.status, tc.detail)
				}
				if f.Fix == "" {
					t.Errorf("%s: no fix given", f.Record.Kind)
				}
			}
			if !found {
				t.Errorf("%s not reported", tc.kind)
			}
			if Failed(fs) != tc.fails {
				t.Errorf("Failed = %v, want %v:\n%s", Failed(fs), tc.fails, FormatFindings(fs))
			}
		})
	}
}

// TestRecordsFromConfigListeners: SRV ports follow the listeners, a
// listener on a public address gives the A line.
func TestRecordsFromConfigListeners(t *testing.T) {
	s := testSetup(t)
	s.SubmissionPort, s.IMAPPort, s.IMAPSPort = 3587, 0, 993
	s.Addrs = []netip.Addr{netip.MustParseAddr("192.0.2.10")}
	out := Format(Records(s))
	for _, want := range []string{
		"_submission._tcp.example.org.    IN SRV   0 1 3587 mail.example.org.",
		"_imap._tcp.example.org.          IN SRV   0 0 0 .",
		"_imaps._tcp.example.org.         IN SRV   0 1 993 mail.example.org.",
		"mail.example.org.                IN A     192.0.2.10",
		"10.2.0.192.in-addr.arpa.         IN PTR   mail.example.org.",
		`example.org.                     IN TXT   "v=spf1 mx ~all"`,
		"example.org.                     IN MX    10 mail.example.org.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}
