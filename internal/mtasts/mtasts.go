package mtasts

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/immp-mail/immp/config"
)

// Modes of RFC 8461 5.
const (
	ModeEnforce = "enforce"
	ModeTesting = "testing"
	ModeNone    = "none"
)

// Path is where a sender fetches the policy (RFC 8461 3.3).
const Path = "/.well-known/mta-sts.txt"

// DefaultMaxAge is a week: long enough to protect against a downgrade
// between fetches, short enough to recover from a mistake (RFC 8461 3.2
// suggests weeks; its maximum is 31557600 s).
const DefaultMaxAge = 7 * 24 * time.Hour

// Policy is one domain's policy; every domain of this server has the same
// one, naming this server's host name as its only MX.
type Policy struct {
	Mode   string
	MX     []string
	MaxAge time.Duration
}

// FromConfig is the policy of every domain of cfg: its host name as the
// only MX, in http.mta_sts_mode.
func FromConfig(cfg config.Config) Policy {
	return Policy{Mode: cfg.HTTP.MTASTSMode, MX: []string{cfg.Hostname}, MaxAge: DefaultMaxAge}
}

// Text is the policy file, key: value lines ending in CRLF (RFC 8461 3.2).
func (p Policy) Text() string {
	var b strings.Builder
	b.WriteString("version: STSv1\r\n")
	fmt.Fprintf(&b, "mode: %s\r\n", p.Mode)
	for _, mx := range p.MX {
		fmt.Fprintf(&b, "mx: %s\r\n", strings.ToLower(strings.TrimSuffix(mx, ".")))
	}
	fmt.Fprintf(&b, "max_age: %d\r\n", int64(p.MaxAge/time.Second))
	return b.String()
}

// ID is the policy's id for the TXT record: 20 hex digits of the text's
// SHA-256 (RFC 8461 3.1: 1 to 32 letters or digits).
func (p Policy) ID() string {
	sum := sha256.Sum256([]byte(p.Text()))
	return hex.EncodeToString(sum[:10])
}

// Record is the TXT record's value for this policy.
func (p Policy) Record() string { return "v=STSv1; id=" + p.ID() }

// Handler answers GET Path for Host "mta-sts.D" where D is one of
// domains, with the policy as text/plain (RFC 8461 3.3); other hosts get
// 404.
func Handler(p Policy, domains []string) http.Handler {
	served := make(map[string]bool, len(domains))
	for _, d := range domains {
		served["mta-sts."+strings.ToLower(strings.TrimSuffix(d, "."))] = true
	}
	text := p.Text()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !served[strings.ToLower(strings.TrimSuffix(host, "."))] {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=300")
		w.Write([]byte(text))
	})
}
