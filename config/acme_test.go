package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// acmeMinimal is a valid config with acme on; cases add or change keys.
const acmeMinimal = "hostname = \"mail.example.org\"\ndata_dir = \"d\"\ndomains = [\"example.org\"]\n"

// TestACMEAndAdminErrorsNameTheKey: each way to get [tls] acme or the
// admin page wrong is refused with the key that is wrong.
func TestACMEAndAdminErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	cert, key := writeCert(t)
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("abc\n"), 0o600)
	open := filepath.Join(dir, "open")
	os.WriteFile(open, []byte("a-long-enough-password\n"), 0o644)
	os.Chmod(open, 0o644)
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("a-long-enough-password\n"), 0o600)
	cases := []struct{ name, src, key string }{
		{"acme with cert", acmeMinimal + "[tls]\nacme = true\ncert = \"" + cert + "\"\nkey = \"" + key + "\"\n", "tls.acme"},
		{"acme with self_signed", acmeMinimal + "[tls]\nacme = true\nself_signed = true\n", "tls.acme"},
		{"acme single label", strings.Replace(acmeMinimal, "mail.example.org", "mail", 1) + "[tls]\nacme = true\n", "hostname"},
		{"acme localhost", strings.Replace(acmeMinimal, "mail.example.org", "localhost", 1) + "[tls]\nacme = true\n", "hostname"},
		{"acme IP", strings.Replace(acmeMinimal, "mail.example.org", "192.0.2.1", 1) + "[tls]\nacme = true\n", "hostname"},
		{"acme name IP", acmeMinimal + "[tls]\nacme = true\nacme_names = [\"::1\"]\n", "tls.acme_names"},
		{"acme name wildcard", acmeMinimal + "[tls]\nacme = true\nacme_names = [\"*.example.org\"]\n", "tls.acme_names"},
		{"acme http directory", acmeMinimal + "[tls]\nacme = true\nacme_directory = \"http://ca.test/dir\"\n", "tls.acme_directory"},
		{"acme bad email", acmeMinimal + "[tls]\nacme = true\nacme_email = \"nobody\"\n", "tls.acme_email"},
		{"acme ca root missing", acmeMinimal + "[tls]\nacme = true\nacme_ca_root = \"" + filepath.Join(dir, "none") + "\"\n", "tls.acme_ca_root"},
		{"acme ca root not PEM", acmeMinimal + "[tls]\nacme = true\nacme_ca_root = \"" + notPEM + "\"\n", "tls.acme_ca_root"},
		{"acme challenge", acmeMinimal + "[tls]\nacme = true\nacme_challenge = \"dns-01\"\n", "tls.acme_challenge"},
		{"acme listen", acmeMinimal + "[tls]\nacme = true\nacme_listen = \"443\"\n", "tls.acme_listen"},
		{"acme renew check", acmeMinimal + "[tls]\nacme = true\nacme_renew_check = \"0s\"\n", "tls.acme_renew_check"},
		{"acme key without acme", acmeMinimal + "[tls]\nacme_email = \"a@example.org\"\n", "tls.acme_email"},
		{"acme names without acme", acmeMinimal + "[tls]\nacme_names = [\"x.example.org\"]\n", "tls.acme_names"},
		{"admin without http", acmeMinimal + "[http]\nadmin_password_file = \"" + good + "\"\n", "http.admin_password_file"},
		{"admin file missing", acmeMinimal + "[http]\nlisten = \"127.0.0.1:0\"\nadmin_password_file = \"" + filepath.Join(dir, "none") + "\"\n", "http.admin_password_file"},
		{"admin password short", acmeMinimal + "[http]\nlisten = \"127.0.0.1:0\"\nadmin_password_file = \"" + short + "\"\n", "http.admin_password_file"},
		{"admin file world-readable", acmeMinimal + "[http]\nlisten = \"127.0.0.1:0\"\nadmin_password_file = \"" + open + "\"\n", "http.admin_password_file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(c.src), "immp.toml")
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want *Error", err)
			}
			if ce.Key != c.key || !strings.Contains(err.Error(), c.key) {
				t.Errorf("key %q, want %q (%v)", ce.Key, c.key, err)
			}
		})
	}

	// And the good ones load.
	for _, src := range []string{
		acmeMinimal + "[tls]\nacme = true\n",
		acmeMinimal + "[tls]\nacme = true\nacme_challenge = \"http-01\"\nacme_names = [\"autoconfig.example.org\"]\nacme_listen = \":8443\"\n",
		acmeMinimal + "[imap]\ntls_listen = \":993\"\n[tls]\nacme = true\n",
		acmeMinimal + "[http]\nlisten = \"127.0.0.1:0\"\nadmin_password_file = \"" + good + "\"\n",
	} {
		c, err := Parse([]byte(src), "immp.toml")
		if err != nil {
			t.Errorf("%v\n%s", err, src)
			continue
		}
		if c.TLS.ACME && (c.ACMEDomains()[0] != "mail.example.org" || !c.TLSEnabled()) {
			t.Errorf("domains %v, TLS on %v", c.ACMEDomains(), c.TLSEnabled())
		}
	}
}

func TestACMEListenAddr(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ challenge, listen, want string }{
		{ChallengeTLSALPN, "", ":443"}, {ChallengeHTTP, "", ":80"}, {ChallengeHTTP, "127.0.0.1:8080", "127.0.0.1:8080"},
	} {
		cfg := Config{TLS: TLS{ACMEChallenge: c.challenge, ACMEListen: c.listen}}
		if got := cfg.ACMEListenAddr(); got != c.want {
			t.Errorf("%s %q: %q, want %q", c.challenge, c.listen, got, c.want)
		}
	}
}

func TestACMEDomains(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		src  string
		want []string
	}{
		{"[tls]\nacme = true\nacme_names = [\"MTA-STS.example.org\", \"mail.example.org\"]\n", []string{"mail.example.org", "mta-sts.example.org"}},
		{"[http]\ntls_listen = \":443\"\n[tls]\nacme = true\n", []string{"mail.example.org", "autoconfig.example.org", "mta-sts.example.org"}},
		{"[http]\ntls_listen = \":443\"\nautoconfig = false\n[tls]\nacme = true\n", []string{"mail.example.org", "mta-sts.example.org"}},
		{"[http]\ntls_listen = \":443\"\nautoconfig = false\nmta_sts_mode = \"\"\n[tls]\nacme = true\n", []string{"mail.example.org"}},
		{"[http]\nmta_sts_mode = \"enforce\"\n[tls]\nacme = true\n", []string{"mail.example.org"}}, // no HTTPS: not fetched from here
		{"domains = [\"example.org\", \"localhost\"]\n[http]\ntls_listen = \":443\"\n[tls]\nacme = true\nacme_names = [\"autoconfig.example.org\"]\n",
			[]string{"mail.example.org", "autoconfig.example.org", "mta-sts.example.org"}},
	} {
		src := c.src
		if !strings.HasPrefix(src, "domains") {
			src = "domains = [\"example.org\"]\n" + src
		}
		cfg, err := Parse([]byte("hostname = \"mail.example.org\"\ndata_dir = \"d\"\n"+src), "immp.toml")
		if err != nil {
			t.Fatalf("%v\n%s", err, src)
		}
		if got := cfg.ACMEDomains(); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: %v, want %v", c.src, got, c.want)
		}
	}
	if _, err := Parse([]byte(acmeMinimal+"[http]\ntls_listen = \":443\"\n"), "immp.toml"); err == nil || !strings.Contains(err.Error(), "http.tls_listen") {
		t.Errorf("http.tls_listen without a certificate: %v", err)
	}
}
