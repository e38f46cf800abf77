package imap

import (
	"testing"
)

// TestParseCacheBytes: the cache never holds more than its byte bound,
// evicting the least recently used entries, and does not keep an entry
// larger than an eighth of the bound at all.
func TestParseCacheBytes(t *testing.T) {
	c := newParseCache(1000, 8000)
	k := func(uid uint32) cacheKey { return cacheKey{acct: 1, folder: "INBOX", uidValidity: 7, uid: uid} }
	for uid := uint32(1); uid <= 20; uid++ {
		c.put(k(uid), &parsed{size: 900})
		if _, b := c.usage(); b > 8000 {
			t.Fatalf("after %d puts the cache holds %d bytes, bound 8000", uid, b)
		}
	}
	if n, _ := c.usage(); n != 8 {
		t.Errorf("%d entries of 900 bytes under a bound of 8000, want 8", n)
	}
	if c.get(k(20)) == nil || c.get(k(12)) != nil {
		t.Error("not the most recent entries kept")
	}
	c.put(k(99), &parsed{size: 1001})
	if c.get(k(99)) != nil {
		t.Error("an entry over an eighth of the bound was kept")
	}
}

// TestFootprintGrowsWithStructure: the estimate follows what a message
// holds, so a many-part message counts for more than a plain one.
func TestFootprintGrowsWithStructure(t *testing.T) {
	small := parseMessage(crlf("Subject: hi\n\nbody\n"))
	big := parseMessage(hostileMessages(64 << 10)["many-parts"])
	if small.size <= 0 || small.size > 4096 {
		t.Errorf("plain message estimated at %d bytes", small.size)
	}
	if big.size < 100*small.size {
		t.Errorf("many-part message %d bytes, plain %d", big.size, small.size)
	}
}
