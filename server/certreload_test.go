package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestCertReload: replacing the certificate files (as a renewal does) is
// picked up at the next check; a broken replacement keeps the old one.
func TestCertReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := selfSignedFiles(t, dir, "one.test")
	r, err := newCertReloader(certFile, keyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r.checkEvery = 0 // check on every handshake
	if got := leafName(t, r); got != "one.test" {
		t.Fatalf("first certificate for %q", got)
	}

	// A broken renewal: the old certificate stays.
	os.WriteFile(certFile, []byte("garbage"), 0o600)
	bump(t, certFile, 10*time.Second)
	if got := leafName(t, r); got != "one.test" {
		t.Errorf("after a broken renewal: %q", got)
	}

	// A good renewal: the new certificate is served.
	replaceSelfSigned(t, certFile, keyFile, "two.test")
	bump(t, certFile, 20*time.Second)
	bump(t, keyFile, 20*time.Second)
	if got := leafName(t, r); got != "two.test" {
		t.Errorf("after renewal: %q", got)
	}
}

// bump moves a file's mtime forward, since a fast test may rewrite it
// within the filesystem's timestamp granularity.
func bump(t *testing.T, path string, d time.Duration) {
	t.Helper()
	future := time.Now().Add(d)
	if err := os.Chtimes(path, future, future); err != nil {
		t.Fatal(err)
	}
}

func leafName(t *testing.T, r *certReloader) string {
	t.Helper()
	c, err := r.getCertificate(&tls.ClientHelloInfo{})
	if err != nil || len(c.Certificate) == 0 {
		t.Fatalf("getCertificate: %v", err)
	}
	leaf, err := parseLeaf(c)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func parseLeaf(c *tls.Certificate) (string, error) {
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return "", err
	}
	return leaf.Subject.CommonName, nil
}

// TestCertificateExpiryMetric: /metrics tells when the served certificate
// expires, from the files, and follows a replacement of them.
func TestCertificateExpiryMetric(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := selfSignedFiles(t, dir, "mx.test")
	reload := make(chan struct{}, 1)
	d := startTestServer(t, fmt.Sprintf(`hostname = "mx.test"
data_dir = %q
domains = ["example.org"]
[tls]
cert = %q
key = %q
[imap]
tls_listen = "127.0.0.1:0"
[http]
listen = "127.0.0.1:0"
`, filepath.Join(dir, "data"), certFile, keyFile), reload)
	expiry := func() string {
		t.Helper()
		resp, err := http.Get("http://" + d.Addr("http.listen") + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`(?m)^immp_tls_certificate_expiry_timestamp_seconds\{name="([^"]+)",source="file"\} (\S+)$`).FindStringSubmatch(string(b))
		if m == nil {
			t.Fatalf("no expiry metric for the file certificate in:\n%s", b)
		}
		return m[1] + " " + m[2]
	}
	leaf := func() *x509.Certificate {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		return pair.Leaf
	}
	want := func() string {
		l := leaf()
		return fmt.Sprintf("%s %g", l.DNSNames[0], float64(l.NotAfter.Unix()))
	}
	if got, w := expiry(), want(); got != w {
		t.Fatalf("metric %q, want %q", got, w)
	}
	// A replacement (another name, so another certificate) read on SIGHUP.
	replaceSelfSigned(t, certFile, keyFile, "mail.test")
	reload <- struct{}{}
	w := want()
	for deadline := time.Now().Add(10 * time.Second); expiry() != w; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after the replacement: metric %q, want %q", expiry(), w)
		}
	}
}
