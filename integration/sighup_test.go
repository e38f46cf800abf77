package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// writeCertPair writes a self-signed certificate for mx.test with the
// given common name (to tell two apart) to certFile and keyFile.
func writeCertPair(t *testing.T, cn, certFile, keyFile string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"mx.test"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(priv)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
}

func servedCN(t *testing.T, addr string) string {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{InsecureSkipVerify: true, ServerName: "mx.test"}) //nolint:gosec // reading the served certificate
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// TestSIGHUPReloadsCertificateFiles: "kill -HUP" makes the running binary
// serve the replaced [tls] cert and key at once, even when the copy kept
// the old modification time, and the process stays up.
func TestSIGHUPReloadsCertificateFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCertPair(t, "first", certFile, keyFile)
	fi, err := os.Stat(certFile)
	if err != nil {
		t.Fatal(err)
	}
	imaps := freePort(t)
	s := startServer(t, serverOptions{
		tables: map[string]string{"imap": fmt.Sprintf("tls_listen = %q\n", imaps)},
		extra:  fmt.Sprintf("[tls]\ncert = %q\nkey = %q\n", certFile, keyFile),
	})
	if got := servedCN(t, imaps); got != "first" {
		t.Fatalf("before: %q", got)
	}
	writeCertPair(t, "second", certFile, keyFile)
	for _, f := range []string{certFile, keyFile} {
		os.Chtimes(f, fi.ModTime(), fi.ModTime())
	}
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for servedCN(t, imaps) != "second" {
		if time.Now().After(deadline) {
			t.Fatalf("not reloaded 5s after SIGHUP; log:\n%s", s.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case err := <-s.done:
		t.Fatalf("immp exited on SIGHUP: %v", err)
	default:
	}
}
