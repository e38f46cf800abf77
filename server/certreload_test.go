package server

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCertReload: replacing the certificate files (as a renewal does) is
// picked up at the next check; a broken replacement keeps the old one.
func TestCertReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := ensureSelfSigned("one.test", certFile, keyFile); err != nil {
		t.Fatal(err)
	}
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
	os.Remove(certFile)
	os.Remove(keyFile)
	if err := ensureSelfSigned("two.test", certFile, keyFile); err != nil {
		t.Fatal(err)
	}
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
