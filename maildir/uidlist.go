package maildir

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// dovecot-uidlist, version 3 (Dovecot 2.3 maildir-uidlist.c):
//
//	3 V<uidvalidity> N<nextuid> G<guid> [<key><value>...]
//	<uid> [<key><value>...] :<base name>
//
// Records are in ascending UID order. Like Dovecot, new records are
// appended under the dot lock without rewriting the header, so the next
// UID is max(N, last UID + 1); a full rewrite (lock file written, fsynced
// and renamed over the list) happens when a folder is made and when dead
// records pile up. A last line without its newline is a write that never
// completed (and so was never acknowledged): it is ignored.
const uidlistName = "dovecot-uidlist"

type uidlist struct {
	uidValidity uint32
	nextUID     uint32
	guid        string
	hdrExtra    []string // other header fields, kept as found
	recs        []ulRec
	torn        bool // the file ended in a partial line
}

type ulRec struct {
	uid  uint32
	ext  string // extension fields, kept as found
	base string
}

var errUIDList = errors.New("maildir: corrupt dovecot-uidlist")

func newGUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// parseUIDList parses a dovecot-uidlist (version 3, or Courier/Dovecot
// version 1).
func parseUIDList(data []byte) (*uidlist, error) {
	ul := &uidlist{}
	if n := bytes.LastIndexByte(data, '\n'); n != len(data)-1 {
		ul.torn = len(data) > 0
		data = data[:n+1]
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	if !sc.Scan() {
		return nil, fmt.Errorf("%w: no header", errUIDList)
	}
	hdr := strings.Fields(sc.Text())
	if len(hdr) == 0 {
		return nil, fmt.Errorf("%w: empty header", errUIDList)
	}
	version := hdr[0]
	switch version {
	case "3":
		for _, f := range hdr[1:] {
			switch f[0] {
			case 'V':
				v, err := strconv.ParseUint(f[1:], 10, 32)
				if err != nil {
					return nil, fmt.Errorf("%w: bad V", errUIDList)
				}
				ul.uidValidity = uint32(v)
			case 'N':
				v, err := strconv.ParseUint(f[1:], 10, 32)
				if err != nil {
					return nil, fmt.Errorf("%w: bad N", errUIDList)
				}
				ul.nextUID = uint32(v)
			case 'G':
				ul.guid = f[1:]
			default:
				ul.hdrExtra = append(ul.hdrExtra, f)
			}
		}
	case "1":
		if len(hdr) != 3 {
			return nil, fmt.Errorf("%w: bad v1 header", errUIDList)
		}
		v, err1 := strconv.ParseUint(hdr[1], 10, 32)
		n, err2 := strconv.ParseUint(hdr[2], 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: bad v1 header", errUIDList)
		}
		ul.uidValidity, ul.nextUID = uint32(v), uint32(n)
	default:
		return nil, fmt.Errorf("%w: version %q", errUIDList, version)
	}
	if ul.uidValidity == 0 {
		return nil, fmt.Errorf("%w: no UIDVALIDITY", errUIDList)
	}
	var last uint32
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		sp := strings.IndexByte(line, ' ')
		if sp <= 0 {
			return nil, fmt.Errorf("%w: bad record", errUIDList)
		}
		uid64, err := strconv.ParseUint(line[:sp], 10, 32)
		if err != nil || uid64 == 0 || uint32(uid64) <= last {
			return nil, fmt.Errorf("%w: bad or unordered UID", errUIDList)
		}
		rest := line[sp+1:]
		var rec ulRec
		rec.uid = uint32(uid64)
		if version == "3" {
			i := strings.Index(rest, ":")
			if i < 0 || (i > 0 && rest[i-1] != ' ') {
				return nil, fmt.Errorf("%w: record without file name", errUIDList)
			}
			rec.ext = strings.TrimSpace(rest[:i])
			rec.base = rest[i+1:]
		} else {
			rec.base = rest
		}
		if b, _, _ := splitName(rec.base); b != rec.base || rec.base == "" || strings.ContainsAny(rec.base, "/ ") {
			return nil, fmt.Errorf("%w: bad file name", errUIDList)
		}
		last = rec.uid
		ul.recs = append(ul.recs, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", errUIDList, err)
	}
	if ul.nextUID <= last {
		ul.nextUID = last + 1
	}
	if ul.nextUID == 0 {
		ul.nextUID = 1
	}
	return ul, nil
}

func (ul *uidlist) header() string {
	var b strings.Builder
	fmt.Fprintf(&b, "3 V%d N%d", ul.uidValidity, ul.nextUID)
	if ul.guid != "" {
		b.WriteString(" G" + ul.guid)
	}
	for _, f := range ul.hdrExtra {
		b.WriteString(" " + f)
	}
	b.WriteByte('\n')
	return b.String()
}

func appendRecord(b []byte, r ulRec) []byte {
	b = strconv.AppendUint(b, uint64(r.uid), 10)
	b = append(b, ' ')
	if r.ext != "" {
		b = append(b, r.ext...)
		b = append(b, ' ')
	}
	b = append(b, ':')
	b = append(b, r.base...)
	return append(b, '\n')
}

func (ul *uidlist) format() []byte {
	b := make([]byte, 0, 64+len(ul.recs)*64)
	b = append(b, ul.header()...)
	for _, r := range ul.recs {
		b = appendRecord(b, r)
	}
	return b
}

// writeUIDListFile writes a complete list to path (no lock; the path is
// not yet visible to anyone).
func (s *Store) writeUIDListFile(path string, ul *uidlist) error {
	f, err := s.openFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("maildir: write uidlist: %w", err)
	}
	_, err = f.Write(ul.format())
	if err == nil {
		err = s.fsyncFile(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("maildir: write uidlist: %w", err)
	}
	return nil
}

// rewriteUIDList replaces dir's dovecot-uidlist atomically under its dot
// lock (taken here).
func (s *Store) rewriteUIDList(ctx context.Context, dir string, ul *uidlist) error {
	lock, err := s.dotlock(ctx, filepath.Join(dir, uidlistName))
	if err != nil {
		return err
	}
	defer lock.release()
	return s.replaceFile(filepath.Join(dir, uidlistName), ul.format())
}

func readUIDList(dir string) (*uidlist, os.FileInfo, error) {
	path := filepath.Join(dir, uidlistName)
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	data := make([]byte, st.Size())
	n, err := f.ReadAt(data, 0)
	if err != nil && n != len(data) {
		return nil, nil, fmt.Errorf("maildir: read uidlist: %w", err)
	}
	ul, err := parseUIDList(data[:n])
	return ul, st, err
}

// appendUIDList appends records to dir's list (dot lock held by the
// caller; ulID is the list as last read under it, clean that it ended in
// a whole line) without syncing it; it returns the open file for the
// caller to fsync and close. A torn tail (an append that never completed)
// is cut first; a failed write is cut back, so the list never holds half
// a line.
func (s *Store) appendUIDList(dir string, ulID fileID, clean bool, recs []ulRec) (*descriptor, fileID, error) {
	if len(recs) == 0 {
		return nil, ulID, nil
	}
	path := filepath.Join(dir, uidlistName)
	f, err := s.openFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, fileID{}, fmt.Errorf("maildir: append uidlist: %w", err)
	}
	fail := func(what string, err error) (*descriptor, fileID, error) {
		f.Close()
		return nil, fileID{}, fmt.Errorf("maildir: %s uidlist: %w", what, err)
	}
	id, err := f.stat()
	if err != nil {
		return fail("append", err)
	}
	size := id.size
	// Unchanged since it was read or written here whole: no torn tail
	// to look for (spares an open and a read per batch).
	if !clean || id != ulID {
		if tail, ok := tornTail(path, size); ok {
			if err := f.truncate(tail); err != nil {
				return fail("repair", err)
			}
			size = tail
		}
	}
	var b []byte
	for _, r := range recs {
		b = appendRecord(b, r)
	}
	if err := f.writeAt(b, size); err != nil {
		f.truncate(size)
		return fail("append", err)
	}
	if id, err = f.stat(); err != nil {
		return fail("append", err)
	}
	return f, id, nil
}

// tornTail reports where a file whose last line lacks its newline should
// be cut (just after the last newline).
func tornTail(path string, size int64) (int64, bool) {
	if size == 0 {
		return 0, false
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	chunk := int64(4096)
	end := size
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, size-1); err != nil || last[0] == '\n' {
		return 0, false
	}
	for end > 0 {
		start := end - chunk
		if start < 0 {
			start = 0
		}
		buf := make([]byte, end-start)
		if _, err := f.ReadAt(buf, start); err != nil {
			return 0, false
		}
		for i := len(buf) - 1; i >= 0; i-- {
			if buf[i] == '\n' {
				return start + int64(i) + 1, true
			}
		}
		end = start
	}
	return 0, false // no complete line at all: leave it to the reader
}
