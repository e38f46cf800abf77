package msgauth

import (
	"bytes"
	"io"
	"os"
)

// DefaultSpoolMemory is how much of a message a Spool keeps in memory
// before it moves to a file.
const DefaultSpoolMemory = 256 << 10

// Spool holds one message while it is checked: in memory up to a limit,
// then in an unlinked temporary file (so a crash leaves nothing behind).
// The memory a session holds is so bounded whatever the message size.
type Spool struct {
	dir    string
	memMax int
	mem    bytes.Buffer
	f      *os.File
	n      int64
}

// NewSpool returns an empty spool whose file, if needed, is made in dir
// ("" : the system's temporary directory); memMax <= 0 is
// DefaultSpoolMemory.
func NewSpool(dir string, memMax int) *Spool {
	if memMax <= 0 {
		memMax = DefaultSpoolMemory
	}
	return &Spool{dir: dir, memMax: memMax}
}

// Write appends p.
func (s *Spool) Write(p []byte) (int, error) {
	if s.f == nil && s.mem.Len()+len(p) > s.memMax {
		f, err := os.CreateTemp(s.dir, ".immp-spool-*")
		if err != nil {
			return 0, err
		}
		os.Remove(f.Name()) // open, unlinked: gone with the process
		if _, err := f.Write(s.mem.Bytes()); err != nil {
			f.Close()
			return 0, err
		}
		s.f = f
		s.mem = bytes.Buffer{}
	}
	var n int
	var err error
	if s.f != nil {
		n, err = s.f.Write(p)
	} else {
		n, err = s.mem.Write(p)
	}
	s.n += int64(n)
	return n, err
}

// Size is the number of octets written.
func (s *Spool) Size() int64 { return s.n }

// InFile reports whether the message went to a file.
func (s *Spool) InFile() bool { return s.f != nil }

// Section reads octets [off, Size()) of the spool; each call gives an
// independent reader.
func (s *Spool) Section(off int64) *io.SectionReader {
	var ra io.ReaderAt = bytes.NewReader(s.mem.Bytes())
	if s.f != nil {
		ra = s.f
	}
	return io.NewSectionReader(ra, off, s.n-off)
}

// Close releases the file, if any.
func (s *Spool) Close() error {
	s.mem = bytes.Buffer{}
	if s.f != nil {
		err := s.f.Close()
		s.f = nil
		return err
	}
	return nil
}
