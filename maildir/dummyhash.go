package maildir

import (
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// newDummyHash makes the hash that logins to unknown accounts are
// verified against (dummyVerify), so that they cost what a wrong password
// costs. Only its parameters matter, not what it hashes: it is written
// with the cost of a real hash (hashPassword's) and random salt and key,
// rather than computed, so that opening the store does not spend one
// argon2id computation (tens of milliseconds of the time to ready).
// Verifying against it runs argon2id with exactly those parameters
// (TestDummyHashCost).
func (s *Store) newDummyHash() (string, error) {
	t, m := uint32(argonTime), uint32(argonMemory)
	if s.opts.cheapHash {
		t, m = 1, 64
	}
	salt, key := make([]byte, 16), make([]byte, argonKeyLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("maildir: salt: %w", err)
	}
	rand.Read(key)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, m, t, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}
