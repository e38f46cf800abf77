package maildir

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/immp-mail/immp/internal/foldername"
)

// Folder tree operations (profile 6). One implementation serves IMMP
// (subinbox commands) and IMAP (CREATE, DELETE, RENAME). Names given here
// are absolute IMAP names unless the method says "either form"; IMMP turns
// its names into absolute ones with foldername.SubinboxName first. Name
// rules are package foldername's; this file decides where folders go.
// Changes to one account's tree are serialised in the process.

// maxDirName is the longest directory name the file system takes.
const maxDirName = 255

// listFolders returns the canonical names of the account's folders
// (INBOX included), sorted.
func (s *Store) listFolders(acct Account) ([]string, error) {
	root := s.AccountDir(acct)
	ents, err := os.ReadDir(root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s has no Maildir", ErrNoSuchAccount, acct.Address)
		}
		return nil, fmt.Errorf("maildir: list folders: %w", err)
	}
	out := []string{"INBOX"}
	for _, e := range ents {
		if !e.IsDir() {
			if e.Type()&os.ModeSymlink == 0 {
				continue
			}
			// A symlinked folder is followed only if it is a directory.
			if st, err := os.Stat(filepath.Join(root, e.Name())); err != nil || !st.IsDir() {
				continue
			}
		}
		if n, ok := decodeFolderDir(e.Name()); ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

func folderDir(root, name string) string {
	if d := encodeFolderDir(name); d != "" {
		return filepath.Join(root, d)
	}
	return root
}

// findFolder returns the existing folder named name (canonical): an exact
// match, else for subinboxes a case-insensitive one (profile 5).
func findFolder(list []string, name string) (string, bool) {
	for _, n := range list {
		if n == name {
			return n, true
		}
	}
	if foldername.IsSubinbox(name) {
		for _, n := range list {
			if strings.EqualFold(n, name) {
				return n, true
			}
		}
	}
	return "", false
}

// resolveFolder maps any name (absolute IMAP name) to an existing folder.
func (s *Store) resolveFolder(acct Account, name string) (string, error) {
	n, err := CanonicalFolderName(name)
	if err != nil {
		return "", err
	}
	if n == "INBOX" {
		return n, nil
	}
	if st, err := os.Stat(folderDir(s.AccountDir(acct), n)); err == nil && st.IsDir() {
		return n, nil
	}
	list, err := s.listFolders(acct)
	if err != nil {
		return "", err
	}
	if f, ok := findFolder(list, n); ok {
		return f, nil
	}
	return "", fmt.Errorf("%w: %s", ErrNonexistent, name)
}

func leafOf(name string) string { return name[strings.LastIndex(name, Separator)+1:] }

func hasChildren(list []string, name string) bool {
	for _, n := range list {
		if strings.HasPrefix(n, name+Separator) {
			return true
		}
	}
	return false
}

// clash reports an existing folder other than self that equals name when
// case is ignored (siblings may not differ only in case, profile 5).
func clash(list []string, name, self string) bool {
	for _, n := range list {
		if n != self && strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

func checkDirLen(name string) error {
	if len(encodeFolderDir(name)) > maxDirName {
		return fmt.Errorf("%w: name too long for the on-disk layout", ErrInvalidName)
	}
	return nil
}

// placeName works out where a new folder named name goes: subinboxes need
// an existing parent (profile 6), found case-insensitively and spelled as
// it exists; other names get missing parents created (RFC 9051 6.3.4).
// It returns the name with the parent's real spelling and the parents to
// create.
func placeName(list []string, name string) (string, []string, error) {
	parent := foldername.Parent(name)
	if parent == "" {
		return name, nil, nil
	}
	if p, ok := findFolder(list, parent); ok {
		return p + Separator + leafOf(name), nil, nil
	}
	if foldername.IsSubinbox(name) {
		return "", nil, fmt.Errorf("%w: parent %s does not exist", ErrNonexistent, parent)
	}
	var missing []string
	parts := splitFolder(parent)
	for i := 1; i <= len(parts); i++ {
		p := strings.Join(parts[:i], Separator)
		if _, ok := findFolder(list, p); !ok {
			missing = append(missing, p)
		}
	}
	return name, missing, nil
}

// CreateFolder creates a folder (absolute IMAP name). INBOX cannot be
// created (ErrInbox, also ErrAlreadyExists); an existing name, or one
// differing from a sibling only in case, is ErrAlreadyExists; a subinbox
// whose parent does not exist is ErrNonexistent (profile 6).
func (s *Store) CreateFolder(ctx context.Context, acct Account, name string) error {
	n, err := CanonicalFolderName(name)
	if err != nil {
		return err
	}
	if n == "INBOX" {
		return fmt.Errorf("%w: %w", ErrInbox, ErrAlreadyExists)
	}
	mu := s.accountTree(acct.ID)
	mu.Lock()
	defer mu.Unlock()
	list, err := s.listFolders(acct)
	if err != nil {
		return err
	}
	n, missing, err := placeName(list, n)
	if err != nil {
		return err
	}
	if clash(list, n, "") {
		return fmt.Errorf("%w: %s", ErrAlreadyExists, n)
	}
	if err := checkDirLen(n); err != nil {
		return err
	}
	// Subscribed first (subscriptions.go), so a folder made is never
	// missing its subscription; undone if the folder cannot be made.
	made := append(missing, n)
	if err := s.subscribeMade(acct, made...); err != nil {
		return err
	}
	root := s.AccountDir(acct)
	for _, p := range made {
		if err := s.makeMaildir(folderDir(root, p), true); err != nil {
			if uerr := s.unsubscribeDeleted(acct, n); uerr != nil {
				s.log.Error("undo subscription of folder not created", "account", acct.Address, "folder", n, "err", uerr)
			}
			return err
		}
		s.notifyFolder(acct, EventFolderCreated, p, "")
	}
	s.log.Info("folder created", "account", acct.Address, "folder", n)
	return nil
}

// DeleteFolder removes a folder and its messages. INBOX: ErrInbox; a
// folder with children: ErrHasChildren; unknown: ErrNonexistent (profile
// 6). The subscription of a subinbox or special-use folder goes with it,
// others are kept (subscriptions.go); aliases to it are dropped.
func (s *Store) DeleteFolder(ctx context.Context, acct Account, name string) error {
	n, err := CanonicalFolderName(name)
	if err != nil {
		return err
	}
	if n == "INBOX" {
		return fmt.Errorf("%w: cannot delete INBOX", ErrInbox)
	}
	mu := s.accountTree(acct.ID)
	mu.Lock()
	defer mu.Unlock()
	list, err := s.listFolders(acct)
	if err != nil {
		return err
	}
	f, ok := findFolder(list, n)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNonexistent, name)
	}
	if hasChildren(list, f) {
		return fmt.Errorf("%w: %s", ErrHasChildren, f)
	}
	if err := s.removeFolderDir(acct, f); err != nil {
		return err
	}
	// The folder is gone: a failure here leaves a subscription that LIST
	// shows \NonExistent, and is logged rather than reported.
	if err := s.unsubscribeDeleted(acct, f); err != nil {
		s.log.Error("unsubscribe deleted folder", "account", acct.Address, "folder", f, "err", err)
	}
	if _, err := s.wdb.ExecContext(ctx, "DELETE FROM aliases WHERE account_id = ? AND target = ?", acct.ID, f); err != nil {
		s.log.Error("drop aliases of deleted folder", "account", acct.Address, "folder", f, "err", err)
	}
	s.log.Info("folder deleted", "account", acct.Address, "folder", f)
	return nil
}

// removeFolderDir takes a folder out of the tree: renamed away first (so
// it is gone at once and completely), then removed.
func (s *Store) removeFolderDir(acct Account, f string) error {
	root := s.AccountDir(acct)
	trash := filepath.Join(root, fmt.Sprintf("..immp-deleted.%d.%d", s.pid, s.seq.Add(1)))
	unlock := s.lockBoxes(acct, []string{f})
	if err := os.Rename(folderDir(root, f), trash); err != nil {
		unlock()
		return fmt.Errorf("maildir: delete folder: %w", err)
	}
	s.forgetBox(acct, f)
	unlock()
	s.notifyFolder(acct, EventFolderDeleted, f, "")
	if err := s.fsyncDir(root); err != nil {
		return err
	}
	if err := os.RemoveAll(trash); err != nil {
		s.log.Error("remove deleted folder", "account", acct.Address, "folder", f, "err", err)
	}
	return nil
}

// RenameFolder renames a folder (absolute IMAP names; subinboxes found
// case-insensitively) with its children. The new parent must exist for a
// subinbox (ErrNonexistent); new may not exist (ErrAlreadyExists), be
// INBOX (ErrInbox) or lie inside old (ErrInsideItself). Renaming INBOX
// moves its messages into the new folder and leaves INBOX empty, its
// children where they are (draft 6.3.3, RFC 9051 6.3.6). Subscriptions
// and REPLACE aliases follow the folder; what the rename makes a subinbox
// is subscribed (subscriptions.go).
func (s *Store) RenameFolder(ctx context.Context, acct Account, oldName, newName string) error {
	oc, err := CanonicalFolderName(oldName)
	if err != nil {
		return err
	}
	nc, err := CanonicalFolderName(newName)
	if err != nil {
		return err
	}
	if nc == "INBOX" {
		return fmt.Errorf("%w: cannot rename to INBOX: %w", ErrInbox, ErrAlreadyExists)
	}
	mu := s.accountTree(acct.ID)
	mu.Lock()
	defer mu.Unlock()
	list, err := s.listFolders(acct)
	if err != nil {
		return err
	}
	old, ok := findFolder(list, oc)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNonexistent, oldName)
	}
	if old != "INBOX" && len(nc) > len(old) && strings.EqualFold(nc[:len(old)+1], old+Separator) {
		return fmt.Errorf("%w: %s lies inside %s", ErrInsideItself, nc, old)
	}
	nn, missing, err := placeName(list, nc)
	if err != nil {
		return err
	}
	if nn == old {
		return fmt.Errorf("%w: %s", ErrAlreadyExists, nn)
	}
	if clash(list, nn, old) {
		return fmt.Errorf("%w: %s", ErrAlreadyExists, nn)
	}
	root := s.AccountDir(acct)
	if old == "INBOX" {
		if err := checkDirLen(nn); err != nil {
			return err
		}
		made := append(missing, nn)
		if err := s.subscribeMade(acct, made...); err != nil {
			return err
		}
		for _, p := range made {
			if err := s.makeMaildir(folderDir(root, p), true); err != nil {
				return err
			}
			s.notifyFolder(acct, EventFolderCreated, p, "")
		}
		src, err := s.OpenFolder(ctx, acct, "INBOX")
		if err != nil {
			return err
		}
		if _, _, err := s.moveMessages(ctx, src.mb, nil, s.box(acct, nn), true); err != nil {
			return err
		}
		s.log.Info("INBOX renamed: messages moved", "account", acct.Address, "folder", nn)
		return nil
	}
	// The folder and its children, renamed one by one (undone on failure).
	moves := [][2]string{{old, nn}}
	for _, n := range list {
		if strings.HasPrefix(n, old+Separator) {
			moves = append(moves, [2]string{n, nn + n[len(old):]})
		}
	}
	for _, m := range moves {
		if err := checkDirLen(m[1]); err != nil {
			return err
		}
	}
	for _, p := range missing {
		if err := s.makeMaildir(folderDir(root, p), true); err != nil {
			return err
		}
		s.notifyFolder(acct, EventFolderCreated, p, "")
	}
	// Batches being placed in these folders finish first, and none starts
	// until the state names the new directories (commit.go).
	// The new names are held too: no state may be made for one while
	// its directory is arriving (box).
	var moving []string
	for _, m := range moves {
		moving = append(moving, m[0], m[1])
	}
	unlock := s.lockBoxes(acct, moving)
	for i, m := range moves {
		err := os.Rename(folderDir(root, m[0]), folderDir(root, m[1]))
		if err != nil {
			for j := i - 1; j >= 0; j-- {
				os.Rename(folderDir(root, moves[j][1]), folderDir(root, moves[j][0]))
			}
			unlock()
			return fmt.Errorf("maildir: rename folder: %w", err)
		}
	}
	s.renameBoxes(acct, old, nn)
	unlock()
	s.notifyFolder(acct, EventFolderRenamed, old, nn) // its children follow it
	if err := s.fsyncDir(root); err != nil {
		return err
	}
	var moved []string
	for _, m := range moves {
		moved = append(moved, m[1])
	}
	if err := s.renameSubscriptions(acct, old, nn, append(missing, moved...)); err != nil {
		return err
	}
	if _, err := s.wdb.ExecContext(ctx, `UPDATE aliases SET target = ? || substr(target, ?)
		WHERE account_id = ? AND (target = ? OR substr(target, 1, ?) = ?)`,
		nn, len(old)+1, acct.ID, old, len(old)+1, old+Separator); err != nil {
		return dbErr("repoint aliases", err)
	}
	s.log.Info("folder renamed", "account", acct.Address, "from", old, "to", nn)
	return nil
}

// ReplaceSubinbox (profile 6, either form): both must exist
// (ErrNonexistent) and differ, new may not lie inside old
// (ErrInsideItself), old may have no children (ErrHasChildren) and may not
// be INBOX (ErrInbox). Old's messages move into new, old is removed, and
// old becomes an alias of new (ResolveSubinbox follows it; aliases that
// pointed to old now point to new); a subscription to old becomes one to
// new.
func (s *Store) ReplaceSubinbox(ctx context.Context, acct Account, oldName, newName string) error {
	oa, err := foldername.SubinboxName(oldName)
	if err != nil {
		return err
	}
	na, err := foldername.SubinboxName(newName)
	if err != nil {
		return err
	}
	if oa == "INBOX" {
		return fmt.Errorf("%w: cannot replace INBOX", ErrInbox)
	}
	mu := s.accountTree(acct.ID)
	mu.Lock()
	defer mu.Unlock()
	list, err := s.listFolders(acct)
	if err != nil {
		return err
	}
	old, ok := findFolder(list, oa)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNonexistent, oldName)
	}
	nw, ok := findFolder(list, na)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNonexistent, newName)
	}
	if nw == old || strings.HasPrefix(nw, old+Separator) {
		return fmt.Errorf("%w: %s and %s", ErrInsideItself, old, nw)
	}
	if hasChildren(list, old) {
		return fmt.Errorf("%w: %s", ErrHasChildren, old)
	}
	src, dst := s.box(acct, old), s.box(acct, nw)
	if _, _, err := s.moveMessages(ctx, src, nil, dst, true); err != nil {
		return err
	}
	if err := s.removeFolderDir(acct, old); err != nil {
		return err
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return dbErr("begin", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "UPDATE aliases SET target = ? WHERE account_id = ? AND target = ?", nw, acct.ID, old); err != nil {
		return dbErr("repoint aliases", err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO aliases(account_id, old_key, target) VALUES (?, ?, ?)", acct.ID, strings.ToLower(old), nw); err != nil {
		return dbErr("record alias", err)
	}
	if err := tx.Commit(); err != nil {
		return dbErr("commit", err)
	}
	if err := s.editSubscriptions(acct, func(subs []string) []string {
		if !slices.ContainsFunc(subs, func(n string) bool { return sameName(n, old) }) {
			return subs
		}
		return addSub(removeSub(subs, old), nw)
	}); err != nil {
		return err
	}
	s.log.Info("subinbox replaced", "account", acct.Address, "old", old, "new", nw)
	return nil
}

// MoveSubinbox moves the subinbox leaf from parent from to parent to
// (profile 6): from and to in either form, "" or INBOX being the root.
// Children move along. It is RenameFolder underneath.
func (s *Store) MoveSubinbox(ctx context.Context, acct Account, leaf, from, to string) error {
	old, nw, err := foldername.MoveNames(leaf, from, to)
	if err != nil {
		return err
	}
	return s.RenameFolder(ctx, acct, old, nw)
}

// Folders lists every folder of the account, sorted, INBOX first.
func (s *Store) Folders(ctx context.Context, acct Account) ([]FolderInfo, error) {
	list, err := s.listFolders(acct)
	if err != nil {
		return nil, err
	}
	subs, err := readSubscriptions(s.AccountDir(acct))
	if err != nil {
		return nil, err
	}
	subscribed := make(map[string]bool, len(subs))
	for _, n := range subs {
		subscribed[n] = true
	}
	out := make([]FolderInfo, 0, len(list))
	for _, n := range list {
		out = append(out, FolderInfo{Name: n, SpecialUse: specialUse(n), Subscribed: subscribed[n]})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if (out[i].Name == "INBOX") != (out[j].Name == "INBOX") {
			return out[i].Name == "INBOX"
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// ResolveSubinbox maps a subinbox name in either form, any case, to the
// absolute name of an existing folder, following REPLACE aliases; else
// ErrNonexistent (profile 6, 8, 9).
func (s *Store) ResolveSubinbox(ctx context.Context, acct Account, name string) (string, error) {
	abs, err := foldername.SubinboxName(name)
	if err != nil {
		return "", err
	}
	list, err := s.listFolders(acct)
	if err != nil {
		return "", err
	}
	for hop := 0; hop < 8; hop++ {
		if f, ok := findFolder(list, abs); ok {
			return f, nil
		}
		var target string
		err := s.rdb.QueryRowContext(ctx, "SELECT target FROM aliases WHERE account_id = ? AND old_key = ?", acct.ID, strings.ToLower(abs)).Scan(&target)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return "", dbErr("lookup alias", err)
		}
		abs = target
	}
	return "", fmt.Errorf("%w: %s", ErrNonexistent, name)
}
