package foldername

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Separator is the hierarchy separator of IMAP and IMMP names (profile 5;
// one namespace, prefix "").
const Separator = "/"

// MaxComponentLen is the longest component of a folder name, in octets
// (profile 5).
const MaxComponentLen = 255

// ErrInvalidName: a name breaks profile 5's rules. The mailbox layer
// returns it as its own ErrInvalidName (the same value).
var ErrInvalidName = errors.New("invalid folder name")

// validComponent checks one component of a folder name (profile 5):
// non-empty UTF-8, at most 255 octets, no "/", no control characters, not
// "." or "..".
func validComponent(c string) error {
	switch {
	case c == "":
		return fmt.Errorf("%w: empty component", ErrInvalidName)
	case len(c) > MaxComponentLen:
		return fmt.Errorf("%w: component longer than %d octets", ErrInvalidName, MaxComponentLen)
	case c == "." || c == "..":
		return fmt.Errorf("%w: component %q", ErrInvalidName, c)
	case !utf8.ValidString(c):
		return fmt.Errorf("%w: not UTF-8", ErrInvalidName)
	}
	for _, r := range c {
		if r == '/' || unicode.IsControl(r) || r == utf8.RuneError {
			return fmt.Errorf("%w: character %U not allowed", ErrInvalidName, r)
		}
	}
	return nil
}

// IsInbox reports whether s is "INBOX" in any case (RFC 9051 5.1).
func IsInbox(s string) bool { return strings.EqualFold(s, "INBOX") }

// ValidSubinboxComponent is one component of a subinbox name: profile 5's
// rules plus one more, no component may be called INBOX (in any case),
// because its address form ("inbox/work") would read as an absolute name.
func ValidSubinboxComponent(c string) error {
	if err := validComponent(c); err != nil {
		return err
	}
	if IsInbox(c) {
		return fmt.Errorf("%w: a subinbox cannot be called INBOX", ErrInvalidName)
	}
	return nil
}

// ValidAddressForm checks a subinbox name in address form only, as a mail
// address carries it ("office/work" of "office/work/alice@..."): every
// component valid, none called INBOX, no trailing "/"; "INBOX" alone is
// the root. It allocates nothing for a valid name (delivery maps
// addresses on every spam guard verdict).
func ValidAddressForm(name string) error {
	if IsInbox(name) {
		return nil
	}
	for {
		c, rest, more := strings.Cut(name, Separator)
		if err := ValidSubinboxComponent(c); err != nil {
			return err
		}
		if !more {
			return nil
		}
		name = rest
	}
}

// isAbsolute reports whether a subinbox name (or a LIST reference) is in
// absolute form: INBOX itself, or beginning with "INBOX/", any case.
func isAbsolute(s string) bool {
	return len(s) >= 5 && IsInbox(s[:5]) && (len(s) == 5 || s[5] == '/')
}

// ParseSubinbox parses a subinbox name in either form (profile 5) and
// returns its components root first, INBOX itself excluded:
//
//	"office/work"        -> [work office]   (address form, leaf first)
//	"INBOX/work/office"  -> [work office]   (absolute form, any case of INBOX)
//	"INBOX", "inbox", "" -> []              (the root)
//
// A trailing "/" is ignored (draft 6.3.1). Every component is validated.
func ParseSubinbox(name string) ([]string, error) {
	name = strings.TrimSuffix(name, Separator)
	if name == "" || IsInbox(name) {
		return []string{}, nil
	}
	parts := strings.Split(name, Separator)
	var comps []string
	if IsInbox(parts[0]) {
		comps = parts[1:]
	} else {
		comps = make([]string, len(parts))
		for i, p := range parts {
			comps[len(parts)-1-i] = p
		}
	}
	for _, c := range comps {
		if err := ValidSubinboxComponent(c); err != nil {
			return nil, err
		}
	}
	return comps, nil
}

// AbsoluteName returns the absolute IMAP name of a subinbox given root
// first: [work office] -> "INBOX/work/office"; [] -> "INBOX".
func AbsoluteName(comps []string) string {
	if len(comps) == 0 {
		return "INBOX"
	}
	return "INBOX" + Separator + strings.Join(comps, Separator)
}

// AddressName returns the address form of a subinbox given root first:
// [work office] -> "office/work"; [] -> "" (INBOX itself has no address
// form: mail to the bare address lands there).
func AddressName(comps []string) string {
	rev := make([]string, len(comps))
	for i, c := range comps {
		rev[len(comps)-1-i] = c
	}
	return strings.Join(rev, Separator)
}

// SubinboxName returns the absolute IMAP name of a subinbox given in
// either form: "office/work" and "inbox/work/office/" both give
// "INBOX/work/office"; "" and "INBOX" give "INBOX".
func SubinboxName(name string) (string, error) {
	comps, err := ParseSubinbox(name)
	if err != nil {
		return "", err
	}
	return AbsoluteName(comps), nil
}

// MoveNames works out IMMP MOVE leaf (from to) (profile 6): leaf is the
// subinbox's own (last) component, from and to its old and new parents in
// either form, "" or INBOX being the root. It returns the absolute names
// before and after.
func MoveNames(leaf, from, to string) (oldName, newName string, err error) {
	if strings.Contains(leaf, Separator) {
		return "", "", fmt.Errorf("%w: MOVE takes the subinbox's last component, got %q", ErrInvalidName, leaf)
	}
	if err := ValidSubinboxComponent(leaf); err != nil {
		return "", "", err
	}
	fc, err := ParseSubinbox(from)
	if err != nil {
		return "", "", err
	}
	tc, err := ParseSubinbox(to)
	if err != nil {
		return "", "", err
	}
	return AbsoluteName(append(fc, leaf)), AbsoluteName(append(tc, leaf)), nil
}

// Canonical validates any IMAP folder name (profile 5 rules for every
// component) and returns it with INBOX spelled "INBOX" and a trailing "/"
// removed: "inbox/Work/" -> "INBOX/Work".
func Canonical(name string) (string, error) {
	name = strings.TrimSuffix(name, Separator)
	if name == "" {
		return "", fmt.Errorf("%w: empty name", ErrInvalidName)
	}
	parts := strings.Split(name, Separator)
	if IsInbox(parts[0]) {
		parts[0] = "INBOX"
		for _, c := range parts[1:] {
			if err := ValidSubinboxComponent(c); err != nil {
				return "", err
			}
		}
		return strings.Join(parts, Separator), nil
	}
	for _, c := range parts {
		if err := validComponent(c); err != nil {
			return "", err
		}
	}
	return strings.Join(parts, Separator), nil
}

// IsSubinbox reports whether an absolute IMAP name is INBOX or lies
// inside it.
func IsSubinbox(name string) bool {
	return IsInbox(name) || (len(name) > 6 && IsInbox(name[:5]) && name[5] == '/')
}

// Split splits a canonical absolute name into its components.
func Split(name string) []string { return strings.Split(name, Separator) }

// Parent returns the name of the level above name ("" at the top).
func Parent(name string) string {
	if i := strings.LastIndex(name, Separator); i >= 0 {
		return name[:i]
	}
	return ""
}
