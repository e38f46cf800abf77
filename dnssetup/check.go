package dnssetup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/dmarc"
)

// Status is the verdict on one record.
type Status string

const (
	OK      Status = "OK"
	Missing Status = "MISSING"
	Wrong   Status = "WRONG"
	Warn    Status = "WARN" // present and usable, with a remark
)

// Finding is the check of one record: what was found, and the fix.
type Finding struct {
	Record Record
	Status Status
	Detail string // what was found
	Fix    string // what to do; "" when OK
}

// Failed reports whether anything is wrong: a record present but
// incorrect, or a required one missing. Missing recommended records only
// warn.
func Failed(fs []Finding) bool {
	for _, f := range fs {
		if f.Status == Wrong || f.Status == Missing && !f.Record.Recommended {
			return true
		}
	}
	return false
}

// FormatFindings writes one line per record and, under each problem, its
// fix, as "immp dns check" prints them.
func FormatFindings(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		st := string(f.Status)
		if f.Status == Missing && f.Record.Recommended {
			st = "MISSING (recommended)"
		}
		fmt.Fprintf(&b, "%-8s %s %s: %s\n", st, f.Record.Kind, f.Record.Name, f.Detail)
		if f.Fix != "" {
			for _, l := range strings.Split(f.Fix, "\n") {
				fmt.Fprintf(&b, "         fix: %s\n", l)
			}
		}
	}
	return b.String()
}

// checker holds what the checks share: the resolver and the server's
// addresses as DNS gives them.
type checker struct {
	res   *net.Resolver
	s     Setup
	addrs []netip.Addr // of the hostname, from DNS
}

// Check queries every record of Records(s) through res and compares it
// with what this server expects, then the hostname's forward-confirmed
// reverse DNS.
func Check(ctx context.Context, res *net.Resolver, s Setup) []Finding {
	c := &checker{res: res, s: s}
	var out []Finding
	for _, r := range Records(s) {
		if r.Kind == KindHost && len(out) > 0 && out[len(out)-1].Record.Kind == KindHost {
			continue // one finding for the host's addresses
		}
		if r.Kind == KindFCrDNS {
			continue // after the rest, from the addresses found
		}
		out = append(out, c.check(ctx, r))
	}
	out = append(out, c.fcrdns(ctx)...)
	return out
}

func (c *checker) check(ctx context.Context, r Record) Finding {
	switch r.Kind {
	case KindMX:
		return c.mx(ctx, r)
	case KindHost:
		return c.host(ctx, r)
	case KindSPF:
		return c.spf(ctx, r)
	case KindDKIM:
		return c.dkim(ctx, r)
	case KindDMARC:
		return c.txt(ctx, r, "v=DMARC1", func(v string) (string, string) {
			rec, err := dmarc.Parse(v)
			if err != nil {
				return "", "not a valid DMARC record: " + err.Error()
			}
			if rec.Policy == dmarc.PolicyNone {
				return "p=none: failing mail is only reported, not filtered", ""
			}
			return "", ""
		})
	case KindMTASTS:
		return c.txt(ctx, r, "v=STSv1", func(v string) (string, string) {
			id := tag(v, "id")
			if id == "" || len(id) > 32 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
				return "", "id must be 1 to 32 letters or digits (RFC 8461 3.1)"
			}
			if want := tag(r.Value, "id"); want != "" && id != want {
				// RFC 8461 3.3: senders refetch only when the id changes.
				return "", "id is not the served policy's (" + want + "): senders keep an older policy"
			}
			return "", ""
		})
	case KindTLSRPT:
		return c.txt(ctx, r, "v=TLSRPTv1", func(v string) (string, string) {
			if !strings.HasPrefix(tag(v, "rua"), "mailto:") && !strings.HasPrefix(tag(v, "rua"), "https:") {
				return "", "rua= must be a mailto: or https: URI (RFC 8460 3)"
			}
			return "", ""
		})
	case KindSRV:
		return c.srv(ctx, r)
	default: // CNAMEs: autoconfig, autodiscover, mta-sts host
		return c.alias(ctx, r)
	}
}

// finding builds a Finding; the fix of a problem is the record's line.
func finding(r Record, st Status, detail string) Finding {
	f := Finding{Record: r, Status: st, Detail: detail}
	if st == Missing || st == Wrong {
		f.Fix = "publish " + strings.TrimPrefix(r.ZoneLine(), "; ")
		if r.Placeholder && r.Kind == KindDKIM {
			f.Fix = strings.Trim(r.Value, "<>") // "no key yet: run ..."
		}
	}
	return f
}

// lookupErr turns a lookup error into a Finding: no such name or no such
// record is Missing, anything else Wrong (the zone's servers fail).
func lookupErr(r Record, err error) Finding {
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return finding(r, Missing, "no "+r.Type+" record")
	}
	if errors.As(err, &de) {
		return finding(r, Wrong, "lookup failed: "+de.Err)
	}
	return finding(r, Wrong, "lookup failed: "+err.Error())
}

func fqdn(s string) string { return strings.TrimSuffix(s, ".") + "." }

func sameName(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

func (c *checker) mx(ctx context.Context, r Record) Finding {
	mxs, err := c.res.LookupMX(ctx, fqdn(r.Name))
	if err != nil {
		return lookupErr(r, err)
	}
	var hosts []string
	for _, m := range mxs {
		if m.Host == "." {
			return finding(r, Wrong, "null MX (RFC 7505): the domain says it accepts no mail")
		}
		if sameName(m.Host, c.s.Hostname) {
			return finding(r, OK, "-> "+c.s.Hostname)
		}
		hosts = append(hosts, strings.TrimSuffix(m.Host, "."))
	}
	if len(hosts) == 0 {
		return finding(r, Missing, "no MX record")
	}
	return finding(r, Wrong, "mail goes to "+strings.Join(hosts, ", ")+", not "+c.s.Hostname)
}

func (c *checker) host(ctx context.Context, r Record) Finding {
	addrs, err := c.res.LookupNetIP(ctx, "ip", fqdn(c.s.Hostname))
	if err != nil {
		return lookupErr(r, err)
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	c.addrs = addrs
	for _, want := range c.s.Addrs {
		if !slices.Contains(addrs, want) {
			return finding(r, Wrong, fmt.Sprintf("%s resolves to %v, not to the listener address %s", c.s.Hostname, addrs, want))
		}
	}
	return finding(r, OK, fmt.Sprintf("%v", addrs))
}

// records returns the TXT records at r.Name that start with prefix.
func (c *checker) records(ctx context.Context, r Record, prefix string) ([]string, error) {
	txts, err := c.res.LookupTXT(ctx, fqdn(r.Name))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range txts {
		if v, ok := cutPrefixFold(strings.TrimSpace(t), prefix); ok && (v == "" || v[0] == ' ' || v[0] == ';') {
			out = append(out, t)
		}
	}
	return out, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// txt checks a record identified by its version tag; valid says what is
// wrong with its text ("" both: fine; a note alone: Warn).
func (c *checker) txt(ctx context.Context, r Record, prefix string, valid func(string) (note, problem string)) Finding {
	recs, err := c.records(ctx, r, prefix)
	if err != nil {
		return lookupErr(r, err)
	}
	switch len(recs) {
	case 0:
		return finding(r, Missing, "no TXT record starting with "+prefix)
	case 1:
	default:
		return finding(r, Wrong, fmt.Sprintf("%d records start with %s; there must be one", len(recs), prefix))
	}
	note, problem := valid(recs[0])
	switch {
	case problem != "":
		return finding(r, Wrong, fmt.Sprintf("%q: %s", recs[0], problem))
	case note != "":
		f := finding(r, Warn, fmt.Sprintf("%q: %s", recs[0], note))
		f.Fix = "when reports show your mail passes, publish " + r.ZoneLine()
		return f
	}
	return finding(r, OK, fmt.Sprintf("%q", recs[0]))
}

// tag is the value of a tag=value; list (DMARC, MTA-STS, DKIM style).
func tag(rec, name string) string {
	for _, kv := range strings.Split(rec, ";") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (c *checker) spf(ctx context.Context, r Record) Finding {
	recs, err := c.records(ctx, r, "v=spf1")
	if err != nil {
		return lookupErr(r, err)
	}
	switch {
	case len(recs) == 0:
		return finding(r, Missing, "no SPF record")
	case len(recs) > 1:
		return finding(r, Wrong, fmt.Sprintf("%d SPF records: receivers treat that as permerror (RFC 7208 3.2); keep one", len(recs)))
	}
	if len(c.addrs) == 0 {
		return finding(r, Warn, fmt.Sprintf("%q; not evaluated: %s has no address", recs[0], c.s.Hostname))
	}
	for _, a := range c.addrs {
		res, err := spf.CheckHostWithSender(net.IP(a.AsSlice()), c.s.Hostname, "postmaster@"+c.s.Domain,
			spf.WithResolver(c.res), spf.WithContext(ctx))
		if res != spf.Pass {
			detail := fmt.Sprintf("%q gives %s for %s's address %s", recs[0], res, c.s.Hostname, a)
			if err != nil && (res == spf.PermError || res == spf.TempError) {
				detail += " (" + err.Error() + ")"
			}
			f := finding(r, Wrong, detail)
			f.Fix = "replace it with " + r.ZoneLine() + " (or add ip" + map[bool]string{true: "4", false: "6"}[a.Is4()] + ":" + a.String() + " to it)"
			return f
		}
	}
	return finding(r, OK, fmt.Sprintf("%q passes for %v", recs[0], c.addrs))
}

func (c *checker) dkim(ctx context.Context, r Record) Finding {
	if c.s.Key == nil {
		return finding(r, Missing, "no DKIM key under selector "+c.s.Selector+" in the data directory")
	}
	recs, err := c.res.LookupTXT(ctx, fqdn(r.Name))
	if err != nil {
		return lookupErr(r, err)
	}
	want := tag(r.Value, "p")
	var got []string
	for _, t := range recs {
		if !strings.Contains(t, "p=") {
			continue
		}
		p := strings.Join(strings.Fields(tag(t, "p")), "")
		if p == want {
			return finding(r, OK, "matches the key in the data directory")
		}
		got = append(got, t)
	}
	if len(got) == 0 {
		return finding(r, Missing, "no DKIM key record")
	}
	if tag(got[0], "p") == "" {
		return finding(r, Wrong, "the published key is revoked (empty p=)")
	}
	return finding(r, Wrong, "the published key is not this server's key (an old key, or a copy error)")
}

func (c *checker) srv(ctx context.Context, r Record) Finding {
	_, srvs, err := c.res.LookupSRV(ctx, r.Service, "tcp", fqdn(c.s.Domain))
	if err != nil {
		return lookupErr(r, err)
	}
	var seen []string
	for _, s := range srvs {
		if r.Port == 0 && s.Target == "." {
			return finding(r, OK, "not offered (target \".\")")
		}
		if r.Port != 0 && sameName(s.Target, c.s.Hostname) && int(s.Port) == r.Port {
			return finding(r, OK, fmt.Sprintf("%s:%d", c.s.Hostname, r.Port))
		}
		seen = append(seen, fmt.Sprintf("%s:%d", strings.TrimSuffix(s.Target, "."), s.Port))
	}
	return finding(r, Wrong, "points to "+strings.Join(seen, ", "))
}

// alias checks a name that should lead to the hostname: a CNAME to it,
// or addresses equal to its addresses.
func (c *checker) alias(ctx context.Context, r Record) Finding {
	cname, err := c.res.LookupCNAME(ctx, fqdn(r.Name))
	if err != nil {
		return lookupErr(r, err)
	}
	if sameName(cname, c.s.Hostname) {
		return finding(r, OK, "-> "+c.s.Hostname)
	}
	addrs, err := c.res.LookupNetIP(ctx, "ip", fqdn(r.Name))
	if err != nil {
		return lookupErr(r, err)
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	host := slices.Clone(c.addrs)
	slices.SortFunc(host, netip.Addr.Compare)
	if len(host) > 0 && slices.Equal(addrs, host) {
		return finding(r, OK, fmt.Sprintf("same addresses as %s", c.s.Hostname))
	}
	if !sameName(cname, r.Name) {
		return finding(r, Wrong, "is an alias of "+strings.TrimSuffix(cname, ".")+", not of "+c.s.Hostname)
	}
	return finding(r, Wrong, fmt.Sprintf("resolves to %v, not to %s (%v)", addrs, c.s.Hostname, c.addrs))
}

// fcrdns checks that every address of the hostname has a PTR naming it
// (RFC 8601 2.7.3 iprev: the name must also resolve back to the address,
// which holds since the address came from the hostname).
func (c *checker) fcrdns(ctx context.Context) []Finding {
	var out []Finding
	if len(c.addrs) == 0 {
		r := Record{Kind: KindFCrDNS, Name: c.s.Hostname, Type: "PTR", Value: c.s.Hostname + "."}
		return []Finding{{Record: r, Status: Missing, Detail: "not checked: " + c.s.Hostname + " has no address",
			Fix: "publish the address of " + c.s.Hostname + " first"}}
	}
	for _, a := range c.addrs {
		rev, _ := dnsReverse(a)
		r := Record{Kind: KindFCrDNS, Name: rev, Type: "PTR", Value: c.s.Hostname + "."}
		names, err := c.res.LookupAddr(ctx, a.String())
		if err != nil {
			f := lookupErr(r, err)
			f.Detail = a.String() + ": " + f.Detail
			f.Fix = "ask whoever runs " + a.String() + " (your hosting or Internet provider) to set its reverse DNS (PTR) to " + c.s.Hostname
			out = append(out, f)
			continue
		}
		ok := false
		for _, n := range names {
			ok = ok || sameName(n, c.s.Hostname)
		}
		if ok {
			out = append(out, finding(r, OK, a.String()+" -> "+c.s.Hostname+" -> "+a.String()))
			continue
		}
		f := finding(r, Wrong, fmt.Sprintf("%s names %s, not %s", a, strings.Join(names, ", "), c.s.Hostname))
		f.Fix = "ask whoever runs " + a.String() + " (your hosting or Internet provider) to set its reverse DNS (PTR) to " + c.s.Hostname
		out = append(out, f)
	}
	return out
}
