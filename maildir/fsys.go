package maildir

import (
	"io"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The file-system seam. Everything the durable path does to the disk
// (spool files, message files, links and renames into new/ and cur/,
// dovecot-uidlist appends and rewrites, and every fsync) goes through the
// Store's fileSystem, so a test can record each operation in order and
// work out what a power cut at any moment would leave behind
// (powercut_test.go). The real one, osFS, is the system calls themselves:
// the seam costs one interface call per system call. Reads, stats and
// directory creation go to the system directly: they change nothing a
// power cut could lose.
//
// Errors come back as the bare errno; descriptor and the callers wrap
// them with the path.
type fileSystem interface {
	// open opens (O_CREAT: creates; O_TMPFILE: makes an unnamed file in
	// the directory path) and returns a close-on-exec descriptor.
	open(path string, flags int, perm uint32) (int, error)
	write(fd int, b []byte) (int, error)
	pwrite(fd int, b []byte, off int64) (int, error)
	ftruncate(fd int, size int64) error
	fsync(fd int) error
	fdatasync(fd int) error
	close(fd int) error
	// link makes newpath a hard link to oldpath; follow resolves oldpath
	// if it is a symbolic link (only for /proc/self/fd names, spool.go).
	link(oldpath, newpath string, follow bool) error
	rename(oldpath, newpath string) error
	remove(path string) error
}

// osFS is the real file system.
type osFS struct{}

func (osFS) open(path string, flags int, perm uint32) (fd int, err error) {
	err = ignoringEINTR(func() error {
		fd, err = syscall.Open(path, flags|syscall.O_CLOEXEC, perm)
		return err
	})
	return fd, err
}

func (osFS) write(fd int, b []byte) (n int, err error) {
	err = ignoringEINTR(func() error {
		n, err = syscall.Write(fd, b)
		return err
	})
	return n, err
}

func (osFS) pwrite(fd int, b []byte, off int64) (n int, err error) {
	err = ignoringEINTR(func() error {
		n, err = syscall.Pwrite(fd, b, off)
		return err
	})
	return n, err
}

func (osFS) ftruncate(fd int, size int64) error {
	return ignoringEINTR(func() error { return syscall.Ftruncate(fd, size) })
}

func (osFS) fsync(fd int) error {
	return ignoringEINTR(func() error { return syscall.Fsync(fd) })
}

func (osFS) fdatasync(fd int) error {
	return ignoringEINTR(func() error { return syscall.Fdatasync(fd) })
}

// close is not retried: on Linux the descriptor is gone even when close
// reports EINTR.
func (osFS) close(fd int) error { return syscall.Close(fd) }

func (osFS) link(oldpath, newpath string, follow bool) error {
	flags := 0
	if follow {
		flags = unix.AT_SYMLINK_FOLLOW
	}
	return ignoringEINTR(func() error {
		return unix.Linkat(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, flags)
	})
}

func (osFS) rename(oldpath, newpath string) error {
	return ignoringEINTR(func() error { return syscall.Rename(oldpath, newpath) })
}

// remove removes a file (not a directory).
func (osFS) remove(path string) error {
	return ignoringEINTR(func() error { return syscall.Unlink(path) })
}

func ignoringEINTR(f func() error) error {
	for {
		if err := f(); err != syscall.EINTR {
			return err
		}
	}
}

// descriptor is an open file of the durable path: a bare descriptor
// (an *os.File would add system calls for its flags and the poller,
// which refuses regular files anyway) whose writes and syncs go through
// the seam.
type descriptor struct {
	fs   fileSystem
	fd   int
	name string // for errors
}

func (s *Store) openFile(path string, flags int, perm uint32) (*descriptor, error) {
	fd, err := s.fs.open(path, flags, perm)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &descriptor{fs: s.fs, fd: fd, name: path}, nil
}

// createFile creates a new file for writing (O_EXCL).
func (s *Store) createFile(path string) (*descriptor, error) {
	return s.openFile(path, syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY, 0o600)
}

// Write writes all of b (io.Writer, for a bufio.Writer in front).
func (d *descriptor) Write(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		n, err := d.fs.write(d.fd, b[done:])
		if err != nil {
			return done, &os.PathError{Op: "write", Path: d.name, Err: err}
		}
		if n == 0 {
			return done, &os.PathError{Op: "write", Path: d.name, Err: io.ErrShortWrite}
		}
		done += n
	}
	return done, nil
}

// writeAt writes all of b at off.
func (d *descriptor) writeAt(b []byte, off int64) error {
	for len(b) > 0 {
		n, err := d.fs.pwrite(d.fd, b, off)
		if err != nil {
			return &os.PathError{Op: "write", Path: d.name, Err: err}
		}
		if n == 0 {
			return &os.PathError{Op: "write", Path: d.name, Err: io.ErrShortWrite}
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

func (d *descriptor) truncate(size int64) error {
	if err := d.fs.ftruncate(d.fd, size); err != nil {
		return &os.PathError{Op: "truncate", Path: d.name, Err: err}
	}
	return nil
}

func (d *descriptor) stat() (fileID, error) {
	var st syscall.Stat_t
	if err := ignoringEINTR(func() error { return syscall.Fstat(d.fd, &st) }); err != nil {
		return fileID{}, &os.PathError{Op: "fstat", Path: d.name, Err: err}
	}
	return idOfStat(&st), nil
}

// modTime is the file's mtime.
func (d *descriptor) modTime() (time.Time, error) {
	id, err := d.stat()
	return time.Unix(0, id.mtime), err
}

func (d *descriptor) sync() error {
	if err := d.fs.fsync(d.fd); err != nil {
		return &os.PathError{Op: "fsync", Path: d.name, Err: err}
	}
	return nil
}

func (d *descriptor) datasync() error {
	if err := d.fs.fdatasync(d.fd); err != nil {
		return &os.PathError{Op: "fdatasync", Path: d.name, Err: err}
	}
	return nil
}

// Close closes the descriptor; closing it again does nothing (the
// number may already name another file).
func (d *descriptor) Close() error {
	if d.fd < 0 {
		return nil
	}
	fd := d.fd
	d.fd = -1
	if err := d.fs.close(fd); err != nil {
		return &os.PathError{Op: "close", Path: d.name, Err: err}
	}
	return nil
}
