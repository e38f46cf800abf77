package msgauth

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/emersion/go-msgauth/dkim"
)

// SignerOptions configures a Signer.
type SignerOptions struct {
	DataDir  string   // keys under DataDir/dkim (KeyPath)
	Selector string   // [dkim] selector
	Headers  []string // [dkim] headers; From listed twice is oversigned
	Logger   *slog.Logger
	// Now is the clock for the cache; nil: time.Now.
	Now func() time.Time
}

// keyCacheTTL is how long a key (or its absence) is remembered: a key
// made by "immp dkim keygen" on a running server signs within this time.
const keyCacheTTL = time.Minute

// Signer signs outbound mail with the key of its From domain (RFC 6376
// 5); safe for concurrent use.
type Signer struct {
	opts SignerOptions
	log  *slog.Logger

	mu    sync.Mutex
	cache map[string]cachedKey // by domain
}

type cachedKey struct {
	key  *Key // nil: no key
	when time.Time
}

// NewSigner returns a Signer. It reads no key yet: each domain's key is
// loaded at its first message.
func NewSigner(opts SignerOptions) *Signer {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(opts.Headers) == 0 {
		opts.Headers = []string{"From", "From", "To", "Cc", "Subject", "Date", "Message-ID"}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Signer{opts: opts, log: log, cache: make(map[string]cachedKey)}
}

// SignHeader returns the DKIM-Signature field ("DKIM-Signature: ...\r\n",
// folded) to prepend to msg, signed with the key of msg's From domain
// (relaxed/relaxed canonicalization, SHA-256). It returns "" and no error
// when that domain has no key or msg has no single From domain: such mail
// goes unsigned. msg is the whole message, header and body, CRLF lines.
func (s *Signer) SignHeader(ctx context.Context, msg []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	hdr, _, err := splitHeader(msg)
	if err != nil {
		return "", nil
	}
	domain := singleFromDomain(hdr)
	if domain == "" {
		return "", nil
	}
	key, err := s.key(domain)
	if err != nil || key == nil {
		return "", err
	}
	return Sign(key, s.opts.Headers, msg)
}

// Sign signs msg with key over headers and returns the DKIM-Signature
// field.
func Sign(key *Key, headers []string, msg []byte) (string, error) {
	ds, err := dkim.NewSigner(&dkim.SignOptions{
		Domain:                 key.Domain,
		Selector:               key.Selector,
		Signer:                 key.Signer,
		Hash:                   crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             headers,
	})
	if err != nil {
		return "", err
	}
	if _, err := ds.Write(msg); err != nil {
		ds.Close()
		return "", err
	}
	if err := ds.Close(); err != nil {
		return "", fmt.Errorf("dkim: signing for %s: %w", key.Domain, err)
	}
	return ds.Signature(), nil
}

// key returns domain's key under the configured selector, nil if none.
func (s *Signer) key(domain string) (*Key, error) {
	now := s.opts.Now()
	s.mu.Lock()
	c, ok := s.cache[domain]
	s.mu.Unlock()
	if ok && now.Sub(c.when) < keyCacheTTL {
		return c.key, nil
	}
	k, err := LoadKey(s.opts.DataDir, domain, s.opts.Selector)
	switch {
	case errors.Is(err, ErrNoKey), errors.Is(err, ErrBadDomain):
		k, err = nil, nil
	case err != nil:
		s.log.Error("dkim key unreadable, mail goes unsigned", "domain", domain, "err", err)
		return nil, err
	}
	s.mu.Lock()
	s.cache[domain] = cachedKey{key: k, when: now}
	s.mu.Unlock()
	return k, nil
}

// splitHeader returns msg's header section (with its final CRLF, without
// the empty line) and the offset of the body. A message without an empty
// line is all header.
func splitHeader(msg []byte) (hdr []byte, body int, err error) {
	if bytes.HasPrefix(msg, []byte("\r\n")) {
		return nil, 2, nil
	}
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return msg[:i+2], i + 4, nil
	}
	if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		return msg[:i+1], i + 2, nil
	}
	return msg, len(msg), nil
}
