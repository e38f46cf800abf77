package main

import (
	"crypto/tls"
	"net"
)

// tlsClient accepts the test server's self-signed certificate.
func tlsClient(c net.Conn) *tls.Conn {
	return tls.Client(c, &tls.Config{InsecureSkipVerify: true, ServerName: "mx.test"}) //nolint:gosec // self-signed test certificate
}
