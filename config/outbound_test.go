package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestOutboundDefaults: outbound is off by default and in the test-bed
// profile, with the documented defaults.
func TestOutboundDefaults(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(minimal+"hostname = \"mx.test\"\n"), "immp.toml")
	if err != nil {
		t.Fatal(err)
	}
	o := c.Outbound
	if o.Enabled || o.TLS != "opportunistic" || o.MXPort != 25 || time.Duration(o.RetryInitial) != 5*time.Minute ||
		time.Duration(o.MaxAge) != 120*time.Hour || o.Hostname != "mx.test" || len(c.SMTP.TrustedNetworks) != 0 {
		t.Errorf("defaults: %+v, trusted %v", o, c.SMTP.TrustedNetworks)
	}
	d := Default()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.Outbound.Enabled || len(d.SMTP.TrustedNetworks) != 0 {
		t.Error("the test-bed profile must not relay")
	}
}

func TestOutboundErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("secret\n"), 0o600)
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, nil, 0o600)
	cases := []struct{ name, src, key string }{
		{"bad tls", "[outbound]\ntls = \"maybe\"\n", "outbound.tls"},
		{"bad relay", "[outbound]\nrelay = \"smtp.example\"\n", "outbound.relay"},
		{"bad relay port", "[outbound]\nrelay = \"smtp.example:0\"\n", "outbound.relay"},
		{"bad resolver", "[outbound]\nresolver = \"127.0.0.1\"\n", "outbound.resolver"},
		{"user without relay", "[outbound]\nrelay_username = \"u\"\nrelay_password_file = \"" + pwFile + "\"\n", "outbound.relay_username"},
		{"user without password", "[outbound]\nrelay = \"s.example:587\"\nrelay_username = \"u\"\n", "outbound.relay_password_file"},
		{"password without user", "[outbound]\nrelay = \"s.example:587\"\nrelay_password_file = \"" + pwFile + "\"\n", "outbound.relay_username"},
		{"bad mx_port", "[outbound]\nmx_port = 0\n", "outbound.mx_port"},
		{"bad retry", "[outbound]\nretry_initial = \"0s\"\n", "outbound.retry_initial"},
		{"bad max_age", "[outbound]\nmax_age = \"-1h\"\n", "outbound.max_age"},
		{"negative delay warning", "[outbound]\ndelay_warning = \"-1s\"\n", "outbound.delay_warning"},
		{"bad max_conns", "[outbound]\nmax_conns = 0\n", "outbound.max_conns"},
		{"bad per domain", "[outbound]\nmax_conns_per_domain = 0\n", "outbound.max_conns_per_domain"},
		{"bad hostname", "[outbound]\nhostname = \"a b\"\n", "outbound.hostname"},
		{"bad trusted network", "[smtp]\ntrusted_networks = [\"10.0.0.0/33\"]\n", "smtp.trusted_networks"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(minimal+tc.src), "immp.toml")
			var ce *Error
			if !errors.As(err, &ce) || ce.Key != tc.key {
				t.Fatalf("got %v, want an error naming %s", err, tc.key)
			}
		})
	}
	c, err := Parse([]byte(minimal+"[outbound]\nrelay = \"s.example:587\"\nrelay_username = \"u\"\nrelay_password_file = \""+empty+"\"\n"), "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RelayPassword(); err == nil {
		t.Error("an empty password file was accepted")
	}
	c.Outbound.RelayPasswordFile = pwFile
	if pw, err := c.RelayPassword(); err != nil || pw != "secret" {
		t.Errorf("RelayPassword = %q, %v", pw, err)
	}
}
