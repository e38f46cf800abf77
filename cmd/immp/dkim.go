package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/msgauth"
)

const dkimUsage = `Usage:
  immp dkim keygen [-config FILE] [-selector S] [-algo rsa|ed25519] [-force] DOMAIN
                                          make DOMAIN's signing key, print its DNS record
  immp dkim show [-config FILE] [-selector S] DOMAIN
                                          print the DNS record of DOMAIN's key again

Keys live in data_dir/dkim/DOMAIN/SELECTOR.key (PKCS#8 PEM, mode 0600).
The selector defaults to [dkim] selector; mail from DOMAIN is signed once
its key exists under that selector. Publish the printed TXT record before
sending: a signature whose key is not in DNS is a DKIM failure.
`

func cmdDKIM(e cliEnv, args []string) int {
	verb, rest, code, done := subVerb(e, "dkim", dkimUsage, args, []string{"keygen", "show"})
	if done {
		return code
	}
	synopsis := map[string]string{
		"keygen": "immp dkim keygen [-config FILE] [-selector S] [-algo rsa|ed25519] [-force] DOMAIN",
		"show":   "immp dkim show [-config FILE] [-selector S] DOMAIN",
	}[verb]
	fs := newFlags(e, "dkim "+verb, synopsis)
	path := configFlag(e, fs)
	selector := fs.String("selector", "", "key `SELECTOR` (default [dkim] selector)")
	var algo *string
	var force *bool
	if verb == "keygen" {
		algo = fs.String("algo", msgauth.AlgoRSA, "key algorithm: rsa (2048 bits) or ed25519 (RFC 8463)")
		force = fs.Bool("force", false, "replace an existing key (its signatures stop verifying once the new record replaces the old)")
	}
	if code, done := parseFlags(e, fs, rest); done {
		return code
	}
	if fs.NArg() != 1 {
		return e.usageError(fs, "dkim %s needs exactly one DOMAIN", verb)
	}
	if algo != nil && *algo != msgauth.AlgoRSA && *algo != msgauth.AlgoEd25519 {
		return e.usageError(fs, "-algo: %q is neither rsa nor ed25519", *algo)
	}
	cfg, ok := loadConfig(e, *path)
	if !ok {
		return exitUsage
	}
	domain, err := msgauth.NormalizeDomain(fs.Arg(0))
	if err != nil {
		return e.usageError(fs, "%v", err)
	}
	if !isLocalDomain(cfg, domain) {
		e.errorf("%s is not one of the domains of this server (config key domains: %s); only their mail is signed",
			domain, strings.Join(cfg.Domains, ", "))
		return exitUsage
	}
	sel := *selector
	if sel == "" {
		sel = cfg.DKIM.Selector
	}
	if !config.ValidDKIMSelector(sel) {
		return e.usageError(fs, "-selector: not a selector (letters, digits, '-', '.' labels): %q", sel)
	}
	if verb == "show" {
		k, err := msgauth.LoadKey(cfg.DataDir, domain, sel)
		if errors.Is(err, msgauth.ErrNoKey) {
			e.errorf("no DKIM key for %s under selector %q: make one with \"immp dkim keygen %s\"%s",
				domain, sel, domain, otherSelectors(cfg, domain, sel))
			return exitFail
		}
		if err != nil {
			e.errorf("%v", err)
			return exitFail
		}
		printRecord(e, cfg, k)
		return exitOK
	}
	priv, err := msgauth.GenerateKey(*algo)
	if err != nil {
		e.errorf("%v", err)
		return exitFail
	}
	k := &msgauth.Key{Domain: domain, Selector: sel, Signer: priv}
	if err := msgauth.WriteKey(cfg.DataDir, k, *force); err != nil {
		if errors.Is(err, msgauth.ErrKeyExists) {
			e.errorf("%v\nShow its record with \"immp dkim show %s\", or replace it with -force (the old record then stops matching).", err, domain)
			return exitFail
		}
		e.errorf("writing the key: %v", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "Made a %s key for %s: %s\n\n", k.Algo(), domain, msgauth.KeyPath(cfg.DataDir, domain, sel))
	printRecord(e, cfg, k)
	return exitOK
}

func printRecord(e cliEnv, cfg config.Config, k *msgauth.Key) {
	fmt.Fprintf(e.stdout, "Publish this DNS TXT record:\n  name:  %s\n  value: %s\n\nAs a zone-file line:\n%s\n",
		k.RecordName(), k.RecordValue(), k.ZoneLine())
	if k.Selector != cfg.DKIM.Selector {
		fmt.Fprintf(e.stdout, "\nMail is signed with selector %q ([dkim] selector); set it to %q once this record is published.\n",
			cfg.DKIM.Selector, k.Selector)
	}
}

func otherSelectors(cfg config.Config, domain, sel string) string {
	sels, _ := msgauth.Selectors(cfg.DataDir, domain)
	if len(sels) == 0 {
		return ""
	}
	return fmt.Sprintf(" (keys exist under selector %s: see them with -selector)", strings.Join(sels, ", "))
}

func isLocalDomain(cfg config.Config, domain string) bool {
	for _, d := range cfg.Domains {
		if strings.EqualFold(strings.TrimSuffix(d, "."), domain) {
			return true
		}
	}
	return false
}
