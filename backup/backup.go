package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/immp-mail/immp/maildir"
)

// Stats counts what a backup holds.
type Stats struct {
	Accounts int   `json:"accounts"`
	Folders  int   `json:"folders"`
	Messages int   `json:"messages"`
	Bytes    int64 `json:"bytes"` // of every file in the backup
	Linked   int   `json:"linked"`
	Copied   int   `json:"copied"` // message files copied where a hard link was impossible
}

// Backup copies the store's data directory into dir (missing or empty)
// while the server may run: the database first, then every folder of
// every account the database copy holds, each under its locks
// (maildir.Store.SnapshotFolder), then the manifest.
func Backup(ctx context.Context, store *maildir.Store, dir string) (Manifest, error) {
	if err := emptyDir(dir); err != nil {
		return Manifest{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	started := time.Now().UTC()
	dbCopy := filepath.Join(dir, dbName)
	if err := copyDatabase(ctx, filepath.Join(store.DataDir(), dbName), dbCopy); err != nil {
		return Manifest{}, err
	}
	accts, err := accountsOf(ctx, dbCopy)
	if err != nil {
		return Manifest{}, err
	}
	var st Stats
	for _, a := range accts {
		if err := backupAccount(ctx, store, a, dir, &st); err != nil {
			return Manifest{}, fmt.Errorf("backup: account %s: %w", a.Address, err)
		}
		st.Accounts++
	}
	m, err := writeManifest(dir, started, st)
	if err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// copyDatabase writes a copy of the live database with VACUUM INTO: it
// runs in one read transaction, so the copy is the database as of one
// moment (WAL: writers of other connections and processes go on; the
// copy holds what was committed when the transaction began).
func copyDatabase(ctx context.Context, src, dst string) error {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	db, err := sql.Open("sqlite", "file:"+src+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("backup: open database: %w", err)
	}
	defer db.Close()
	// VACUUM INTO makes the file with the umask's mode: made 0600 first
	// (it holds password hashes). SQLite refuses an existing non-empty
	// file only; an empty one it fills.
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	f.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("backup: copy database: %w", err)
	}
	return syncFile(dst)
}

// accountsOf lists the accounts of the database copy.
func accountsOf(ctx context.Context, path string) ([]maildir.Account, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return nil, fmt.Errorf("backup: read database copy: %w", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT id, address FROM accounts ORDER BY address")
	if err != nil {
		return nil, fmt.Errorf("backup: read database copy: %w", err)
	}
	defer rows.Close()
	var out []maildir.Account
	for rows.Next() {
		var a maildir.Account
		if err := rows.Scan(&a.ID, &a.Address); err != nil {
			return nil, fmt.Errorf("backup: read database copy: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// skipped: files of a Maildir not copied. Lock files and the store's
// temporary files are of the moment; dovecot-uidlist is written from the
// snapshot; Dovecot's own index and cache files it rebuilds.
func skipped(name string) bool {
	return name == "dovecot-uidlist" || strings.HasSuffix(name, ".lock") ||
		strings.Contains(name, ".immp-lk.") || strings.Contains(name, ".immp-tmp.") ||
		strings.HasPrefix(name, "dovecot.index") || strings.HasPrefix(name, "dovecot.list.index")
}

func backupAccount(ctx context.Context, store *maildir.Store, a maildir.Account, dir string, st *Stats) error {
	src := store.AccountDir(a)
	rel, err := filepath.Rel(store.DataDir(), src)
	if err != nil {
		return err
	}
	dst := filepath.Join(dir, rel)
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	folders, err := store.Folders(ctx, a)
	if errors.Is(err, maildir.ErrNoSuchAccount) {
		// Deleted after the database was copied: an empty Maildir,
		// which the restored store completes at the first look.
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.Mkdir(filepath.Join(dst, sub), 0o700); err != nil {
				return err
			}
		}
		return nil
	}
	if err != nil {
		return err
	}
	// The root's own files (subscriptions, dovecot-uidvalidity and its
	// marker) are copied with INBOX, the root's folder: small, replaced
	// whole by rename, so a read sees one version.
	for _, f := range folders {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := store.SnapshotFolder(ctx, a, f.Name, func(snap *maildir.FolderSnapshot) error {
			return copyFolder(snap, filepath.Join(dst, mustRel(src, snap.Dir)), st)
		})
		if errors.Is(err, maildir.ErrNonexistent) {
			continue // deleted meanwhile: not in the backup
		}
		if err != nil {
			return fmt.Errorf("folder %s: %w", f.Name, err)
		}
		st.Folders++
	}
	return nil
}

func mustRel(base, p string) string {
	r, err := filepath.Rel(base, p)
	if err != nil {
		return p
	}
	return r
}

// copyFolder runs under the folder's locks: link every numbered file,
// write the list of the records whose file was linked, copy the folder's
// small files (dovecot-keywords after the files, so every keyword
// letter a linked name carries is defined in it).
func copyFolder(snap *maildir.FolderSnapshot, dst string, st *Stats) error {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dst, sub), 0o700); err != nil {
			return err
		}
	}
	want := make(map[string]bool, len(snap.Records))
	for _, r := range snap.Records {
		want[r.Base] = true
	}
	kept := make(map[string]bool, len(snap.Records))
	var retry []string
	pass := func(bases map[string]bool) error {
		for _, sub := range []string{"new", "cur"} {
			names, err := readDirNames(filepath.Join(snap.Dir, sub))
			if err != nil {
				return err
			}
			for _, n := range names {
				base, _ := maildir.SplitFileName(n)
				if !bases[base] || kept[base] {
					continue
				}
				linked, err := placeFile(filepath.Join(snap.Dir, sub, n), filepath.Join(dst, sub, n))
				if errors.Is(err, os.ErrNotExist) {
					retry = append(retry, base) // renamed (flags) or expunged meanwhile
					continue
				}
				if err != nil {
					return err
				}
				kept[base] = true
				st.Messages++
				if linked {
					st.Linked++
				} else {
					st.Copied++
				}
			}
		}
		return nil
	}
	if err := pass(want); err != nil {
		return err
	}
	// A file renamed by a flag change between the listing and the link
	// is found under its new name; one still missing was expunged.
	for i := 0; i < 3 && len(retry) > 0; i++ {
		again := make(map[string]bool, len(retry))
		for _, b := range retry {
			again[b] = true
		}
		retry = nil
		if err := pass(again); err != nil {
			return err
		}
	}
	if snap.UIDValidity() != 0 {
		if err := writeFile(filepath.Join(dst, "dovecot-uidlist"), snap.List(kept)); err != nil {
			return err
		}
	}
	return copySmallFiles(snap.Dir, dst)
}

// placeFile hard-links src to dst, or copies it (keeping its mtime, the
// INTERNALDATE) where links are impossible. linked says which.
func placeFile(src, dst string) (linked bool, err error) {
	err = os.Link(src, dst)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, syscall.EXDEV) && !errors.Is(err, syscall.EPERM) && !errors.Is(err, syscall.EMLINK) && !errors.Is(err, syscall.ENOTSUP) {
		return false, err
	}
	return false, copyFile(src, dst)
}

// copySmallFiles copies the regular files of dir (not its
// subdirectories) that a backup keeps.
func copySmallFiles(src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || skipped(e.Name()) {
			continue
		}
		err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return err
	}
	if st, err := in.Stat(); err == nil {
		os.Chtimes(dst, st.ModTime(), st.ModTime())
	}
	return nil
}

func writeFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	var out []string
	for _, n := range names {
		if n != "" && n[0] != '.' {
			out = append(out, n)
		}
	}
	return out, err
}

// emptyDir checks that dir is missing or an empty directory.
func emptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("%s %w (%d entries)", dir, ErrNotEmpty, len(ents))
	}
	return nil
}

// ErrNotEmpty: a backup or restore target that is not empty.
var ErrNotEmpty = errors.New("is not empty")
