package outbound

import "os"

// The durability seam. What writeMessage does to make a queue file
// durable before the 250 (create it, write it, fsync it, fsync its
// directory, or remove it on failure) goes through the Queue's durableFS,
// so a test can record each operation and work out what a power cut right
// after Enqueue returned would leave (powercut_test.go). The real one is
// the os calls themselves.
type durableFS interface {
	// create makes a new file (it must not exist: os.ErrExist).
	create(path string) (durableFile, error)
	syncDir(path string) error
	remove(path string) error
}

type durableFile interface {
	Write(b []byte) (int, error)
	Sync() error
	Close() error
}

// osFS is the real file system.
type osFS struct{}

func (osFS) create(path string) (durableFile, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

func (osFS) syncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	err = d.Sync()
	d.Close()
	return err
}

func (osFS) remove(path string) error { return os.Remove(path) }
