package maildir

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// fsyncDir makes a directory's entries durable (through the seam).
func (s *Store) fsyncDir(dir string) error {
	if s.opts.NoSync {
		return nil
	}
	return syncDirVia(s.fs, dir)
}

// syncDir fsyncs a directory outside the durable path (subscriptions).
func syncDir(dir string) error { return syncDirVia(osFS{}, dir) }

func syncDirVia(fs fileSystem, dir string) error {
	fd, err := fs.open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return fmt.Errorf("maildir: open dir for sync: %w", &os.PathError{Op: "open", Path: dir, Err: err})
	}
	d := &descriptor{fs: fs, fd: fd, name: dir}
	err = d.sync()
	cerr := d.Close()
	if err != nil {
		return fmt.Errorf("maildir: sync dir: %w", err)
	}
	return cerr
}

// fsyncFile makes a file's contents durable.
func (s *Store) fsyncFile(f *descriptor) error {
	if s.opts.NoSync {
		return nil
	}
	if err := f.sync(); err != nil {
		return fmt.Errorf("maildir: sync file: %w", err)
	}
	return nil
}

// makeMaildir creates a Maildir (cur, new, tmp, dovecot-uidlist with a
// fresh UIDVALIDITY, and for folders the maildirfolder marker) at dir.
// A folder is built under a temporary name in the account root and
// renamed into place, so it appears complete or not at all. An existing
// root Maildir is completed, not replaced.
func (s *Store) makeMaildir(dir string, folder bool) error {
	root := dir
	if folder {
		root = filepath.Dir(dir)
	}
	build := dir
	if folder {
		build = filepath.Join(root, fmt.Sprintf("..immp-new.%d.%d", s.pid, s.seq.Add(1)))
		if err := os.Mkdir(build, 0o700); err != nil {
			return fmt.Errorf("maildir: create folder: %w", err)
		}
		defer os.RemoveAll(build) // only left if the rename failed
	} else if err := os.MkdirAll(build, 0o700); err != nil {
		return fmt.Errorf("maildir: create maildir: %w", err)
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.Mkdir(filepath.Join(build, sub), 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("maildir: create %s: %w", sub, err)
		}
	}
	if folder {
		f, err := os.OpenFile(filepath.Join(build, "maildirfolder"), os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("maildir: create maildirfolder: %w", err)
		}
		f.Close()
	}
	if _, err := os.Stat(filepath.Join(build, uidlistName)); errors.Is(err, os.ErrNotExist) {
		uv, err := s.nextUIDValidity(root)
		if err != nil {
			return err
		}
		ul := &uidlist{uidValidity: uv, nextUID: 1, guid: newGUID()}
		if err := s.writeUIDListFile(filepath.Join(build, uidlistName), ul); err != nil {
			return err
		}
	}
	for _, sub := range []string{"cur", "new", "tmp", ""} {
		if err := s.fsyncDir(filepath.Join(build, sub)); err != nil {
			return err
		}
	}
	if folder {
		if err := os.Rename(build, dir); err != nil {
			if errors.Is(err, os.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) {
				return fmt.Errorf("%w: directory exists", ErrAlreadyExists)
			}
			return fmt.Errorf("maildir: create folder: %w", err)
		}
	}
	return s.fsyncDir(root)
}

// Dot locks as Dovecot takes them: "<file>.lock" created exclusively,
// holding "<pid>:<host>". A lock whose process is gone (same host) or that
// is older than staleLock is a leftover of a crash and is broken. New
// contents are written to a temporary file and renamed over the file while
// the lock is held.
const staleLock = 2 * time.Minute

type lockFile struct{ path string }

func (l *lockFile) release() { os.Remove(l.path) }

func (s *Store) dotlock(ctx context.Context, path string) (*lockFile, error) {
	lock := path + ".lock"
	delay := time.Millisecond
	deadline := time.Now().Add(30 * time.Second)
	owner := fmt.Sprintf("%d:%s", s.pid, s.hostname)
	// The lock is made whole (with its owner) under a name of this
	// process's own and linked into place, so a lock file never exists
	// without its owner. That file is kept for the next lock.
	tmp := fmt.Sprintf("%s.immp-lk.%d", path, s.pid)
	s.lfMu.Lock()
	made := s.lockFiles[tmp]
	s.lfMu.Unlock()
	// Made by this Store before: no need to look (if it went away, the
	// link below fails with ENOENT and it is made again).
	if !made {
		if st, err := os.Lstat(tmp); err != nil || st.Size() != int64(len(owner)) {
			if err := os.WriteFile(tmp, []byte(owner), 0o600); err != nil {
				os.Remove(tmp)
				return nil, fmt.Errorf("maildir: lock %s: %w", filepath.Base(path), err)
			}
			s.lfMu.Lock()
			s.lockFiles[tmp] = true
			s.lfMu.Unlock()
		}
	}
	for {
		err := os.Link(tmp, lock)
		if err != nil && isNoLink(err) {
			// No hard links here: create it exclusively instead.
			var f *os.File
			if f, err = os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
				f.WriteString(owner)
				f.Close()
			}
		}
		if err == nil {
			return &lockFile{lock}, nil
		}
		if errors.Is(err, os.ErrNotExist) {
			// Our owner file went away (another Store of this process
			// closed): make it again.
			if werr := os.WriteFile(tmp, []byte(owner), 0o600); werr == nil {
				continue
			}
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("maildir: lock %s: %w", filepath.Base(path), err)
		}
		if s.staleLock(lock) {
			os.Remove(lock)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("maildir: lock %s: timed out", filepath.Base(path))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		if delay < 20*time.Millisecond {
			delay *= 2
		}
	}
}

func (s *Store) staleLock(lock string) bool {
	st, err := os.Stat(lock)
	if err != nil {
		return false // gone already: just retry
	}
	if time.Since(st.ModTime()) > staleLock {
		return true
	}
	data, err := os.ReadFile(lock)
	if err != nil {
		return false
	}
	pidStr, host, ok := strings.Cut(string(data), ":")
	if !ok || host != s.hostname {
		return false
	}
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 || pid == s.pid {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// replaceFile writes data to a temporary file beside path, fsyncs it and
// renames it over path (the caller holds path's dot lock), then fsyncs
// the directory.
func (s *Store) replaceFile(path string, data []byte) error {
	tmp := fmt.Sprintf("%s.immp-tmp.%d.%d", path, s.pid, s.seq.Add(1))
	f, err := s.createFile(tmp)
	if err != nil {
		return fmt.Errorf("maildir: write %s: %w", filepath.Base(path), err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = s.fsyncFile(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if err = s.fs.rename(tmp, path); err != nil {
			err = &os.LinkError{Op: "rename", Old: tmp, New: path, Err: err}
		}
	}
	if err != nil {
		s.fs.remove(tmp)
		return fmt.Errorf("maildir: write %s: %w", filepath.Base(path), err)
	}
	return s.fsyncDir(filepath.Dir(path))
}

// writeMessageFile writes r to a new file at path with CRLF line ends and
// fsyncs it; on failure nothing is left.
func (s *Store) writeMessageFile(path string, r io.Reader) (int64, error) {
	file, err := s.createFile(path)
	if err != nil {
		return 0, fmt.Errorf("maildir: create message file: %w", err)
	}
	bw := bufio.NewWriterSize(file, 64*1024)
	cw := &crlfWriter{w: bw}
	_, err = io.Copy(cw, r)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = s.fsyncFile(file)
	}
	if cerr := file.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		s.fs.remove(path)
		return 0, fmt.Errorf("maildir: write message: %w", err)
	}
	return cw.n, nil
}

// copyFile copies src to a new file dst (used when a hard link fails).
func (s *Store) copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("maildir: copy: %w", err)
	}
	defer in.Close()
	out, err := s.createFile(dst)
	if err != nil {
		return fmt.Errorf("maildir: copy: %w", err)
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = s.fsyncFile(out)
	}
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("maildir: copy: %w", cerr)
	}
	if err != nil {
		s.fs.remove(dst)
		return fmt.Errorf("maildir: copy: %w", err)
	}
	if st, err := in.Stat(); err == nil {
		os.Chtimes(dst, st.ModTime(), st.ModTime())
	}
	return nil
}

// privateDB makes sure the database file exists with mode 0600 before
// SQLite opens it: SQLite creates a missing database with 0644 (less the
// umask), and its -wal and -shm files take the database file's mode. A
// database, -wal or -shm left readable by others (made by an older
// version, or by hand) is narrowed to 0600: it holds password hashes.
func (s *Store) privateDB(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("maildir: create database: %w", err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			continue // -wal and -shm exist only while the database is open
		}
		if st.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, st.Mode().Perm()&0o600); err != nil {
				return fmt.Errorf("maildir: restrict database file mode: %w", err)
			}
			s.log.Warn("database file was readable by others; now 0600", "file", p)
		}
	}
	return nil
}
