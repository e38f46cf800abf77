package dnssetup

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/internal/mtasts"
	"github.com/immp-mail/immp/msgauth"
)

// Kind names a record's role; check output and tests refer to it.
type Kind string

const (
	KindMX           Kind = "MX"
	KindHost         Kind = "host address"
	KindSPF          Kind = "SPF"
	KindDKIM         Kind = "DKIM"
	KindDMARC        Kind = "DMARC"
	KindMTASTS       Kind = "MTA-STS"
	KindMTASTSHost   Kind = "MTA-STS policy host"
	KindTLSRPT       Kind = "TLS-RPT"
	KindSRV          Kind = "SRV"
	KindAutoconfig   Kind = "autoconfig"
	KindAutodiscover Kind = "autodiscover"
	KindFCrDNS       Kind = "reverse DNS"
)

// Record is one line a self-hoster publishes.
type Record struct {
	Kind  Kind
	Name  string // owner name, no trailing dot
	Type  string // MX, TXT, SRV, CNAME, A, AAAA
	Value string // presentation form, TXT text unquoted
	Why   string // one line
	// Recommended records are not required for mail to flow: when
	// absent, check warns without failing.
	Recommended bool
	// Placeholder: the value is to be filled in by the reader (no
	// address known); printed as a comment.
	Placeholder bool
	// Service is the SRV service label ("submission", "imap", "imaps").
	Service string
	Port    int // SRV port; 0 with target "." is "not offered" (RFC 6186 3.4)
}

// Setup is what the records are derived from.
type Setup struct {
	Domain   string
	Hostname string
	// Key is the domain's DKIM key under the configured selector; nil
	// when none was made yet.
	Key      *msgauth.Key
	Selector string
	// Ports of the client services from the listeners; 0: off.
	SubmissionPort, IMAPPort, IMAPSPort int
	// Addrs are the server's public addresses when the listeners name
	// them; empty: unknown (the A/AAAA lines are placeholders).
	Addrs []netip.Addr
	// MTASTS is the policy the server serves (http.mta_sts_mode); nil:
	// none, and no MTA-STS records are asked for.
	MTASTS *mtasts.Policy
}

// FromConfig derives a Setup for domain from cfg and the key store.
func FromConfig(cfg config.Config, domain string) (Setup, error) {
	d, err := msgauth.NormalizeDomain(domain)
	if err != nil {
		return Setup{}, err
	}
	s := Setup{Domain: d, Hostname: strings.ToLower(strings.TrimSuffix(cfg.Hostname, ".")), Selector: cfg.DKIM.Selector}
	k, err := msgauth.LoadKey(cfg.DataDir, d, cfg.DKIM.Selector)
	if err == nil {
		s.Key = k
	}
	if cfg.HTTP.MTASTSMode != "" && cfg.HTTP.Listen+cfg.HTTP.TLSListen != "" {
		p := mtasts.FromConfig(cfg)
		s.MTASTS = &p
	}
	s.SubmissionPort = port(cfg.Submission.Listen)
	s.IMAPPort = port(cfg.IMAP.Listen)
	s.IMAPSPort = port(cfg.IMAP.TLSListen)
	seen := map[netip.Addr]bool{}
	for _, l := range cfg.Listeners() {
		host, _, err := net.SplitHostPort(l.Addr)
		if err != nil {
			continue
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.IsGlobalUnicast() || a.IsPrivate() || seen[a] {
			continue
		}
		seen[a] = true
		s.Addrs = append(s.Addrs, a)
	}
	return s, nil
}

func port(addr string) int {
	if addr == "" {
		return 0
	}
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// SPFValue is the SPF record suggested (RFC 7208): the domain's MX hosts
// may send, others soft-fail.
const SPFValue = "v=spf1 mx ~all"

// Records lists what to publish for s, in the order to read them.
func Records(s Setup) []Record {
	d, h := s.Domain, s.Hostname
	rs := []Record{
		{Kind: KindMX, Name: d, Type: "MX", Value: "10 " + h + ".", Why: "mail for " + d + " is delivered to " + h + " (RFC 5321 5.1)"},
	}
	if len(s.Addrs) == 0 {
		rs = append(rs, Record{Kind: KindHost, Name: h, Type: "A", Value: "<this server's public IPv4 address>", Placeholder: true,
			Why: h + " must resolve to this server (and AAAA for IPv6)"})
	}
	for _, a := range s.Addrs {
		t := "A"
		if a.Is6() {
			t = "AAAA"
		}
		rs = append(rs, Record{Kind: KindHost, Name: h, Type: t, Value: a.String(), Why: h + " is this server"})
	}
	if len(s.Addrs) == 0 {
		rs = append(rs, Record{Kind: KindFCrDNS, Name: "<reverse name of that address>", Type: "PTR", Value: h + ".", Placeholder: true,
			Why: "set by whoever owns the address (your provider): many receivers refuse mail from an address whose name does not lead back to it"})
	}
	for _, a := range s.Addrs {
		rev, _ := dnsReverse(a)
		rs = append(rs, Record{Kind: KindFCrDNS, Name: rev, Type: "PTR", Value: h + ".",
			Why: "set by whoever owns the address (your provider): forward-confirmed reverse DNS"})
	}
	rs = append(rs, Record{Kind: KindSPF, Name: d, Type: "TXT", Value: SPFValue,
		Why: "the MX hosts may send mail from " + d + "; others soft-fail (RFC 7208)"})
	if s.Key != nil {
		rs = append(rs, Record{Kind: KindDKIM, Name: s.Key.RecordName(), Type: "TXT", Value: s.Key.RecordValue(),
			Why: "the public key that verifies this server's signatures (RFC 6376 3.6)"})
	} else {
		rs = append(rs, Record{Kind: KindDKIM, Name: s.Selector + "._domainkey." + d, Type: "TXT", Placeholder: true,
			Value: "<no key yet: run \"immp dkim keygen " + d + "\" and publish what it prints>",
			Why:   "the public key that verifies this server's signatures (RFC 6376 3.6)"})
	}
	rs = append(rs,
		Record{Kind: KindDMARC, Name: "_dmarc." + d, Type: "TXT", Value: "v=DMARC1; p=quarantine; rua=mailto:postmaster@" + d,
			Why: "mail claiming " + d + " that fails both SPF and DKIM goes to junk; reports to postmaster (RFC 7489)"},
	)
	if p := s.MTASTS; p != nil {
		rs = append(rs,
			Record{Kind: KindMTASTS, Name: "_mta-sts." + d, Type: "TXT", Value: p.Record(), Recommended: true,
				Why: "senders use TLS to reach you (RFC 8461), policy mode " + p.Mode + "; the id is the served policy's, and changes with it"},
			Record{Kind: KindMTASTSHost, Name: "mta-sts." + d, Type: "CNAME", Value: h + ".", Recommended: true,
				Why: "this server serves the policy at https://mta-sts." + d + "/.well-known/mta-sts.txt (RFC 8461 3.3; [http] tls_listen)"})
	}
	rs = append(rs,
		Record{Kind: KindTLSRPT, Name: "_smtp._tls." + d, Type: "TXT", Value: "v=TLSRPTv1; rua=mailto:postmaster@" + d, Recommended: true,
			Why: "senders report TLS failures to postmaster (RFC 8460)"},
	)
	for _, sv := range []struct {
		name string
		port int
		what string
	}{
		{"submission", s.SubmissionPort, "mail clients submit with STARTTLS"},
		{"imap", s.IMAPPort, "mail clients read over IMAP with STARTTLS"},
		{"imaps", s.IMAPSPort, "mail clients read over IMAP with implicit TLS"},
	} {
		r := Record{Kind: KindSRV, Name: "_" + sv.name + "._tcp." + d, Type: "SRV", Service: sv.name, Port: sv.port, Recommended: true}
		if sv.port == 0 {
			r.Value = "0 0 0 ."
			r.Why = "RFC 6186 3.4: " + sv.name + " is not offered"
		} else {
			r.Value = fmt.Sprintf("0 1 %d %s.", sv.port, h)
			r.Why = "RFC 6186: " + sv.what + " at " + h + ":" + strconv.Itoa(sv.port)
		}
		rs = append(rs, r)
	}
	rs = append(rs,
		Record{Kind: KindAutoconfig, Name: "autoconfig." + d, Type: "CNAME", Value: h + ".", Recommended: true,
			Why: "Thunderbird-style autoconfig is fetched from https://autoconfig." + d + "/mail/config-v1.1.xml"},
		Record{Kind: KindAutodiscover, Name: "autodiscover." + d, Type: "CNAME", Value: h + ".", Recommended: true,
			Why: "Outlook and others ask https://autodiscover." + d + "/autodiscover/autodiscover.xml"},
	)
	return rs
}

// ZoneLine is r as a zone-file line (a comment when it is a placeholder).
func (r Record) ZoneLine() string {
	v := r.Value
	if r.Type == "TXT" && !r.Placeholder {
		v = msgauth.QuoteTXT(v)
	}
	line := fmt.Sprintf("%-32s IN %-5s %s", r.Name+".", r.Type, v)
	if r.Placeholder {
		return "; " + line
	}
	return line
}

// Format writes the records with their explanations, as "immp dns
// records" prints them.
func Format(rs []Record) string {
	var b strings.Builder
	for _, r := range rs {
		what := string(r.Kind)
		if r.Recommended {
			what += ", recommended"
		}
		fmt.Fprintf(&b, "; %s: %s\n%s\n", what, r.Why, r.ZoneLine())
	}
	return b.String()
}

// dnsReverse is the in-addr.arpa / ip6.arpa name of a (RFC 1035 3.5,
// RFC 3596 2.5), without the trailing dot.
func dnsReverse(a netip.Addr) (string, error) {
	n, err := reverseaddr(a.String())
	return strings.TrimSuffix(n, "."), err
}

func reverseaddr(addr string) (string, error) {
	ip := net.ParseIP(addr)
	if ip == nil {
		return "", fmt.Errorf("not an address: %q", addr)
	}
	if v4 := ip.To4(); v4 != nil {
		return fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa.", v4[3], v4[2], v4[1], v4[0]), nil
	}
	const hexDigit = "0123456789abcdef"
	var b strings.Builder
	for i := len(ip) - 1; i >= 0; i-- {
		b.WriteByte(hexDigit[ip[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hexDigit[ip[i]>>4])
		b.WriteByte('.')
	}
	b.WriteString("ip6.arpa.")
	return b.String(), nil
}
