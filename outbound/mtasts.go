package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MTA-STS (RFC 8461): a domain publishes "_mta-sts.DOMAIN" TXT
// "v=STSv1; id=..." and a policy at
// https://mta-sts.DOMAIN/.well-known/mta-sts.txt; in enforce mode mail
// goes only to the listed MX hosts, over TLS with a valid certificate.

// Policy modes (RFC 8461 5).
const (
	stsEnforce = "enforce"
	stsTesting = "testing"
	stsNone    = "none"
)

// stsPolicy is a parsed policy.
type stsPolicy struct {
	Mode   string
	MX     []string // patterns, "mail.example.com" or "*.example.net"
	MaxAge time.Duration
}

// stsMaxPolicy bounds a policy body (RFC 8461 3.3 suggests 64 KiB).
const stsMaxPolicy = 64 << 10

// stsMaxAge caps max_age (RFC 8461 3.2: at most 31557600 s).
const stsMaxAge = 31557600 * time.Second

// parseSTSRecord parses the TXT record (RFC 8461 3.1); it returns the id.
func parseSTSRecord(txt string) (string, error) {
	fields := strings.Split(txt, ";")
	if strings.TrimSpace(fields[0]) != "v=STSv1" {
		return "", errors.New("not an STSv1 record")
	}
	id := ""
	for _, f := range fields[1:] {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return "", fmt.Errorf("bad field %q", f)
		}
		if k == "id" {
			if v == "" || len(v) > 32 || strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
				return "", fmt.Errorf("bad id %q", v)
			}
			id = v
		}
	}
	if id == "" {
		return "", errors.New("no id")
	}
	return id, nil
}

// parseSTSPolicy parses a policy body (RFC 8461 3.2): "key: value" lines
// ending in LF or CRLF; version, mode and max_age are required, mx at
// least once unless the mode is none.
func parseSTSPolicy(b []byte) (stsPolicy, error) {
	var p stsPolicy
	var version bool
	haveAge := false
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return p, fmt.Errorf("line without a colon: %q", line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "version":
			if v != "STSv1" {
				return p, fmt.Errorf("version %q", v)
			}
			version = true
		case "mode":
			switch v {
			case stsEnforce, stsTesting, stsNone:
				p.Mode = v
			default:
				return p, fmt.Errorf("mode %q", v)
			}
		case "max_age":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || len(v) > 10 {
				return p, fmt.Errorf("max_age %q", v)
			}
			p.MaxAge = stsMaxAge
			if n < uint64(stsMaxAge/time.Second) {
				p.MaxAge = time.Duration(n) * time.Second
			}
			haveAge = true
		case "mx":
			if v == "" || strings.ContainsAny(v, " \t") {
				return p, fmt.Errorf("mx %q", v)
			}
			p.MX = append(p.MX, strings.ToLower(strings.TrimSuffix(v, ".")))
		}
	}
	switch {
	case !version:
		return p, errors.New("no version")
	case p.Mode == "":
		return p, errors.New("no mode")
	case !haveAge:
		return p, errors.New("no max_age")
	case p.Mode != stsNone && len(p.MX) == 0:
		return p, errors.New("no mx")
	}
	return p, nil
}

// matches says whether an MX host name is allowed (RFC 8461 4.1): equal,
// or "*.suffix" matching exactly one leftmost label.
func (p *stsPolicy) matches(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, pat := range p.MX {
		if pat == host {
			return true
		}
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			if label, suffix, ok := strings.Cut(host, "."); ok && label != "" && suffix == rest {
				return true
			}
		}
	}
	return false
}

// stsCache remembers policies per domain (RFC 8461 5.1: a cached policy
// applies until it expires, even when the record disappears).
// Policies are also kept on disk (dir, <data_dir>/queue/mta-sts/DOMAIN),
// so a restart does not forget an enforce policy that an attacker could
// then strip by hiding the TXT record.
type stsCache struct {
	resolver *net.Resolver
	client   *http.Client
	dir      string // "": memory only
	mu       sync.Mutex
	m        map[string]stsEntry
}

type stsEntry struct {
	ID      string    `json:"id"`
	Policy  stsPolicy `json:"policy"`
	Expires time.Time `json:"expires"`
}

func newSTSCache(r *net.Resolver, c *http.Client, dir string) *stsCache {
	if dir != "" {
		os.MkdirAll(dir, 0o700)
	}
	return &stsCache{resolver: r, client: c, dir: dir, m: map[string]stsEntry{}}
}

// cached returns the entry for domain from memory, else from disk.
func (c *stsCache) cached(domain string) (stsEntry, bool) {
	c.mu.Lock()
	e, ok := c.m[domain]
	c.mu.Unlock()
	if ok || c.dir == "" || strings.ContainsAny(domain, "/\\") || strings.HasPrefix(domain, ".") {
		return e, ok
	}
	b, err := os.ReadFile(filepath.Join(c.dir, domain))
	if err != nil || json.Unmarshal(b, &e) != nil {
		return stsEntry{}, false
	}
	c.mu.Lock()
	c.m[domain] = e
	c.mu.Unlock()
	return e, true
}

func (c *stsCache) store(domain string, e stsEntry) {
	c.mu.Lock()
	c.m[domain] = e
	c.mu.Unlock()
	if c.dir == "" || strings.ContainsAny(domain, "/\\") || strings.HasPrefix(domain, ".") {
		return
	}
	if b, err := json.Marshal(e); err == nil {
		tmp := filepath.Join(c.dir, domain+".tmp")
		if os.WriteFile(tmp, b, 0o600) == nil {
			os.Rename(tmp, filepath.Join(c.dir, domain))
		}
	}
}

// policy returns domain's policy in force, or nil when there is none (or
// it is "none"). Lookup failures fall back to the cached policy.
func (c *stsCache) policy(ctx context.Context, domain string, log *slog.Logger) *stsPolicy {
	domain = strings.ToLower(domain)
	now := time.Now()
	cached, have := c.cached(domain)
	if have && now.After(cached.Expires) {
		have = false
	}
	id := ""
	txts, err := c.resolver.LookupTXT(ctx, "_mta-sts."+domain)
	if err == nil {
		for _, t := range txts {
			if strings.HasPrefix(t, "v=STSv1") {
				if v, perr := parseSTSRecord(t); perr == nil {
					id = v
				}
			}
		}
	}
	switch {
	case id == "" && have:
		return usable(&cached.Policy)
	case id == "":
		return nil
	case have && cached.ID == id:
		return usable(&cached.Policy)
	}
	p, err := c.fetch(ctx, domain)
	if err != nil {
		log.Warn("MTA-STS policy fetch failed", "domain", domain, "err", err)
		if have {
			return usable(&cached.Policy)
		}
		return nil
	}
	c.store(domain, stsEntry{ID: id, Policy: p, Expires: now.Add(p.MaxAge)})
	return usable(&p)
}

func usable(p *stsPolicy) *stsPolicy {
	if p.Mode == stsNone {
		return nil
	}
	return p
}

// fetch gets the policy over HTTPS (RFC 8461 3.3): a valid certificate for
// mta-sts.DOMAIN, status 200, no redirects, text/plain.
func (c *stsCache) fetch(ctx context.Context, domain string) (stsPolicy, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "https://mta-sts."+domain+"/.well-known/mta-sts.txt", nil)
	if err != nil {
		return stsPolicy{}, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return stsPolicy{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return stsPolicy{}, fmt.Errorf("HTTP %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "text/plain") {
		return stsPolicy{}, fmt.Errorf("content type %q, want text/plain", ct)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, stsMaxPolicy+1))
	if err != nil {
		return stsPolicy{}, err
	}
	if len(b) > stsMaxPolicy {
		return stsPolicy{}, errors.New("policy larger than 64 KiB")
	}
	return parseSTSPolicy(b)
}
