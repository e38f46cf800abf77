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
		f, err := s.openTmpfile(dir)
		if err != nil {
			return
		}
		defer f.Close()
		probe := filepath.Join(dir, ".probe."+strconv.Itoa(s.pid)+"."+strconv.FormatUint(s.seq.Add(1), 10))
		if err := s.fs.link(fdPath(f.fd), probe, true); err != nil {
			return
		}
		s.fs.remove(probe)
		s.spoolUnnamed = true
	})
	return s.spoolUnnamed
}

func (s *Store) openTmpfile(dir string) (*descriptor, error) {
	return s.openFile(dir, unix.O_TMPFILE|unix.O_WRONLY, 0o600)
}

// fdPath names an open file through /proc (valid while it is open).
func fdPath(fd int) string {
	return "/proc/self/fd/" + strconv.Itoa(fd)
}
