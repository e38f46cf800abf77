package config

import (
	"errors"
	"strings"
	"testing"
)

// TestMsgAuthKeys: the inbound-check and DKIM keys are validated naming
// the key, and have their documented defaults.
func TestMsgAuthKeys(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, src, key string }{
		{"bad smtp CIDR", "[smtp]\ntrusted_networks = [\"10.0.0.0/33\"]\n", "smtp.trusted_networks"},
		{"authserv_id with space", "[smtp]\nauthserv_id = \"a b\"\n", "smtp.authserv_id"},
		{"resolver without port", "[outbound]\nresolver = \"127.0.0.1\"\n", "outbound.resolver"},
		{"resolver bad port", "[outbound]\nresolver = \"127.0.0.1:dns\"\n", "outbound.resolver"},
		{"selector with slash", "[dkim]\nselector = \"a/b\"\n", "dkim.selector"},
		{"headers without From", "[dkim]\nheaders = [\"To\", \"Subject\"]\n", "dkim.headers"},
		{"header with colon", "[dkim]\nheaders = [\"From\", \"X:Y\"]\n", "dkim.headers"},
	} {
		_, err := Parse([]byte(minimal+c.src), "immp.toml")
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != c.key || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%s: got %v, want an error naming %s", c.name, err, c.key)
		}
	}
	cfg, err := Parse([]byte(minimal), "immp.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.SMTP.AuthChecks || cfg.SMTP.AuthservID != cfg.Hostname || len(cfg.SMTP.TrustedNetworks) != 0 ||
		cfg.DKIM.Selector != "immp" || cfg.Outbound.Resolver != "" {
		t.Errorf("file defaults: %+v %+v %+v", cfg.SMTP, cfg.DKIM, cfg.Outbound)
	}
	if n := strings.Count(strings.ToLower(strings.Join(cfg.DKIM.Headers, " ")), "from"); n != 2 {
		t.Errorf("From signed %d times by default, want 2 (oversigned)", n)
	}
	d := Default()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.SMTP.AuthChecks {
		t.Error("the built-in test-bed profile checks SPF/DKIM/DMARC (its senders are fake domains)")
	}
}
