// Package examples shows immp as an integration test bed from a Go test
// (signup_test.go, with package immptest) and from other languages over
// the HTTP API (api.py with Python's standard library, api.sh with sh and
// curl); snippets_test.go runs both snippets against a started server,
// so they are checked in CI like any test.
package examples
