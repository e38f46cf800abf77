package config

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// validateMsgAuth checks [smtp] authserv_id and trusted_networks,
// [outbound] resolver and [dkim], and fills authserv_id in from hostname.
func (c *Config) validateMsgAuth() error {
	if c.SMTP.AuthservID == "" {
		c.SMTP.AuthservID = c.Hostname
	}
	// RFC 8601 2.2: authserv-id is a value (token or quoted-string);
	// a name keeps it a token.
	if strings.ContainsAny(c.SMTP.AuthservID, " \t\r\n;()\"\\@[]") {
		return bad("smtp.authserv_id", "not a host name: %q", c.SMTP.AuthservID)
	}
	if _, err := c.SMTPTrustedPrefixes(); err != nil {
		return err
	}
	if r := c.Outbound.Resolver; r != "" {
		host, port, err := net.SplitHostPort(r)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n <= 0 || n > 65535 {
			return bad("outbound.resolver", "not a HOST:PORT address: %q", r)
		}
	}
	if !ValidDKIMSelector(c.DKIM.Selector) {
		return bad("dkim.selector", "not a selector (letters, digits, '-', '.' labels): %q", c.DKIM.Selector)
	}
	from := false
	for _, h := range c.DKIM.Headers {
		if h == "" || strings.ContainsAny(h, ": \t\r\n;") {
			return bad("dkim.headers", "not a header field name: %q", h)
		}
		from = from || strings.EqualFold(h, "From")
	}
	if !from {
		return bad("dkim.headers", "must include From (RFC 6376 5.4)")
	}
	return nil
}

// ValidDKIMSelector: RFC 6376 3.1 selector = sub-domain *( "." sub-domain ).
func ValidDKIMSelector(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-') {
				return false
			}
		}
	}
	return true
}

// SMTPTrustedPrefixes parses smtp.trusted_networks (parsePrefixes).
func (c *Config) SMTPTrustedPrefixes() ([]netip.Prefix, error) {
	return parsePrefixes("smtp.trusted_networks", c.SMTP.TrustedNetworks)
}
