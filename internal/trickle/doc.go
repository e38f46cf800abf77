// Package trickle is a test client for the slow-body attack: it sends an
// HTTP request's head at once and its body one octet at a time, so a
// server's time bound on request bodies can be checked over a real
// socket (httpapi, admin, autoconfig). It is imported by tests only.
package trickle
