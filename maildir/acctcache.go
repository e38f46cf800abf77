package maildir

import "sync"

// accountCache remembers account lookups (RCPT time asks for the same
// few accounts over and over; each was a SQLite query). Entries are
// tagged with the GuardVersion they were read under: every creation and
// deletion of an account, in this process or another, moves that
// version, and a lookup under a new version starts from an empty cache.
// A lookup that raced a change is therefore cached under the version read
// before it, which the change has already moved past: never served again.
type accountCache struct {
	mu      sync.Mutex
	version int64
	byAddr  map[string]cachedAccount
}

type cachedAccount struct {
	acct  Account
	found bool
}

// accountCacheMax bounds the cache (unknown addresses are cached too, and
// a client may try many): when full it starts over.
const accountCacheMax = 4096

func (c *accountCache) get(version int64, addr string) (cachedAccount, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version != version {
		return cachedAccount{}, false
	}
	e, ok := c.byAddr[addr]
	return e, ok
}

func (c *accountCache) put(version int64, addr string, e cachedAccount) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version != version || c.byAddr == nil || len(c.byAddr) >= accountCacheMax {
		if version < c.version {
			return // a newer version is already cached
		}
		c.version = version
		c.byAddr = make(map[string]cachedAccount)
	}
	c.byAddr[addr] = e
}
