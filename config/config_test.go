package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const minimal = `
data_dir = "/srv/immp"
domains = ["example.org"]
`

func TestLoadMinimalIsAllOff(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(minimal), "immp.toml")
	if err != nil {
		t.Fatal(err)
	}
	if l := c.Listeners(); len(l) != 0 {
		t.Errorf("listeners on without keys: %v", l)
	}
	if c.Accounts.AutoCreate {
		t.Error("auto_create on by default in a file")
	}
	if c.SMTP.MaxMessageBytes != 25<<20 || c.SMTP.ReadTimeout != Duration(5*time.Minute) ||
		c.IMMP.IdleTimeout != Duration(30*time.Minute) || !c.Delivery.PlusSubinbox ||
		c.Log.Format != "text" || c.Log.Level != "info" || c.ShutdownGrace != Duration(30*time.Second) ||
		c.Accounts.AuthCacheTTL != Duration(time.Hour) {
		t.Errorf("defaults not applied: %+v", c)
	}
	if c.Hostname == "" {
		t.Error("hostname not filled in")
	}
}

func TestLoadEveryKey(t *testing.T) {
	t.Parallel()
	cert, key := writeCert(t)
	src := `
hostname = "mx.test"
data_dir = "d"
domains = ["a.test", "b.test"]
shutdown_grace = "5s"
[smtp]
listen = "127.0.0.1:2525"
max_message_bytes = "10MiB"
max_recipients = 7
read_timeout = "90s"
data_timeout = "20m"
max_conns_per_ip = -1
postmaster = "Ops@B.test"
[submission]
listen = "127.0.0.1:2587"
[imap]
listen = "127.0.0.1:2143"
tls_listen = "127.0.0.1:2993"
[immp]
listen = "127.0.0.1:2323"
tls_listen = "127.0.0.1:2324"
trusted_networks = ["10.0.0.0/8", "192.0.2.7"]
idle_timeout = "1h"
[http]
listen = "127.0.0.1:0"
[tls]
cert = "` + cert + `"
key = "` + key + `"
[accounts]
auto_create = true
auth_cache_ttl = "0s"
[delivery]
plus_subinbox = false
[auth]
allow_insecure = true
[log]
format = "json"
level = "debug"
`
	c, err := Parse([]byte(src), "x.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTP.MaxMessageBytes != 10<<20 || c.SMTP.MaxRecipients != 7 || c.SMTP.ReadTimeout != Duration(90*time.Second) || c.SMTP.DataTimeout != Duration(20*time.Minute) ||
		c.SMTP.MaxConnsPerIP != -1 || c.SMTP.Postmaster != "Ops@B.test" || c.IMMP.IdleTimeout != Duration(time.Hour) || c.Delivery.PlusSubinbox ||
		!c.Auth.AllowInsecure || !c.Accounts.AutoCreate || c.Log.Format != "json" || c.ShutdownGrace != Duration(5*time.Second) ||
		c.Accounts.AuthCacheTTL != 0 {
		t.Errorf("decoded %+v", c)
	}
	if got := len(c.Listeners()); got != 7 {
		t.Errorf("%d listeners, want 7", got)
	}
	p, err := c.TrustedPrefixes()
	if err != nil || len(p) != 2 || p[1].String() != "192.0.2.7/32" {
		t.Errorf("trusted networks %v %v", p, err)
	}
}

// TestErrorsNameTheKey covers every error path: each must name its key.
func TestErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	cert, key := writeCert(t)
	missing := filepath.Join(t.TempDir(), "nope.pem")
	cases := []struct {
		name, src, key string
		line           int
	}{
		{"unknown top key", minimal + "colour = 1\n", "colour", 4},
		{"unknown section key", minimal + "[smtp]\nlisten = \":25\"\nlsten = \":26\"\n", "smtp.lsten", 6},
		{"unknown section", minimal + "[pop3]\nlisten = \":110\"\n", "pop3", 0},
		{"wrong type", minimal + "[smtp]\nmax_recipients = \"many\"\n", "smtp.max_recipients", 0},
		{"bad duration", minimal + "[smtp]\nread_timeout = \"soon\"\n", "smtp.read_timeout", 0},
		{"bad size", minimal + "[smtp]\nmax_message_bytes = \"big\"\n", "smtp.max_message_bytes", 0},
		{"toml syntax", minimal + "[smtp\n", "", 4},
		{"no data_dir", "domains = [\"a.test\"]\n", "data_dir", 0},
		{"no domains", "data_dir = \"d\"\n", "domains", 0},
		{"empty domains", "data_dir = \"d\"\ndomains = []\n", "domains", 2},
		{"bad domain", "data_dir = \"d\"\ndomains = [\"a b\"]\n", "domains", 2},
		{"duplicate domain", "data_dir = \"d\"\ndomains = [\"a.test\", \"A.test\"]\n", "domains", 2},
		{"bad hostname", minimal + "hostname = \"a b\"\n", "hostname", 4},
		{"negative grace", minimal + "shutdown_grace = \"-1s\"\n", "shutdown_grace", 4},
		{"bad listen", minimal + "[imap]\nlisten = \"143\"\n", "imap.listen", 5},
		{"bad port", minimal + "[imap]\nlisten = \":99999\"\n", "imap.listen", 5},
		{"duplicate listen", minimal + "[smtp]\nlisten = \"127.0.0.1:2525\"\n[imap]\nlisten = \"127.0.0.1:2525\"\n", "imap.listen", 7},
		{"duplicate with wildcard", minimal + "[smtp]\nlisten = \":2525\"\n[http]\nlisten = \"127.0.0.1:2525\"\n", "http.listen", 7},
		{"imap tls_listen without tls", minimal + "[imap]\ntls_listen = \":993\"\n", "imap.tls_listen", 5},
		{"immp tls_listen without tls", minimal + "[immp]\ntls_listen = \":3324\"\n", "immp.tls_listen", 5},
		{"cert without key", minimal + "[tls]\ncert = \"" + cert + "\"\n", "tls.key", 0},
		{"key without cert", minimal + "[tls]\nkey = \"" + key + "\"\n", "tls.cert", 0},
		{"missing cert file", minimal + "[tls]\ncert = \"" + missing + "\"\nkey = \"" + key + "\"\n", "tls.cert", 5},
		{"missing key file", minimal + "[tls]\ncert = \"" + cert + "\"\nkey = \"" + missing + "\"\n", "tls.key", 6},
		{"cert is not a cert", minimal + "[tls]\ncert = \"" + key + "\"\nkey = \"" + key + "\"\n", "tls.cert", 5},
		{"self_signed with files", minimal + "[tls]\ncert = \"" + cert + "\"\nkey = \"" + key + "\"\nself_signed = true\n", "tls.self_signed", 7},
		{"zero size", minimal + "[smtp]\nmax_message_bytes = \"0B\"\n", "smtp.max_message_bytes", 5},
		{"zero recipients", minimal + "[smtp]\nmax_recipients = 0\n", "smtp.max_recipients", 5},
		{"zero read timeout", minimal + "[smtp]\nread_timeout = \"0s\"\n", "smtp.read_timeout", 5},
		{"negative auth cache ttl", minimal + "[accounts]\nauth_cache_ttl = \"-1m\"\n", "accounts.auth_cache_ttl", 5},
		{"zero data timeout", minimal + "[smtp]\ndata_timeout = \"0s\"\n", "smtp.data_timeout", 5},
		{"bad data timeout", minimal + "[smtp]\ndata_timeout = \"long\"\n", "smtp.data_timeout", 0},
		{"zero conns", minimal + "[smtp]\nmax_conns_per_ip = 0\n", "smtp.max_conns_per_ip", 5},
		{"zero imap conns", minimal + "[imap]\nmax_conns_per_ip = 0\n", "imap.max_conns_per_ip", 5},
		{"negative immp conns", minimal + "[immp]\nmax_conns_per_ip = -2\n", "immp.max_conns_per_ip", 5},
		{"idle below 30m", minimal + "[immp]\nidle_timeout = \"29m\"\n", "immp.idle_timeout", 5},
		{"zero preauth timeout", minimal + "[immp]\npreauth_timeout = \"0s\"\n", "immp.preauth_timeout", 5},
		{"preauth over idle", minimal + "[immp]\npreauth_timeout = \"2h\"\n", "immp.preauth_timeout", 5},
		{"zero smtp max_conns", minimal + "[smtp]\nmax_conns = 0\n", "smtp.max_conns", 5},
		{"zero submission max_conns_per_ip", minimal + "[submission]\nmax_conns_per_ip = 0\n", "submission.max_conns_per_ip", 5},
		{"negative submission max_conns", minimal + "[submission]\nmax_conns = -3\n", "submission.max_conns", 5},
		{"zero imap max_conns", minimal + "[imap]\nmax_conns = 0\n", "imap.max_conns", 5},
		{"zero immp max_conns", minimal + "[immp]\nmax_conns = 0\n", "immp.max_conns", 5},
		{"zero http max_conns", minimal + "[http]\nmax_conns = 0\n", "http.max_conns", 5},
		{"zero http max_conns_per_ip", minimal + "[http]\nmax_conns_per_ip = 0\n", "http.max_conns_per_ip", 5},
		{"bad CIDR", minimal + "[immp]\ntrusted_networks = [\"10.0.0.0/33\"]\n", "immp.trusted_networks", 5},
		{"negative quota", minimal + "[accounts]\nquota = \"-1\"\n", "accounts.quota", 0},
		{"bad quota", minimal + "[accounts]\nquota = \"lots\"\n", "accounts.quota", 0},
		{"bad log format", minimal + "[log]\nformat = \"xml\"\n", "log.format", 5},
		{"bad log level", minimal + "[log]\nlevel = \"loud\"\n", "log.level", 5},
		{"postmaster not an address", minimal + "[smtp]\npostmaster = \"ops\"\n", "smtp.postmaster", 5},
		{"postmaster with plus", minimal + "[smtp]\npostmaster = \"ops+x@example.org\"\n", "smtp.postmaster", 5},
		{"postmaster elsewhere", minimal + "[smtp]\npostmaster = \"ops@elsewhere.test\"\n", "smtp.postmaster", 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(c.src), "immp.toml")
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want *Error", err)
			}
			if ce.Key != c.key {
				t.Errorf("key %q, want %q (%v)", ce.Key, c.key, err)
			}
			if c.key != "" && !strings.Contains(err.Error(), c.key) {
				t.Errorf("message %q does not name %q", err, c.key)
			}
			if c.line != 0 && ce.Line != c.line {
				t.Errorf("line %d, want %d (%v)", ce.Line, c.line, err)
			}
			if !strings.HasPrefix(err.Error(), "immp.toml") {
				t.Errorf("message %q does not name the file", err)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "none.toml"))
	if err == nil || !strings.Contains(err.Error(), "none.toml") {
		t.Errorf("got %v", err)
	}
}

// TestExampleRoundTrip: what "immp config example" prints loads, and gives
// back exactly ExampleConfig.
func TestExampleRoundTrip(t *testing.T) {
	t.Parallel()
	ex := Example()
	c, err := Parse([]byte(ex), "example")
	if err != nil {
		t.Fatalf("example does not load: %v\n%s", err, ex)
	}
	want := ExampleConfig()
	if err := want.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, w := renderPlain(c), renderPlain(want); got != w {
		t.Errorf("round trip differs:\n%s\nwant\n%s", got, w)
	}
	for _, port := range []string{`":25"`, `":587"`, `":143"`, `":993"`, `":323"`} {
		if !strings.Contains(ex, port) {
			t.Errorf("example lacks standard port %s", port)
		}
	}
}

// TestExampleHasEveryKey walks the struct: every field has a doc tag and
// appears in the example.
func TestExampleHasEveryKey(t *testing.T) {
	t.Parallel()
	ex := Example()
	for _, k := range allKeys() {
		if k.doc == "" {
			t.Errorf("%s has no doc tag", k.key)
		}
		if lineOf([]byte(ex), k.key) == 0 && !strings.Contains(ex, "["+k.key+"]") {
			t.Errorf("example lacks %s", k.key)
		}
	}
}

func TestDefaultIsValidTestBed(t *testing.T) {
	t.Parallel()
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"smtp.listen": "127.0.0.1:3025", "submission.listen": "127.0.0.1:3587",
		"imap.listen": "127.0.0.1:3143", "imap.tls_listen": "127.0.0.1:3993",
		"immp.listen": "127.0.0.1:3323", "immp.tls_listen": "127.0.0.1:3324",
		"http.listen": "127.0.0.1:3880",
	}
	for _, l := range c.Listeners() {
		if want[l.Key] != l.Addr {
			t.Errorf("%s = %s, want %s", l.Key, l.Addr, want[l.Key])
		}
		delete(want, l.Key)
	}
	if len(want) != 0 {
		t.Errorf("missing listeners %v", want)
	}
	if !c.Accounts.AutoCreate || c.DataDir != "immp-data" || c.Domains[0] != "localhost" || !c.TLS.SelfSigned {
		t.Errorf("default %+v", c)
	}
}

func TestSizesAndDurations(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Size{"25MiB": 25 << 20, "512KiB": 512 << 10, "1GiB": 1 << 30, "10 MB": 10e6, "1024": 1024, "7B": 7, "3kB": 3000} {
		var s Size
		if err := s.UnmarshalText([]byte(in)); err != nil || s != want {
			t.Errorf("size %q = %d, %v; want %d", in, s, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1MiB", "1.5MiB", "1TiB", "99999999999GiB"} {
		var s Size
		if err := s.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("size %q accepted as %d", in, s)
		}
	}
	for in, want := range map[Size]string{25 << 20: "25MiB", 1 << 30: "1GiB", 1000: "1000B", 2048: "2KiB", 0: "0B"} {
		if got := in.String(); got != want {
			t.Errorf("Size(%d) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[Duration]string{Duration(30 * time.Minute): "30m", Duration(time.Hour): "1h", Duration(90 * time.Second): "1m30s", Duration(5 * time.Second): "5s"} {
		if got := in.String(); got != want {
			t.Errorf("Duration %v = %q, want %q", time.Duration(in), got, want)
		}
	}
	var d Duration
	if err := d.UnmarshalText([]byte("1x")); err == nil {
		t.Error("duration 1x accepted")
	}
}

// renderPlain prints a Config without docs, for comparisons.
func renderPlain(c Config) string {
	var b strings.Builder
	for _, k := range allKeys() {
		b.WriteString(k.key + "=" + tomlValue(k.value(c)) + "\n")
	}
	return b.String()
}

func writeCert(t *testing.T) (certPath, keyPath string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"mx.test"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certPath, keyPath
}

// TestREADMEConfigReference: the README's configuration reference is
// exactly what Example prints.
func TestREADMEConfigReference(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin = "<!-- BEGIN immp config example: generated, do not edit -->\n```toml\n"
	const end = "```\n<!-- END immp config example -->"
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("README.md lacks the generated config block markers")
	}
	if got := s[i+len(begin) : j]; got != Example() {
		t.Error("README.md's configuration reference differs from \"immp config example\"; paste its output between the markers")
	}
}
