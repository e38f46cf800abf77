package msgauth

import (
	"context"
	"errors"
	"strings"

	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"
)

// dmarcOutcome is the DMARC evaluation of one message (RFC 7489 6.6).
type dmarcOutcome struct {
	result string // pass, fail, none, temperror, permerror
	from   string // RFC5322.From domain
	policy dmarc.Policy
	// applied is the policy to apply after pct sampling (RFC 7489
	// 6.6.4); "" unless result is fail.
	applied dmarc.Policy
	reason  string
}

// orgDomain is the Organizational Domain (RFC 7489 3.2): the public
// suffix plus one label.
func orgDomain(d string) string {
	o, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err != nil {
		return d
	}
	return o
}

// aligned: identifier domain id aligns with the From domain (RFC 7489
// 3.1): equal in strict mode, the same Organizational Domain in relaxed.
func aligned(id, from string, mode dmarc.AlignmentMode) bool {
	id, from = strings.ToLower(id), strings.ToLower(from)
	if id == from {
		return true
	}
	if mode == dmarc.AlignmentStrict {
		return false
	}
	return id != "" && orgDomain(id) == orgDomain(from)
}

// evalDMARC looks up the policy of from (then of its Organizational
// Domain, RFC 7489 6.6.3) and checks alignment of the passing SPF
// identity and DKIM signing domains.
func (c *Checker) evalDMARC(ctx context.Context, from string, spfPass bool, spfDomain string, dkimPass []string) dmarcOutcome {
	out := dmarcOutcome{from: from}
	if from == "" {
		out.result, out.reason = "permerror", "no single RFC5322.From domain"
		return out
	}
	lookup := &dmarc.LookupOptions{LookupTXT: func(name string) ([]string, error) {
		return c.res.LookupTXT(ctx, fqdn(name))
	}}
	rec, err := dmarc.LookupWithOptions(from, lookup)
	atOrg := false
	if errors.Is(err, dmarc.ErrNoPolicy) {
		if org := orgDomain(from); org != from {
			rec, err = dmarc.LookupWithOptions(org, lookup)
			atOrg = true
		}
	}
	switch {
	case errors.Is(err, dmarc.ErrNoPolicy):
		out.result = "none"
		return out
	case dmarc.IsTempFail(err):
		out.result, out.reason = "temperror", err.Error()
		return out
	case err != nil:
		if isTemporary(err) {
			out.result, out.reason = "temperror", err.Error()
		} else {
			out.result, out.reason = "permerror", err.Error()
		}
		return out
	}
	out.policy = rec.Policy
	if atOrg && rec.SubdomainPolicy != "" {
		out.policy = rec.SubdomainPolicy // RFC 7489 6.3 sp
	}
	if spfPass && aligned(spfDomain, from, rec.SPFAlignment) {
		out.result = "pass"
		return out
	}
	for _, d := range dkimPass {
		if aligned(d, from, rec.DKIMAlignment) {
			out.result = "pass"
			return out
		}
	}
	out.result = "fail"
	out.applied = out.policy
	// RFC 7489 6.6.4: pct selects the share of failing mail the policy
	// applies to; the rest gets the next weaker policy.
	if rec.Percent != nil && *rec.Percent < 100 && c.opts.Sample() >= *rec.Percent {
		switch out.applied {
		case dmarc.PolicyReject:
			out.applied = dmarc.PolicyQuarantine
		case dmarc.PolicyQuarantine:
			out.applied = dmarc.PolicyNone
		}
	}
	return out
}

func fqdn(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}
