package config

import (
	"errors"
	"strings"
	"testing"
)

// TestCheckCatchesMistakes: the mistakes operators make, each an error or
// a warning naming its key (and nothing for the correct variant).
func TestCheckCatchesMistakes(t *testing.T) {
	t.Parallel()
	const head = "hostname = \"mx.example.org\"\ndata_dir = \"d\"\n"
	cases := []struct {
		name     string
		src      string
		errKey   string // an error naming this key, or "" for none
		warnKey  string // a warning naming this key, or "" for none
		contains string // in the error or warning text
	}{
		{"catch-all domain", head + `domains = ["*"]`, "domains", "", "wildcards"},
		{"wildcard subdomain", head + `domains = ["*.example.org"]`, "domains", "", "wildcards"},
		{"underscore", head + `domains = ["mail_box.example.org"]`, "domains", "", "'_'"},
		{"double dot", head + `domains = ["example..org"]`, "domains", "", "empty label"},
		{"leading hyphen label", head + `domains = ["-x.example.org"]`, "domains", "", "starts or ends"},
		{"long label", head + `domains = ["` + strings.Repeat("a", 64) + `.org"]`, "domains", "", "63"},
		{"IP as domain", head + `domains = ["192.0.2.1"]`, "domains", "", "IP address"},
		{"good domains", head + `domains = ["example.org", "xn--bcher-kva.example", "bücher.example"]`, "", "", ""},
		{"hostname with underscore", "hostname = \"mx_1.example.org\"\ndata_dir = \"d\"\ndomains = [\"example.org\"]", "hostname", "", "'_'"},
		{"same port twice", head + "domains = [\"example.org\"]\n[smtp]\nlisten = \"0.0.0.0:2525\"\n[imap]\nlisten = \"127.0.0.1:2525\"",
			"imap.listen", "", "also used by smtp.listen"},
		{"same address twice", head + "domains = [\"example.org\"]\n[imap]\nlisten = \"127.0.0.1:143\"\n[immp]\nlisten = \"127.0.0.1:143\"",
			"immp.listen", "", "also used by imap.listen"},
		{"TLS listener without certificate", head + "domains = [\"example.org\"]\n[imap]\ntls_listen = \"127.0.0.1:993\"",
			"imap.tls_listen", "", "certificate"},
		{"IMMP TLS listener without certificate", head + "domains = [\"example.org\"]\n[immp]\ntls_listen = \"127.0.0.1:3324\"",
			"immp.tls_listen", "", "certificate"},
		{"trust everyone v4", head + "domains = [\"example.org\"]\n[immp]\ntrusted_networks = [\"0.0.0.0/0\"]",
			"immp.trusted_networks", "", "whole Internet"},
		{"trust everyone v6", head + "domains = [\"example.org\"]\n[immp]\ntrusted_networks = [\"::/0\"]",
			"immp.trusted_networks", "", "whole Internet"},
		{"trust half the internet", head + "domains = [\"example.org\"]\n[immp]\ntrusted_networks = [\"0.0.0.0/1\", \"128.0.0.0/1\"]",
			"immp.trusted_networks", "", "whole Internet"},
		{"trust a wide public net", head + "domains = [\"example.org\"]\n[immp]\ntrusted_networks = [\"8.0.0.0/9\"]",
			"", "immp.trusted_networks", "wide public network"},
		{"relay for everyone", head + "domains = [\"example.org\"]\n[smtp]\ntrusted_networks = [\"0.0.0.0/0\"]",
			"smtp.trusted_networks", "", "relay mail through this server"},
		{"relay for a wide public net", head + "domains = [\"example.org\"]\n[smtp]\ntrusted_networks = [\"8.0.0.0/9\"]",
			"", "smtp.trusted_networks", "wide public network"},
		{"trust a private /8", head + "domains = [\"example.org\"]\n[immp]\ntrusted_networks = [\"10.0.0.0/8\", \"fd00::/8\"]", "", "", ""},
		{"short hostname in production", "hostname = \"mx\"\ndata_dir = \"d\"\ndomains = [\"example.org\"]\n[smtp]\nlisten = \"0.0.0.0:25\"",
			"", "hostname", "fully qualified"},
		{"short hostname on loopback", "hostname = \"mx\"\ndata_dir = \"d\"\ndomains = [\"example.org\"]\n[smtp]\nlisten = \"127.0.0.1:25\"", "", "", ""},
		{"short hostname in a test bed", "hostname = \"mx\"\ndata_dir = \"d\"\ndomains = [\"example.org\"]\n[smtp]\nlisten = \"0.0.0.0:25\"\n[accounts]\nauto_create = true", "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse([]byte(c.src), "immp.toml")
			if c.errKey != "" {
				var ce *Error
				if !errors.As(err, &ce) || ce.Key != c.errKey || !strings.Contains(ce.Msg, c.contains) {
					t.Fatalf("error %v; want one on key %s saying %q", err, c.errKey, c.contains)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			ws := cfg.Warnings()
			if c.warnKey == "" {
				if len(ws) != 0 {
					t.Fatalf("unexpected warnings: %v", ws)
				}
				return
			}
			if len(ws) != 1 || ws[0].Key != c.warnKey || !strings.Contains(ws[0].Msg, c.contains) {
				t.Fatalf("warnings %v; want one on key %s saying %q", ws, c.warnKey, c.contains)
			}
		})
	}
}

func FuzzCheckDNSName(f *testing.F) {
	for _, s := range []string{"example.org", "*", "a..b", "-a.b", "bücher.example", "1.2.3.4", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkDNSName(s) == "" {
			for _, bad := range []string{"*", " ", "@", "_", ".."} {
				if strings.Contains(strings.TrimSuffix(s, "."), bad) {
					t.Fatalf("%q accepted with %q in it", s, bad)
				}
			}
		}
	})
}
