package imap

import (
	"bufio"
	"bytes"
	"container/list"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"
)

// parsed is what ENVELOPE and BODYSTRUCTURE need of a message; a message
// never changes, so it is parsed once and kept (RFC 9051 2.3.1.1: a UID
// with its UIDVALIDITY names one message forever).
type parsed struct {
	envelope *imap.Envelope
	body     imap.BodyStructure
}

type cacheKey struct {
	acct        int64
	folder      string
	uidValidity uint32
	uid         uint32
}

// parseCache is a bounded LRU of parsed messages, shared by all sessions.
type parseCache struct {
	max   int
	mu    sync.Mutex
	ll    *list.List
	items map[cacheKey]*list.Element
}

type cacheEntry struct {
	key cacheKey
	val *parsed
}

func newParseCache(max int) *parseCache {
	return &parseCache{max: max, ll: list.New(), items: make(map[cacheKey]*list.Element)}
}

func (c *parseCache) get(k cacheKey) *parsed {
	if c.max <= 0 {
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
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		e.Value.(*cacheEntry).val = p
		c.ll.MoveToFront(e)
		return
	}
	c.items[k] = c.ll.PushFront(&cacheEntry{k, p})
	for c.ll.Len() > c.max {
		e := c.ll.Back()
		c.ll.Remove(e)
		delete(c.items, e.Value.(*cacheEntry).key)
	}
}

// parseMessage extracts ENVELOPE and the extended BODYSTRUCTURE with
// imapserver's own helpers.
func parseMessage(raw []byte) *parsed {
	p := &parsed{}
	if h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw))); err == nil {
		p.envelope = imapserver.ExtractEnvelope(h)
	}
	p.body = imapserver.ExtractBodyStructure(bytes.NewReader(raw))
	return p
}
