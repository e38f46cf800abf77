package config

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Warning is a config that works but is probably not what was meant. Key
// names the offending key, as in Error.
type Warning struct {
	Key string
	Msg string
}

func (w Warning) String() string { return w.Key + ": " + w.Msg }

// validateNames refuses domains and a host name that DNS cannot carry:
// "*" and other wildcards (immp has no catch-all domain), and names that
// are not made of LDH labels (RFC 1035 2.3.1, RFC 1123 2.1).
func (c *Config) validateNames() error {
	for _, d := range c.Domains {
		if strings.Contains(d, "*") {
			return bad("domains", "%q: wildcards are not supported; list every mail domain by name", d)
		}
		if err := checkDNSName(d); err != "" {
			return bad("domains", "%q is not a valid domain name: %s", d, err)
		}
	}
	if err := checkDNSName(c.Hostname); err != "" {
		return bad("hostname", "%q is not a valid host name: %s", c.Hostname, err)
	}
	return nil
}

// checkDNSName says what is wrong with name as a DNS host name, or "".
// Labels may hold non-ASCII letters (an IDN written in Unicode).
func checkDNSName(name string) string {
	name = strings.TrimSuffix(name, ".")
	switch {
	case name == "":
		return "empty"
	case len(name) > 253:
		return "longer than 253 characters"
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return "an IP address, not a name"
	}
	for _, label := range strings.Split(name, ".") {
		switch {
		case label == "":
			return "empty label (two dots in a row)"
		case len(label) > 63:
			return fmt.Sprintf("label %q is longer than 63 characters", label)
		case label[0] == '-' || label[len(label)-1] == '-':
			return fmt.Sprintf("label %q starts or ends with '-'", label)
		}
		for _, r := range label {
			ok := r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r > 0x7f
			if !ok {
				return fmt.Sprintf("%q is not allowed (letters, digits and '-' only)", r)
			}
		}
	}
	return ""
}

// trustedList is one trusted_networks key, and what its networks may do
// (for the messages that name it).
type trustedList struct {
	key   string
	parse func() ([]netip.Prefix, error)
	may   string
}

func (c *Config) trustedLists() []trustedList {
	return []trustedList{
		{"immp.trusted_networks", c.TrustedPrefixes, "ask which accounts exist without logging in"},
		{"smtp.trusted_networks", c.SMTPTrustedPrefixes, "relay mail through this server and skip SPF/DKIM/DMARC"},
	}
}

// validateTrusted refuses trusted networks that take in the whole
// Internet (0.0.0.0/0, ::/0, or a public prefix of /7 or less for IPv4,
// /15 or less for IPv6): whoever is in them may probe every account
// (immp), or use the server as an open relay (smtp).
func (c *Config) validateTrusted() error {
	for _, l := range c.trustedLists() {
		ps, err := l.parse()
		if err != nil {
			return err
		}
		for _, p := range ps {
			if p.Bits() == 0 || (!private(p) && ((p.Addr().Is4() && p.Bits() < 8) || (p.Addr().Is6() && p.Bits() < 16))) {
				return bad(l.key, "%v includes the whole Internet or a large part of it, which could then %s; list your own hosts' networks", p, l.may)
			}
		}
	}
	return nil
}

// testBed reports a config for tests and first steps: accounts created on
// demand, or nothing listening beyond loopback.
func (c *Config) testBed() bool {
	if c.Accounts.AutoCreate {
		return true
	}
	for _, l := range c.Listeners() {
		host, _, err := net.SplitHostPort(l.Addr)
		if err != nil {
			continue
		}
		if host == "localhost" {
			continue
		}
		if a, err := netip.ParseAddr(host); err != nil || !a.IsLoopback() {
			return false
		}
	}
	return true
}

// privateNets are address ranges that are not routed on the Internet.
func privateNets() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
		"127.0.0.0/8", "169.254.0.0/16", "fc00::/7", "fe80::/10", "::1/128"} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}

// Warnings lists what a valid config probably gets wrong: a host name that
// is not fully qualified outside a test bed (other servers use it in
// greetings and bounces), and trusted networks wider than a provider's
// allocation on public addresses.
func (c *Config) Warnings() []Warning {
	var ws []Warning
	if !c.testBed() && !strings.Contains(strings.TrimSuffix(c.Hostname, "."), ".") {
		ws = append(ws, Warning{"hostname", fmt.Sprintf("%q is not a fully qualified domain name; "+
			"other servers see it in greetings and Received headers (set e.g. \"mail.%s\")", c.Hostname, firstOr(c.Domains, "example.org"))})
	}
	for _, l := range c.trustedLists() {
		ps, _ := l.parse()
		for _, p := range ps {
			if !private(p) && ((p.Addr().Is4() && p.Bits() < 16) || (p.Addr().Is6() && p.Bits() < 32)) {
				ws = append(ws, Warning{l.key, fmt.Sprintf("%v is a wide public network: "+
					"every host in it may %s", p, l.may)})
			}
		}
	}
	return ws
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

// private reports whether p lies inside a range not routed on the Internet.
func private(p netip.Prefix) bool {
	for _, n := range privateNets() {
		if n.Bits() <= p.Bits() && n.Contains(p.Addr()) {
			return true
		}
	}
	return false
}
