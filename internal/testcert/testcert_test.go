package testcert

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
)

// handshake runs one TLS handshake over loopback and returns what the
// server side read.
func handshake(t *testing.T, srv, cli *tls.Config, dial string) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		got <- string(b)
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	c, err := tls.Dial("tcp", net.JoinHostPort(dial, port), cli)
	if err != nil {
		t.Fatalf("dial %s: %v", dial, err)
	}
	c.Write([]byte("hello"))
	c.Close()
	return <-got
}

func TestNewHandshake(t *testing.T) {
	t.Parallel()
	srv, cli := New(t)
	if got := handshake(t, srv, cli, "127.0.0.1"); got != "hello" {
		t.Fatalf("server read %q", got)
	}
	// Verification must hold for the IP too, not only the ServerName.
	c := cli.Clone()
	c.ServerName = "127.0.0.1"
	if got := handshake(t, srv, c, "127.0.0.1"); got != "hello" {
		t.Fatalf("server read %q", got)
	}
}

func TestOtherCertNotTrusted(t *testing.T) {
	t.Parallel()
	srv, _ := New(t)
	_, cli := New(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	if c, err := tls.Dial("tcp", ln.Addr().String(), cli); err == nil {
		c.Close()
		t.Fatal("handshake with an unrelated certificate succeeded")
	}
}

func TestWrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := Write(t, dir)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := &tls.Config{Certificates: []tls.Certificate{cert}}
	if got := handshake(t, srv, ClientConfig(t, certFile), "localhost"); got != "hello" {
		t.Fatalf("server read %q", got)
	}
}
