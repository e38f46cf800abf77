// Package testcert makes throwaway TLS material for tests: a self-signed
// ECDSA P-256 certificate valid for 127.0.0.1, ::1 and localhost, with a
// server config presenting it and a client config trusting exactly it.
//
// Every call generates a fresh key, so tests may run in parallel without
// sharing state; there is no package-level cache.
package testcert
