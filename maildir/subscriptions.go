package maildir

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/immp-mail/immp/internal/foldername"
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
//
// Which names are subscribed (RFC 9051 6.3.7, 6.3.8):
//
//   - INBOX, its subinboxes and the special-use folders are subscribed
//     when they are made, whoever makes them: account creation (by
//     "immp user add" or by a delivery that auto-creates the account),
//     IMMP CREATE, IMAP CREATE, a RENAME that makes them. A client that
//     shows subscribed folders only thus sees every delivery target.
//   - A rename moves the subscriptions of the folder and its children.
//   - Deleting one of those folders removes its subscription: the server
//     made it. Other folders keep theirs (RFC 9051 6.3.9: the server does
//     not remove a name unilaterally; LIST-EXTENDED shows it \NonExistent).
//   - Inside INBOX, names are compared ignoring case, as they are looked
//     up (profile 5).
const subscriptionsName = "subscriptions"

// autoSubscribed reports whether a folder is subscribed when it is made
// and unsubscribed when it is deleted.
func autoSubscribed(name string) bool {
	return foldername.IsSubinbox(name) || specialUse(name) != ""
}

// sameName reports whether two canonical names name one folder.
func sameName(a, b string) bool {
	return a == b || (foldername.IsSubinbox(a) && strings.EqualFold(a, b))
}

// below returns what follows old in n when n is old or lies inside it
// ("" for old itself), compared as sameName does.
func below(n, old string) (string, bool) {
	if len(n) < len(old) || !sameName(n[:len(old)], old) {
		return "", false
	}
	switch rest := n[len(old):]; {
	case rest == "":
		return "", true
	case strings.HasPrefix(rest, Separator):
		return rest, true
	}
	return "", false
}

// editSubscriptions applies edit to the account's subscriptions and writes
// the file when they changed. The caller holds the account's tree lock.
func (s *Store) editSubscriptions(acct Account, edit func([]string) []string) error {
	root := s.AccountDir(acct)
	subs, err := readSubscriptions(root)
	if err != nil {
		return err
	}
	out := edit(slices.Clone(subs))
	if slices.Equal(out, subs) {
		return nil
	}
	return writeSubscriptions(root, out, !s.opts.NoSync)
}

// subscribeMade subscribes the folders among names that autoSubscribed
// says are subscribed when made.
func (s *Store) subscribeMade(acct Account, names ...string) error {
	return s.editSubscriptions(acct, func(subs []string) []string {
		for _, n := range names {
			if autoSubscribed(n) {
				subs = addSub(subs, n)
			}
		}
		return subs
	})
}

// unsubscribeDeleted drops the subscription of a deleted folder that
// autoSubscribed says the server subscribed.
func (s *Store) unsubscribeDeleted(acct Account, name string) error {
	if !autoSubscribed(name) {
		return nil
	}
	return s.editSubscriptions(acct, func(subs []string) []string { return removeSub(subs, name) })
}

// renameSubscriptions moves the subscriptions of old and its children to
// nn, and subscribes what the rename made a subinbox (moved holds the new
// names of the folder and its children).
func (s *Store) renameSubscriptions(acct Account, old, nn string, moved []string) error {
	return s.editSubscriptions(acct, func(subs []string) []string {
		var out []string
		for _, n := range subs {
			if rest, ok := below(n, old); ok {
				n = nn + rest
			}
			out = addSub(out, n)
		}
		for _, n := range moved {
			if autoSubscribed(n) {
				out = addSub(out, n)
			}
		}
		return out
	})
}

// Subscriptions lists the subscribed names (which need not exist).
func (s *Store) Subscriptions(ctx context.Context, acct Account) ([]string, error) {
	return readSubscriptions(s.AccountDir(acct))
}

// SetSubscribed subscribes or unsubscribes an absolute IMAP name (RFC
// 9051 6.3.7: the name need not exist). An existing folder is subscribed
// in its own spelling.
func (s *Store) SetSubscribed(ctx context.Context, acct Account, name string, on bool) error {
	n, err := CanonicalFolderName(name)
	if err != nil {
		return err
	}
	mu := s.accountTree(acct.ID)
	mu.Lock()
	defer mu.Unlock()
	if list, err := s.listFolders(acct); err == nil {
		if f, ok := findFolder(list, n); ok {
			n = f
		}
	}
	return s.editSubscriptions(acct, func(subs []string) []string {
		if on {
			return addSub(subs, n)
		}
		return removeSub(subs, n)
	})
}

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

// addSub adds name unless it is there (as sameName says), keeping the
// list sorted.
func addSub(subs []string, name string) []string {
	for _, s := range subs {
		if sameName(s, name) {
			return subs
		}
	}
	subs = append(subs, name)
	sort.Strings(subs)
	return subs
}

// removeSub removes name in every spelling sameName accepts.
func removeSub(subs []string, name string) []string {
	out := subs[:0]
	for _, s := range subs {
		if !sameName(s, name) {
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
