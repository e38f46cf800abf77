package maildir

import (
	"fmt"
	"strings"

	"github.com/immp-mail/immp/internal/foldername"
)

// On-disk folder names (Dovecot 2.3 Maildir++ layout, namespace separator
// "/", empty prefix):
//
//	INBOX              -> the Maildir root itself
//	INBOX/work/office  -> .INBOX.work.office
//	Sent               -> .Sent
//
// Each component is escaped, then written in modified UTF-7, and the
// components are joined with "." (the Maildir++ separator). Characters the
// layout cannot hold are escaped as "\" and two lower-case hex digits, the
// convention of Dovecot's listescape plugin with its default escape
// character (listescape_char = "\\"): "." in a component is "\2e", the
// escape character itself "\5c", and a "~" that begins the name "\7e" (so
// no name looks like a home directory). Dovecot configured with
// mail_plugins = listescape reads such names back the same way; without
// the plugin it shows them escaped. Decoding only turns "\" followed by
// two hex digits back into a byte, so any other "\" written by a Dovecot
// without the plugin is kept as it is.

const escapeChar = '\\'

func escapeComponent(c string, first bool) string {
	var b strings.Builder
	for i := 0; i < len(c); i++ {
		ch := c[i]
		if ch == '.' || ch == escapeChar || (first && i == 0 && ch == '~') {
			fmt.Fprintf(&b, "%c%02x", escapeChar, ch)
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func unescapeComponent(c string) string {
	if strings.IndexByte(c, escapeChar) < 0 {
		return c
	}
	var b strings.Builder
	for i := 0; i < len(c); i++ {
		if c[i] == escapeChar && i+2 < len(c) {
			h, ok1 := unhex(c[i+1])
			l, ok2 := unhex(c[i+2])
			if ok1 && ok2 {
				b.WriteByte(h<<4 | l)
				i += 2
				continue
			}
		}
		b.WriteByte(c[i])
	}
	return b.String()
}

// encodeFolderDir returns the directory name (relative to the Maildir
// root) of a canonical absolute folder name; "" for INBOX.
func encodeFolderDir(name string) string {
	if name == "INBOX" {
		return ""
	}
	parts := splitFolder(name)
	var b strings.Builder
	for i, p := range parts {
		b.WriteByte('.')
		b.WriteString(foldername.EncodeMUTF7(escapeComponent(p, i == 0)))
	}
	return b.String()
}

// decodeFolderDir is the inverse of encodeFolderDir for a directory entry
// of the Maildir root. ok is false for entries that are not folders (not
// starting with ".", ".", "..", empty components, undecodable names, names
// that fail validation).
func decodeFolderDir(dir string) (name string, ok bool) {
	if len(dir) < 2 || dir[0] != '.' || dir == ".." {
		return "", false
	}
	parts := strings.Split(dir[1:], ".")
	out := make([]string, len(parts))
	for i, p := range parts {
		d, err := foldername.DecodeMUTF7(p)
		if err != nil {
			return "", false
		}
		out[i] = unescapeComponent(d)
	}
	if isInbox(out[0]) {
		if len(out) == 1 {
			return "", false // ".INBOX" is not a folder in this layout
		}
		out[0] = "INBOX"
	}
	n := strings.Join(out, Separator)
	canon, err := CanonicalFolderName(n)
	// Only names this codec would write back the same way are folders:
	// a second spelling of one name must never appear.
	if err != nil || canon != n || encodeFolderDir(n) != dir {
		return "", false
	}
	return n, true
}
