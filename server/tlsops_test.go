package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/config"
)

// startTestServer starts a server from TOML text (listeners on
// 127.0.0.1:0) and runs it until the test ends.
// selfSignedFiles writes a self-signed certificate for name and its key
// as dir/c.pem and dir/k.pem.
func selfSignedFiles(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	replaceSelfSigned(t, certFile, keyFile, name)
	return certFile, keyFile
}

// replaceSelfSigned writes a new self-signed certificate for name and its
// key over certFile and keyFile.
func replaceSelfSigned(t *testing.T, certFile, keyFile, name string) {
	t.Helper()
	os.Remove(certFile)
	os.Remove(keyFile)
	if err := ensureSelfSigned(name, certFile, keyFile); err != nil {
		t.Fatal(err)
	}
}

func startTestServer(t *testing.T, toml string, reload <-chan struct{}) *Server {
	t.Helper()
	cfg, err := config.Parse([]byte(toml), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := Start(ctx, Options{Config: cfg, Logger: slog.New(slog.DiscardHandler), Reload: reload})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return d
}

// servedName is the CN of the certificate an IMAPS handshake gets.
func servedName(t *testing.T, addr string) string {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{InsecureSkipVerify: true, ServerName: "mx.test"}) //nolint:gosec // reading the served certificate
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// TestSIGHUPReloadsCertificate: a value on Options.Reload (SIGHUP in
// serve) makes the next handshake serve the replaced cert/key files at
// once, even when the copy kept the old modification time (cp -p), which
// the 30-second check alone would never notice.
func TestSIGHUPReloadsCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := selfSignedFiles(t, dir, "one.test")
	fi, err := os.Stat(certFile)
	if err != nil {
		t.Fatal(err)
	}
	reload := make(chan struct{})
	d := startTestServer(t, fmt.Sprintf(`hostname = "mx.test"
data_dir = %q
domains = ["example.org"]
[imap]
tls_listen = "127.0.0.1:0"
[tls]
cert = %q
key = %q
`, filepath.Join(dir, "data"), certFile, keyFile), reload)
	addr := d.Addr("imap.tls_listen")
	if got := servedName(t, addr); got != "one.test" {
		t.Fatalf("before: %q", got)
	}

	replaceSelfSigned(t, certFile, keyFile, "two.test")
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	if got := servedName(t, addr); got != "one.test" {
		t.Fatalf("replaced with the same mtime, before SIGHUP: %q (the reload is not the signal's doing)", got)
	}
	reload <- struct{}{}
	deadline := time.Now().Add(5 * time.Second)
	for servedName(t, addr) != "two.test" {
		if time.Now().After(deadline) {
			t.Fatal("the new certificate is not served 5s after SIGHUP")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A broken pair on SIGHUP: the served one stays.
	os.WriteFile(certFile, []byte("garbage"), 0o600)
	reload <- struct{}{}
	reload <- struct{}{} // the first was handled once the second is taken
	if got := servedName(t, addr); got != "two.test" {
		t.Fatalf("after a broken replacement and SIGHUP: %q", got)
	}
}

// TestACMEHandshakes: with [tls] acme and no certificate yet (the CA
// cannot be reached), an IMAPS client still completes its handshake with
// the interim self-signed certificate, even when it offers ALPN protocol
// names of its own (a config with only acme-tls/1 would refuse it, RFC
// 7301 3.2); a handshake offering only acme-tls/1 is a TLS-ALPN-01
// challenge and never gets the interim certificate.
func TestACMEHandshakes(t *testing.T) {
	t.Parallel()
	// Not t.TempDir: certmagic's background attempt (a job of its own,
	// canceled at Close but not waited for) may still write its lock files
	// under data_dir/acme just after Close; serve exits after Close, so
	// only an in-process test sees this.
	dir, err := os.MkdirTemp("", "immp-acme-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 50 && os.RemoveAll(dir) != nil; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	})
	d := startTestServer(t, fmt.Sprintf(`hostname = "mail.example.org"
data_dir = %q
domains = ["example.org"]
[imap]
tls_listen = "127.0.0.1:0"
[tls]
acme = true
acme_directory = "https://127.0.0.1:1/directory"
acme_listen = "127.0.0.1:1"
`, dir), nil)
	addr := d.Addr("imap.tls_listen")
	dial := func(protos ...string) (*tls.Conn, error) {
		return tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
			&tls.Config{InsecureSkipVerify: true, ServerName: "mail.example.org", NextProtos: protos}) //nolint:gosec // reading the served certificate
	}
	for _, protos := range [][]string{nil, {"imap"}, {"imap", "h2"}} {
		c, err := dial(protos...)
		if err != nil {
			t.Fatalf("client offering %v: %v", protos, err)
		}
		st := c.ConnectionState()
		c.Close()
		if cn := st.PeerCertificates[0].Subject.CommonName; cn != "mail.example.org" || st.PeerCertificates[0].Issuer.CommonName != cn {
			t.Errorf("client offering %v got %q from %q, want the self-signed one", protos, cn, st.PeerCertificates[0].Issuer.CommonName)
		}
	}
	if c, err := dial("acme-tls/1"); err == nil {
		c.Close()
		t.Fatal("an acme-tls/1 handshake without an open challenge succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "tls", "selfsigned.crt")); err != nil {
		t.Errorf("interim certificate: %v", err)
	}
}

// TestHTTPS: http.tls_listen serves the operations endpoint and the
// autoconfig documents over TLS with the shared certificate.
func TestHTTPS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a port free a moment ago, to see it in the document
	if err != nil {
		t.Fatal(err)
	}
	imaps := ln.Addr().String()
	ln.Close()
	d := startTestServer(t, fmt.Sprintf(`hostname = "mx.test"
data_dir = %q
domains = ["example.org"]
[imap]
tls_listen = %q
[http]
tls_listen = "127.0.0.1:0"
[tls]
self_signed = true
`, dir, imaps), nil)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed test certificate
	for _, p := range []string{"/healthz", "/mail/config-v1.1.xml"} {
		resp, err := client.Get("https://" + d.Addr("http.tls_listen") + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.PeerCertificates[0].Subject.CommonName != "mx.test" {
			t.Fatalf("%s: %d %s", p, resp.StatusCode, body)
		}
		_, port, _ := net.SplitHostPort(imaps)
		if p != "/healthz" && !strings.Contains(string(body), "<port>"+port+"</port>") {
			t.Errorf("%s:\n%s", p, body)
		}
	}
}
