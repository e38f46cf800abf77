package maildir

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Separator is the IMAP hierarchy separator (profile 5; namespace prefix "").
const Separator = "/"

// MaxComponentLen is the longest component of a folder name, in octets
// (profile 5).
const MaxComponentLen = 255

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

// isInbox reports whether s is "INBOX" in any case (RFC 9051 5.1).
func isInbox(s string) bool { return strings.EqualFold(s, "INBOX") }

// validSubComponent is validComponent plus this layer's one extra rule: a
// subinbox component may not be called INBOX (in any case), because its
// address form ("inbox/work") would read as an absolute name.
func validSubComponent(c string) error {
	if err := validComponent(c); err != nil {
		return err
	}
	if isInbox(c) {
		return fmt.Errorf("%w: a subinbox cannot be called INBOX", ErrInvalidName)
	}
	return nil
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
	if name == "" || isInbox(name) {
		return []string{}, nil
	}
	parts := strings.Split(name, Separator)
	var comps []string
	if isInbox(parts[0]) {
		comps = parts[1:]
	} else {
		comps = make([]string, len(parts))
		for i, p := range parts {
			comps[len(parts)-1-i] = p
		}
	}
	for _, c := range comps {
		if err := validSubComponent(c); err != nil {
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

// CanonicalFolderName validates any IMAP folder name (profile 5 rules for
// every component) and returns it with INBOX spelled "INBOX" and a trailing
// "/" removed: "inbox/Work/" -> "INBOX/Work".
func CanonicalFolderName(name string) (string, error) {
	name = strings.TrimSuffix(name, Separator)
	if name == "" {
		return "", fmt.Errorf("%w: empty name", ErrInvalidName)
	}
	parts := strings.Split(name, Separator)
	if isInbox(parts[0]) {
		parts[0] = "INBOX"
		for _, c := range parts[1:] {
			if err := validSubComponent(c); err != nil {
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

// ValidateFolderName checks any IMAP folder name against profile 5.
func ValidateFolderName(name string) error {
	_, err := CanonicalFolderName(name)
	return err
}

// IsSubinbox reports whether an absolute IMAP name is INBOX or lies
// inside it.
func IsSubinbox(name string) bool {
	return isInbox(name) || (len(name) > 6 && isInbox(name[:5]) && name[5] == '/')
}

// splitFolder splits a canonical absolute name into components.
func splitFolder(name string) []string { return strings.Split(name, Separator) }
