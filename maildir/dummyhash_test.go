package maildir

import (
	"context"
	"strings"
	"testing"
)

// TestDummyHashCost: the dummy hash has a real hash's parameters and
// format, so verifying against it costs what a wrong password costs.
func TestDummyHashCost(t *testing.T) {
	s := openStore(t, Options{})
	s.opts.cheapHash = false
	d, err := s.newDummyHash()
	if err != nil {
		t.Fatal(err)
	}
	real, err := hashPasswordCost("x", argonTime, argonMemory)
	if err != nil {
		t.Fatal(err)
	}
	params := func(h string) string { return strings.Join(strings.Split(h, "$")[:4], "$") }
	if params(d) != params(real) || len(d) != len(real) {
		t.Fatalf("dummy %q, real %q", d, real)
	}
	ok, err := checkPassword(d, "anything")
	if ok || err != nil {
		t.Fatalf("verify against the dummy: %v %v", ok, err)
	}
	if _, err := s.verifyPassword(context.Background(), d, "x"); err != nil {
		t.Fatal(err)
	}
}
