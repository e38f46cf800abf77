package maildir

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"sync"
	"time"
)

// authCache remembers passwords verified lately, so that a returning
// client (IMAP clients log in on every connection, several at once) skips
// argon2id, as Dovecot's auth cache does (auth_cache_ttl).
//
// An entry is keyed by HMAC-SHA256, under a key drawn at random when the
// store opens and never written anywhere, of the canonical address and
// the password: the password itself is never kept, and the key dies with
// the process. The entry holds the stored hash the password was verified
// against. A hit needs all of: the same address and password, the account
// row read for this very login still holding that hash (a salted hash
// differs whenever it is made anew), and an age below the TTL. So a password change
// (another salt, another hash) or a deletion, by this process or by the
// CLI in another one, ends the entry's use at the next login, without any
// message between processes. Only successes are cached: a wrong password
// never hits and never makes an entry.
//
// Memory is bounded: at most max entries; a full cache drops expired
// entries, then the oldest. An entry is never refreshed by a hit, so no
// verifier outlives the TTL: what a memory dump of the process could be
// used to test guesses against at hash speed is limited to the logins of
// the last TTL.
type authCache struct {
	key [32]byte
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[[sha256.Size]byte]authEntry
}

type authEntry struct {
	hash    string // the stored hash the password matched
	expires time.Time
}

// defaultAuthCacheTTL is Dovecot's auth_cache_ttl default. It is safe to
// be that long because every hit is checked against the account's current
// hash; the TTL bounds only how long a verifier stays in memory.
const defaultAuthCacheTTL = time.Hour

// authCacheMax bounds the entries: only successful logins make one, so
// this is the number of accounts (times passwords) active within the TTL
// that are served without argon2id. An entry is about 200 bytes.
const authCacheMax = 10000

// newAuthCache returns a cache for ttl, or nil (no caching) when ttl < 0.
func newAuthCache(ttl time.Duration, max int) (*authCache, error) {
	if ttl < 0 {
		return nil, nil
	}
	if ttl == 0 {
		ttl = defaultAuthCacheTTL
	}
	c := &authCache{ttl: ttl, max: max, now: time.Now, m: make(map[[sha256.Size]byte]authEntry)}
	if _, err := rand.Read(c.key[:]); err != nil {
		return nil, fmt.Errorf("maildir: auth cache key: %w", err)
	}
	return c, nil
}

func (c *authCache) mac(addr, pw string) [sha256.Size]byte {
	h := hmac.New(sha256.New, c.key[:])
	h.Write([]byte(addr))
	h.Write([]byte{0}) // addresses hold no NUL (CanonicalAddress)
	h.Write([]byte(pw))
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// hit reports whether addr and pw were verified within the TTL against
// the stored hash that the login has just read. A nil cache never hits.
func (c *authCache) hit(addr, pw, hash string) bool {
	if c == nil {
		return false
	}
	k := c.mac(addr, pw)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return false
	}
	if subtle.ConstantTimeCompare([]byte(e.hash), []byte(hash)) != 1 || !now.Before(e.expires) {
		delete(c.m, k) // stale for good: the hash changed, or it expired
		return false
	}
	return true
}

// put records a successful verification of pw against hash.
func (c *authCache) put(addr, pw, hash string) {
	if c == nil {
		return
	}
	k := c.mac(addr, pw)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		c.makeRoom(now)
	}
	c.m[k] = authEntry{hash: hash, expires: now.Add(c.ttl)}
}

// makeRoom drops every expired entry and, if none was, the oldest. Puts
// come only from successful argon2id checks, which the hash gate already
// limits to a few dozen a second, so the scan is cheap enough.
func (c *authCache) makeRoom(now time.Time) {
	var oldest [sha256.Size]byte
	var oldestAt time.Time
	freed := false
	for k, e := range c.m {
		if !now.Before(e.expires) {
			delete(c.m, k)
			freed = true
		} else if oldestAt.IsZero() || e.expires.Before(oldestAt) {
			oldest, oldestAt = k, e.expires
		}
	}
	if !freed && !oldestAt.IsZero() {
		delete(c.m, oldest)
	}
}

// len is the number of entries (tests).
func (c *authCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
