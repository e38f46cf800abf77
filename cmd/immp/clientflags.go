package main

import (
	"context"
	"crypto/tls"
	"flag"
	"time"
)

// clientFlags are the connection flags of the guard and subinbox verbs.
type clientFlags struct {
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
		immp:     fs.String("immp", "127.0.0.1:3323", "IMMP server `HOST:PORT`"),
		user:     fs.String("user", "", "account `ADDRESS` to log in as (required); password from $IMMP_PASSWORD or stdin"),
		tls:      fs.Bool("tls", false, "connect with implicit TLS (to a tls_listen port)"),
		starttls: fs.Bool("starttls", false, "connect in cleartext and upgrade with STARTTLS"),
		insecure: fs.Bool("insecure", false, "with -tls or -starttls: accept any certificate (self-signed test beds only)"),
		timeout:  fs.Duration("timeout", 30*time.Second, "give up after this long"),
	}
	if withIMAP {
		c.imap = fs.String("imap", "127.0.0.1:3143", "IMAP server `HOST:PORT` used when IMMP refuses the connection (draft 5.6); \"\" disables the fallback")
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
