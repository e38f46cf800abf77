package maildir

import (
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Unnamed spool files (Linux O_TMPFILE). A delivery's body is written to
// a file that has no name until it is linked into the recipients' new/
// through /proc/self/fd/N (linkat with AT_SYMLINK_FOLLOW, which needs no
// privilege, unlike AT_EMPTY_PATH). Whether that works here (kernel, file
// system, /proc) is probed once per Store.

// spoolTmpfile says whether unnamed spool files work (probed once; it
// also makes the spool directory).
func (s *Store) spoolTmpfile() bool {
	s.spoolOnce.Do(func() {
		dir := filepath.Join(s.dataDir, spoolDir)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return
		}
		f, err := openTmpfile(dir)
		if err != nil {
			return
		}
		defer f.Close()
		probe := filepath.Join(dir, ".probe."+strconv.Itoa(s.pid)+"."+strconv.FormatUint(s.seq.Add(1), 10))
		if err := linkFile(fdPath(f), probe, true); err != nil {
			return
		}
		os.Remove(probe)
		s.spoolUnnamed = true
	})
	return s.spoolUnnamed
}

func openTmpfile(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(fd), dir), nil
}

// fdPath names an open file through /proc (valid while f is open).
func fdPath(f *os.File) string {
	return "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
}

// linkFile makes dst a hard link to src; follow resolves src if it is a
// symbolic link (only ever set for fdPath names: a message file that is a
// symbolic link is never followed).
func linkFile(src, dst string, follow bool) error {
	if !follow {
		return os.Link(src, dst)
	}
	err := unix.Linkat(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.AT_SYMLINK_FOLLOW)
	if err != nil {
		return &os.LinkError{Op: "link", Old: src, New: dst, Err: err}
	}
	return nil
}
