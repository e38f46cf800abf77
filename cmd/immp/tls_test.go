package main

import (
	"crypto/tls"
	"crypto/x509"
	"net"
)

// tlsClient accepts the test server's self-signed certificate.
func tlsClient(c net.Conn) *tls.Conn {
	return tls.Client(c, &tls.Config{InsecureSkipVerify: true, ServerName: "mx.test"}) //nolint:gosec // self-signed test certificate
}

func parseLeaf(c *tls.Certificate) (string, error) {
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return "", err
	}
	return leaf.Subject.CommonName, nil
}
