package maildir

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Password hashes are PHC strings: "$argon2id$v=19$m=19456,t=2,p=1$salt$key"
// (OWASP's argon2id minimum). bcrypt hashes ("$2a$", "$2b$", "$2y$") are
// accepted too, for imported accounts.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

var b64 = base64.RawStdEncoding

// hashGate bounds the password hash computations running at once: each
// argon2id run holds its whole memory cost (19 MiB at the default
// parameters) until it ends, so n of them bound the memory that logins
// can take, whatever the number of clients. A caller that cannot get a
// slot within wait gets ErrAuthBusy, a temporary failure, rather than
// queueing without end behind a flood of guesses.
type hashGate struct {
	slots chan struct{}
	wait  time.Duration
	runs  atomic.Int64 // computations made, for tests
}

func newHashGate(n int, wait time.Duration) *hashGate {
	return &hashGate{slots: make(chan struct{}, n), wait: wait}
}

// run calls fn once a slot is free, or returns ErrAuthBusy after wait, or
// ctx's error. Waiters are served in arrival order (a channel's blocked
// senders queue in order).
func (g *hashGate) run(ctx context.Context, fn func()) error {
	select {
	case g.slots <- struct{}{}:
	default:
		t := time.NewTimer(g.wait)
		defer t.Stop()
		select {
		case g.slots <- struct{}{}:
		case <-t.C:
			return ErrAuthBusy
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() { <-g.slots }()
	g.runs.Add(1)
	fn()
	return nil
}

// hashPassword hashes pw for storage, through the gate.
func (s *Store) hashPassword(ctx context.Context, pw string) (string, error) {
	t, m := uint32(argonTime), uint32(argonMemory)
	if s.opts.cheapHash {
		t, m = 1, 64
	}
	var h string
	var herr error
	if err := s.hashers.run(ctx, func() { h, herr = hashPasswordCost(pw, t, m) }); err != nil {
		return "", err
	}
	return h, herr
}

// verifyPassword checks pw against a stored hash, through the gate. Its
// error is the gate's (ErrAuthBusy, ctx's) or errBadHash.
func (s *Store) verifyPassword(ctx context.Context, hash, pw string) (bool, error) {
	var ok bool
	var verr error
	if err := s.hashers.run(ctx, func() { ok, verr = checkPassword(hash, pw) }); err != nil {
		return false, err
	}
	return ok, verr
}

func hashPasswordCost(pw string, t, m uint32) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("maildir: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, t, m, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, m, t, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("maildir: unrecognised password hash")

// checkPassword compares in constant time (for a given hash).
func checkPassword(hash, pw string) (bool, error) {
	if strings.HasPrefix(hash, "$2") {
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("%w: %w", errBadHash, err)
		}
		return true, nil
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var v int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<22 {
		return false, errBadHash
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) == 0 || len(key) > 128 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}
