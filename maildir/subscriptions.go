package maildir

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"immp/internal/foldername"
)

// The "subscriptions" file in the Maildir root, as Dovecot 2.3 writes it:
//
//	V\t2\n
//	\n
//	INBOX\twork\toffice\n
//	Sent\n
//
// One folder per line, components separated by TAB, each component in its
// on-disk spelling (escaped, modified UTF-7). Version 1 files (one name per
// line, hierarchy separator as is) are read too.
const subscriptionsName = "subscriptions"

func subLine(name string) string {
	parts := splitFolder(name)
	for i, p := range parts {
		if i == 0 && p == "INBOX" {
			continue
		}
		parts[i] = foldername.EncodeMUTF7(escapeComponent(p, i == 0))
	}
	return strings.Join(parts, "\t")
}

func parseSubLine(line string, sep string) (string, bool) {
	parts := strings.Split(line, sep)
	for i, p := range parts {
		d, err := foldername.DecodeMUTF7(p)
		if err != nil {
			return "", false
		}
		parts[i] = unescapeComponent(d)
	}
	if isInbox(parts[0]) {
		parts[0] = "INBOX"
	}
	n, err := CanonicalFolderName(strings.Join(parts, Separator))
	return n, err == nil
}

func readSubscriptions(root string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(root, subscriptionsName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("maildir: read subscriptions: %w", err)
	}
	sep := Separator
	sc := bufio.NewScanner(bytes.NewReader(data))
	first := true
	var out []string
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			if strings.HasPrefix(line, "V\t") {
				sep = "\t"
				continue
			}
		}
		if line == "" {
			continue
		}
		if n, ok := parseSubLine(line, sep); ok {
			out = addSub(out, n)
		}
	}
	return out, nil
}

func addSub(subs []string, name string) []string {
	for _, s := range subs {
		if s == name {
			return subs
		}
	}
	subs = append(subs, name)
	sort.Strings(subs)
	return subs
}

func removeSub(subs []string, name string) []string {
	out := subs[:0]
	for _, s := range subs {
		if s != name {
			out = append(out, s)
		}
	}
	return out
}

// writeSubscriptions replaces the file atomically (temp, fsync, rename).
func writeSubscriptions(root string, subs []string, durable bool) error {
	var b strings.Builder
	b.WriteString("V\t2\n\n")
	for _, s := range subs {
		b.WriteString(subLine(s))
		b.WriteByte('\n')
	}
	path := filepath.Join(root, subscriptionsName)
	tmp := path + ".lock"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("maildir: write subscriptions: %w", err)
	}
	_, err = f.WriteString(b.String())
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("maildir: write subscriptions: %w", err)
	}
	if durable {
		return syncDir(root)
	}
	return nil
}
