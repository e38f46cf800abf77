package main

import (
	"context"
	"crypto/tls"
	"flag"
	"strings"
	"time"
)

// clientFlags are the connection flags of the guard and subinbox verbs.
type clientFlags struct {
	config   *string
	immp     *string
	imap     *string
	user     *string
	tls      *bool
	starttls *bool
	insecure *bool
	timeout  *time.Duration
}

func addClientFlags(fs *flag.FlagSet, withIMAP bool) *clientFlags {
	c := &clientFlags{
		config:   fs.String("config", "", "config `FILE` giving the addresses and domain when -immp, -imap or the user's domain are absent\n(default: $IMMP_CONFIG, else ./immp.toml, else /etc/immp/immp.toml, else the built-in test-bed profile)"),
		immp:     fs.String("immp", "", "IMMP server `HOST:PORT` (default: [immp] listen of the config)"),
		user:     fs.String("user", "", "account `ADDRESS` to log in as (required; without @domain, the config's first domain);\npassword from $IMMP_PASSWORD or stdin"),
		tls:      fs.Bool("tls", false, "connect with implicit TLS (to a tls_listen port)"),
		starttls: fs.Bool("starttls", false, "connect in cleartext and upgrade with STARTTLS"),
		insecure: fs.Bool("insecure", false, "with -tls or -starttls: accept any certificate (self-signed test beds only)"),
		timeout:  fs.Duration("timeout", 30*time.Second, "give up after this long"),
	}
	if withIMAP {
		c.imap = fs.String("imap", "", "IMAP server `HOST:PORT` used when IMMP refuses the connection (draft 5.6)\n(default: [imap] listen of the config); -imap= disables the fallback")
	}
	return c
}

// tlsConfig is nil without -tls or -starttls.
func (c *clientFlags) tlsConfig() *tls.Config {
	if !*c.tls && !*c.starttls {
		return nil
	}
	return &tls.Config{InsecureSkipVerify: *c.insecure, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in flag for self-signed test beds
}

// password comes from $IMMP_PASSWORD, else the first line of stdin.
func (c *clientFlags) password(e cliEnv) (string, error) {
	if pw := e.getenv("IMMP_PASSWORD"); pw != "" {
		return pw, nil
	}
	return readPassword(e.stdin)
}

func (c *clientFlags) context(e cliEnv) (context.Context, context.CancelFunc) {
	return context.WithTimeout(e.ctx, *c.timeout)
}

// resolve fills in what the flags leave out from the config (found as
// every verb finds it): the IMMP and IMAP addresses, and the domain of a
// -user given without one. The config is not read when the flags say it
// all. ok false: the problem was printed, exit with exitUsage.
func (c *clientFlags) resolve(e cliEnv, fs *flag.FlagSet) bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	needIMAP := c.imap != nil && !set["imap"]
	if set["immp"] && !needIMAP && strings.Contains(*c.user, "@") {
		return true
	}
	cfg, ok := loadConfig(e, *c.config)
	if !ok {
		return false
	}
	if !set["immp"] {
		addr := cfg.IMMP.Listen
		if addr == "" && cfg.IMMP.TLSListen != "" {
			addr = cfg.IMMP.TLSListen
			if !set["starttls"] {
				*c.tls = true
			}
		}
		if addr == "" {
			e.errorf("%s: immp.listen and immp.tls_listen are off in the config; give the server with -immp HOST:PORT", fs.Name())
			return false
		}
		*c.immp = dialable(addr)
	}
	if needIMAP && cfg.IMAP.Listen != "" {
		*c.imap = dialable(cfg.IMAP.Listen)
	}
	if !strings.Contains(*c.user, "@") && len(cfg.Domains) > 0 {
		*c.user += "@" + cfg.Domains[0]
	}
	return true
}
