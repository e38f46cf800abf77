package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// pair is one generated certificate with its key, in both DER and PEM.
type pair struct {
	leaf    *x509.Certificate
	tlsCert tls.Certificate
	certPEM []byte
	keyPEM  []byte
}

func generate(t testing.TB) pair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testcert: generate key: %v", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatalf("testcert: serial: %v", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"immp test"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("testcert: create certificate: %v", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("testcert: parse certificate: %v", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("testcert: marshal key: %v", err)
	}
	return pair{
		leaf:    leaf,
		tlsCert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
}

// New returns a server config presenting a fresh self-signed certificate
// for 127.0.0.1/::1/localhost and a client config that trusts only that
// certificate (ServerName "localhost", so it verifies when dialling either
// the name or the loopback addresses).
func New(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	p := generate(t)
	pool := x509.NewCertPool()
	pool.AddCert(p.leaf)
	server = &tls.Config{
		Certificates: []tls.Certificate{p.tlsCert},
		MinVersion:   tls.VersionTLS12,
	}
	client = &tls.Config{
		RootCAs:    pool,
		ServerName: "localhost",
		MinVersion: tls.VersionTLS12,
	}
	return server, client
}

// Write generates a fresh certificate and writes it as PEM files
// (cert.pem, key.pem, mode 0600 for the key) into dir, for tests of
// config loading. It returns the two paths.
func Write(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	p := generate(t)
	certFile = filepath.Join(dir, "cert.pem")
	keyFile = filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, p.certPEM, 0o644); err != nil {
		t.Fatalf("testcert: %v", err)
	}
	if err := os.WriteFile(keyFile, p.keyPEM, 0o600); err != nil {
		t.Fatalf("testcert: %v", err)
	}
	return certFile, keyFile
}

// ClientConfig returns a client config trusting the certificate in
// certFile (as written by Write), for tests that start a server from files.
func ClientConfig(t testing.TB, certFile string) *tls.Config {
	t.Helper()
	b, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatalf("testcert: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("testcert: no certificate in %s", filepath.Base(certFile))
	}
	return &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
}
