package main

import (
	"context"
	"fmt"
	"time"

	"github.com/immp-mail/immp/dnssetup"
	"github.com/immp-mail/immp/internal/resolver"
)

const dnsUsage = `Usage:
  immp dns records [-config FILE] DOMAIN   print the DNS records to publish for DOMAIN
  immp dns check [-config FILE] DOMAIN     query them and print each as OK or with its fix

Both derive the records from the config (hostname, listeners, [dkim]
selector) and the DKIM key in the data directory. check asks [outbound]
resolver, or the system's resolver, and reports the forward-confirmed
reverse DNS of the hostname. It exits 1 when a record is wrong or a
required one (MX, address, SPF, DKIM, DMARC, reverse DNS) is missing;
missing recommended ones (MTA-STS, TLS-RPT, SRV, autoconfig) only warn.
`

// dnsCheckTimeout bounds the whole of "immp dns check".
const dnsCheckTimeout = 60 * time.Second

func cmdDNS(e cliEnv, args []string) int {
	verb, rest, code, done := subVerb(e, "dns", dnsUsage, args, []string{"records", "check"})
	if done {
		return code
	}
	fs := newFlags(e, "dns "+verb, "immp dns "+verb+" [-config FILE] DOMAIN")
	path := configFlag(e, fs)
	if code, done := parseFlags(e, fs, rest); done {
		return code
	}
	if fs.NArg() != 1 {
		return e.usageError(fs, "dns %s needs exactly one DOMAIN", verb)
	}
	cfg, ok := loadConfig(e, *path)
	if !ok {
		return exitUsage
	}
	setup, err := dnssetup.FromConfig(cfg, fs.Arg(0))
	if err != nil {
		return e.usageError(fs, "%v", err)
	}
	if !isLocalDomain(cfg, setup.Domain) {
		e.errorf("%s is not one of the domains of this server (config key domains)", setup.Domain)
		return exitUsage
	}
	recs := dnssetup.Records(setup)
	if verb == "records" {
		fmt.Fprintf(e.stdout, "; DNS records for %s, served by %s\n", setup.Domain, setup.Hostname)
		fmt.Fprint(e.stdout, dnssetup.Format(recs))
		return exitOK
	}
	ctx, cancel := context.WithTimeout(e.ctx, dnsCheckTimeout)
	defer cancel()
	res := resolver.New(cfg.Outbound.Resolver, 5*time.Second)
	findings := dnssetup.Check(ctx, res, setup)
	fmt.Fprint(e.stdout, dnssetup.FormatFindings(findings))
	if dnssetup.Failed(findings) {
		fmt.Fprintf(e.stdout, "\n%s: some records need fixing (see fix: lines above).\n", setup.Domain)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "\n%s: mail DNS is in order.\n", setup.Domain)
	return exitOK
}
