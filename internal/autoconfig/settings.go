package autoconfig

import (
	"net"
	"strconv"
	"strings"

	"github.com/immp-mail/immp/config"
)

// Socket types, as Thunderbird names them.
const (
	SocketSSL      = "SSL"      // implicit TLS
	SocketSTARTTLS = "STARTTLS" // RFC 2595, RFC 3207
	SocketPlain    = "plain"
)

// Endpoint is one listener a client may use.
type Endpoint struct {
	Port   int
	Socket string
}

// Settings are what every answer is built from.
type Settings struct {
	Hostname   string
	Domains    []string   // lower case
	IMAP       []Endpoint // preferred first
	Submission []Endpoint
}

// FromConfig reads the listeners of cfg. A listener on port 0 (chosen by
// the kernel) cannot be told to a client and is left out.
func FromConfig(cfg *config.Config) Settings {
	s := Settings{Hostname: cfg.Hostname}
	for _, d := range cfg.Domains {
		s.Domains = append(s.Domains, strings.ToLower(strings.TrimSuffix(d, ".")))
	}
	starttls := SocketPlain
	if cfg.TLSEnabled() {
		starttls = SocketSTARTTLS
	}
	add := func(list []Endpoint, addr, socket string) []Endpoint {
		if addr == "" {
			return list
		}
		_, p, err := net.SplitHostPort(addr)
		port, perr := strconv.Atoi(p)
		if err != nil || perr != nil || port <= 0 {
			return list
		}
		return append(list, Endpoint{Port: port, Socket: socket})
	}
	if cfg.TLSEnabled() {
		s.IMAP = add(s.IMAP, cfg.IMAP.TLSListen, SocketSSL)
	}
	s.IMAP = add(s.IMAP, cfg.IMAP.Listen, starttls)
	s.Submission = add(s.Submission, cfg.Submission.Listen, starttls)
	return s
}

// Serves reports whether domain is one of the mail domains.
func (s Settings) Serves(domain string) bool {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	for _, d := range s.Domains {
		if d == domain {
			return true
		}
	}
	return false
}

// domainOf returns the domain of an address ("" when there is none).
func domainOf(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || at == len(email)-1 {
		return ""
	}
	return email[at+1:]
}
