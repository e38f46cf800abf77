package throttle

import "time"

// entry is what a table keeps per key: recent failures and, for client
// addresses, which account they were against.
type entry struct {
	failures int
	last     time.Time // last failure (or, in the trusted table, last success)
	account  string    // the one account all failures were against ("" none yet)
	mixed    bool      // failures were against more than one account
}

// table is a bounded map of entries that expire after forget without an
// update. It is not safe for concurrent use; the Limiter's mutex guards it.
type table[K comparable] struct {
	forget    time.Duration
	max       int
	m         map[K]entry
	lastPrune time.Time
}

func newTable[K comparable](forget time.Duration, max int) table[K] {
	return table[K]{forget: forget, max: max, m: make(map[K]entry)}
}

// get returns k's entry if it is still live at now.
func (t *table[K]) get(k K, now time.Time) (entry, bool) {
	e, ok := t.m[k]
	if !ok || now.Sub(e.last) >= t.forget {
		return entry{}, false
	}
	return e, true
}

// put stores e under k, making room first when k is new and the table full.
func (t *table[K]) put(k K, e entry, now time.Time) {
	if _, ok := t.m[k]; !ok && len(t.m) >= t.max {
		t.makeRoom(now)
	}
	t.m[k] = e
}

func (t *table[K]) del(k K) { delete(t.m, k) }

// makeRoom frees at least one slot. The full scan for expired keys runs at
// most once per second, so a flood of new keys costs O(1) each (random
// eviction via map iteration order) rather than O(n).
func (t *table[K]) makeRoom(now time.Time) {
	if now.Sub(t.lastPrune) >= time.Second || now.Before(t.lastPrune) {
		t.lastPrune = now
		for k, e := range t.m {
			if now.Sub(e.last) >= t.forget {
				delete(t.m, k)
			}
		}
	}
	for k := range t.m {
		if len(t.m) < t.max {
			break
		}
		delete(t.m, k)
	}
}
