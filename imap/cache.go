package imap

import (
	"container/list"
	"sync"

	"github.com/emersion/go-imap/v2"
)

type cacheKey struct {
	acct        int64
	folder      string
	uidValidity uint32
	uid         uint32
}

// parseCache is an LRU of parsed messages shared by all sessions, bounded
// both in entries and in the bytes the entries hold (as footprint
// estimates them). An entry larger than an eighth of the byte bound is
// not kept at all: such a message (thousands of parts) is parsed again
// when asked for, which costs time linear in its size, rather than
// pushing out hundreds of ordinary ones.
type parseCache struct {
	maxEntries int
	maxBytes   int64
	mu         sync.Mutex
	bytes      int64
	ll         *list.List
	items      map[cacheKey]*list.Element
}

type cacheEntry struct {
	key cacheKey
	val *parsed
}

func newParseCache(maxEntries int, maxBytes int64) *parseCache {
	return &parseCache{maxEntries: maxEntries, maxBytes: maxBytes, ll: list.New(), items: make(map[cacheKey]*list.Element)}
}

func (c *parseCache) disabled() bool { return c.maxEntries <= 0 || c.maxBytes <= 0 }

func (c *parseCache) get(k cacheKey) *parsed {
	if c.disabled() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*cacheEntry).val
	}
	return nil
}

func (c *parseCache) put(k cacheKey, p *parsed) {
	if c.disabled() || p.size > c.maxBytes/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		ce := e.Value.(*cacheEntry)
		c.bytes += p.size - ce.val.size
		ce.val = p
		c.ll.MoveToFront(e)
	} else {
		c.items[k] = c.ll.PushFront(&cacheEntry{k, p})
		c.bytes += p.size
	}
	for c.ll.Len() > c.maxEntries || c.bytes > c.maxBytes {
		e := c.ll.Back()
		ce := e.Value.(*cacheEntry)
		c.ll.Remove(e)
		delete(c.items, ce.key)
		c.bytes -= ce.val.size
	}
}

// usage reports the entries and estimated bytes held.
func (c *parseCache) usage() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len(), c.bytes
}

// Estimated heap cost of the pieces of a parsed message: struct sizes
// rounded up to the allocator's classes, plus map and slice overheads.
const (
	costEntry     = 160 // cache entry, list element, map slot, parsed
	costEnvelope  = 224
	costAddress   = 48
	costSinglePt  = 288 // BodyStructureSinglePart + its Extended + Text
	costMultiPt   = 176 // BodyStructureMultiPart + its Extended
	costMsgRFC822 = 48
	costMap       = 208 // a small map
	costParam     = 48  // a map slot and two string headers
	costString    = 16
)

// footprint estimates the bytes a parsed message holds.
func footprint(p *parsed) int64 {
	n := int64(costEntry) + envelopeCost(p.envelope)
	// An explicit stack: the tree is at most mimeparse.DefaultMaxDepth
	// deep, but this keeps the estimate free of recursion limits.
	stack := []imap.BodyStructure{p.body}
	for len(stack) > 0 {
		bs := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch bs := bs.(type) {
		case *imap.BodyStructureSinglePart:
			n += costSinglePt + strCost(bs.Type, bs.Subtype, bs.ID, bs.Description, bs.Encoding) + mapCost(bs.Params)
			if e := bs.Extended; e != nil {
				n += dispCost(e.Disposition) + strCost(e.Location) + strCost(e.Language...)
			}
			if m := bs.MessageRFC822; m != nil {
				n += costMsgRFC822 + envelopeCost(m.Envelope)
				stack = append(stack, m.BodyStructure)
			}
		case *imap.BodyStructureMultiPart:
			n += costMultiPt + strCost(bs.Subtype) + int64(cap(bs.Children))*costString
			if e := bs.Extended; e != nil {
				n += mapCost(e.Params) + dispCost(e.Disposition) + strCost(e.Location) + strCost(e.Language...)
			}
			stack = append(stack, bs.Children...)
		}
	}
	return n
}

func envelopeCost(e *imap.Envelope) int64 {
	if e == nil {
		return 0
	}
	n := int64(costEnvelope) + strCost(e.Subject, e.MessageID) + strCost(e.InReplyTo...)
	for _, l := range [][]imap.Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
		n += int64(cap(l)) * costAddress
		for _, a := range l {
			n += int64(len(a.Name) + len(a.Mailbox) + len(a.Host))
		}
	}
	return n
}

func strCost(ss ...string) int64 {
	var n int64
	for _, s := range ss {
		n += costString + int64(len(s))
	}
	return n
}

func mapCost(m map[string]string) int64 {
	if m == nil {
		return 0
	}
	n := int64(costMap)
	for k, v := range m {
		n += costParam + int64(len(k)+len(v))
	}
	return n
}

func dispCost(d *imap.BodyStructureDisposition) int64 {
	if d == nil {
		return 0
	}
	return costString*2 + strCost(d.Value) + mapCost(d.Params)
}
