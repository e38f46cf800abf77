package address

import (
	"strings"

	"github.com/immp-mail/immp/internal/foldername"
)

// Mapper maps recipient addresses of the local domains (profile 9).
// The zero value has no local domain.
type Mapper struct {
	// Domains are the local domains, any case, trailing dot allowed.
	Domains []string
	// PlusSubinbox turns on "alice+work@..." as "work/alice@..." (config
	// [delivery] plus_subinbox, default on).
	PlusSubinbox bool
	// AnyDomain makes every domain local: the test bed's capture
	// ([testbed] capture), where mail to any address is stored.
	AnyDomain bool
}

// Target is where an address files mail.
type Target struct {
	// Account is the canonical, lower-cased "local@domain".
	Account string
	// Subinbox is the address form, leaf first ("office/work" is
	// INBOX/work/office); "" is INBOX.
	Subinbox string
}

// IsLocal reports whether domain is one of m.Domains (case-insensitive,
// trailing dots ignored).
func (m Mapper) IsLocal(domain string) bool {
	if m.AnyDomain && domain != "" {
		return true
	}
	domain = strings.TrimSuffix(domain, ".")
	for _, d := range m.Domains {
		if strings.EqualFold(strings.TrimSuffix(d, "."), domain) {
			return true
		}
	}
	return false
}

// Map returns the account and subinbox addr names (see the package
// documentation for the rules). Errors wrap ErrInvalid or ErrNotLocal.
func (m Mapper) Map(addr string) (Target, error) {
	p, err := split(addr)
	if err != nil {
		return Target{}, err
	}
	// The local part: subinbox components, leaf first, then the user.
	user, prefix := p.local, ""
	if i := strings.LastIndexByte(user, '/'); i >= 0 {
		prefix, user = user[:i], user[i+1:]
	}
	detail := ""
	if m.PlusSubinbox {
		if i := strings.IndexByte(user, '+'); i >= 0 {
			user, detail = user[:i], user[i+1:]
		}
	}
	if err := checkUser(user, p.quoted); err != nil {
		return Target{}, err
	}
	if !m.IsLocal(p.domain) {
		return Target{}, &Error{Err: ErrNotLocal, Reason: "domain is not served here"}
	}
	var sub string
	slash := strings.IndexByte(p.local, '/') >= 0
	switch {
	case slash && detail != "":
		sub = prefix + "/" + detail // "P/alice+D" is "P/D/alice"
	case slash:
		sub = prefix
	case detail != "":
		sub = detail
	} // an empty detail ("alice+@...") is INBOX
	if sub != "" || slash {
		if err := checkSubinbox(sub); err != nil {
			return Target{}, err
		}
		if foldername.IsInbox(sub) {
			sub = ""
		}
	}
	return Target{Account: account(addr, user, p.domain), Subinbox: sub}, nil
}

// account builds the canonical "local@domain". When orig already ends
// with it (the common case), it is sliced from orig rather than built, so
// that an already lower-cased address costs no allocation (the spam guard
// maps addresses on every verdict).
func account(orig, user, domain string) string {
	if !isDotString(user) {
		user = quote(user)
	}
	if n := len(user) + 1 + len(domain); len(orig) >= n {
		tail := orig[len(orig)-n:]
		if tail[:len(user)] == user && tail[len(user)] == '@' && tail[len(user)+1:] == domain {
			return strings.ToLower(tail)
		}
	}
	return strings.ToLower(user) + "@" + strings.ToLower(domain)
}

// checkUser checks the account's local part.
func checkUser(u string, quoted bool) error {
	switch {
	case u == "":
		return invalid("empty local part")
	case len(u) > MaxLocalLen:
		return invalid("local part too long")
	case !quoted && !isDotString(u):
		return invalid("local part is not a dot-string")
	case strings.IndexByte(u, '@') >= 0: // only quoted; no account has one
		return invalid("'@' in local part")
	}
	return nil
}

// checkSubinbox checks an address-form subinbox by profile 5, with
// foldername's rules (the ones the mailbox layer applies): INBOX only as
// the whole name.
func checkSubinbox(sub string) error {
	if err := foldername.ValidAddressForm(sub); err != nil {
		return invalid("subinbox name: " + strings.TrimPrefix(err.Error(), foldername.ErrInvalidName.Error()+": "))
	}
	return nil
}

// ParseSender canonicalises a reverse-path (RFC 5321 4.1.2) for comparison
// with spam guard entries (profile 7): "" and "<>" give "" (the null
// sender); otherwise brackets and a source route are removed, a quoted
// local part that needs no quoting is unquoted ("\"Bob\"@x" and "bob@x"
// are the same mailbox), a trailing dot of the domain is dropped and the
// result is lower-cased. Errors wrap ErrInvalid.
func ParseSender(s string) (string, error) {
	if s == "" || s == "<>" {
		return "", nil
	}
	p, err := split(s)
	if err != nil {
		return "", err
	}
	if p.local == "" {
		return "", invalid("empty local part")
	}
	if len(p.local) > MaxAddressLen {
		return "", invalid("local part too long")
	}
	if !p.quoted && !isDotString(p.local) {
		// Real mail has "first..last@" and "x.@"; keep it as written
		// rather than refuse: the guard must still be able to match it.
		return strings.ToLower(p.local + "@" + p.domain), nil
	}
	return account(s, p.local, p.domain), nil
}
