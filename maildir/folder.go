package maildir

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Folder is a handle onto one folder of one account. Handles are cheap;
// every handle on the same folder shares one state in the process, so a
// change made through one (or by a delivery) is seen by all at once. A
// handle follows its folder through renames. Read-only access (EXAMINE)
// is the IMAP layer's to enforce.
type Folder struct {
	s  *Store
	mb *mailbox
}

// OpenFolder opens a folder by absolute IMAP name (INBOX in any case;
// subinboxes found case-insensitively) and brings its state up to date.
func (s *Store) OpenFolder(ctx context.Context, acct Account, name string) (*Folder, error) {
	n, err := s.resolveFolder(acct, name)
	if err != nil {
		return nil, err
	}
	mb := s.box(acct, n)
	if err := mb.refresh(ctx); err != nil {
		return nil, err
	}
	return &Folder{s: s, mb: mb}, nil
}

// Name returns the folder's current absolute name.
func (f *Folder) Name() string {
	f.mb.mu.Lock()
	defer f.mb.mu.Unlock()
	return f.mb.name
}

// Status returns the folder's counters (RFC 9051 6.3.11).
func (f *Folder) Status(ctx context.Context) (Status, error) {
	if err := f.mb.refresh(ctx); err != nil {
		return Status{}, err
	}
	mb := f.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	st := Status{Messages: uint32(len(mb.msgs)), UIDNext: mb.visibleNextUIDLocked(), UIDValidity: mb.uidValidity,
		Recent: mb.recentLocked(), HighestModSeq: mb.highestModseq}
	for _, m := range mb.msgs {
		if !hasLetter(m.info, 'S') {
			st.Unseen++
		}
		if hasLetter(m.info, 'T') {
			st.Deleted++
		}
		st.Size += m.vsize
	}
	return st, nil
}

// Lookup returns the messages with the given UIDs as the folder's state
// has them now, without looking at the disk (a session that has synced
// its watcher is up to date): out[i] describes uids[i], with UID 0 for a
// message that is gone.
func (f *Folder) Lookup(uids []uint32) []Message {
	mb := f.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	out := make([]Message, len(uids))
	for i, u := range uids {
		if m := mb.byUID[u]; m != nil {
			out[i] = mb.messageOf(m)
		}
	}
	return out
}

// UIDValidity returns the folder's UIDVALIDITY.
func (f *Folder) UIDValidity() uint32 {
	f.mb.mu.Lock()
	defer f.mb.mu.Unlock()
	return f.mb.uidValidity
}

// Messages returns every message, sorted by UID, after bringing the state
// up to date with the disk. The Flags slices are shared with other
// callers and events: the layer never changes one once handed out (a flag
// change makes a new slice), and callers must not modify them either
// (their capacity equals their length, so an append copies).
func (f *Folder) Messages(ctx context.Context) ([]Message, error) {
	if err := f.mb.refresh(ctx); err != nil {
		return nil, err
	}
	mb := f.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	out := make([]Message, len(mb.msgs))
	for i, m := range mb.msgs {
		out[i] = mb.messageOf(m)
	}
	return out, nil
}

func (mb *mailbox) messageOf(m *msgRec) Message {
	return Message{UID: m.uid, Flags: mb.flagsOf(m), Size: m.vsize, InternalDate: m.mtime, ModSeq: mb.modseqOf(m)}
}

// OpenMessage opens a message's content. Lines end in CRLF: a file stored
// with bare LF (as Dovecot stores by default) is converted while read, so
// exactly Message.Size octets come out.
func (f *Folder) OpenMessage(ctx context.Context, uid uint32) (io.ReadCloser, error) {
	for attempt := 0; ; attempt++ {
		mb := f.mb
		mb.mu.Lock()
		if mb.deleted {
			mb.mu.Unlock()
			return nil, mb.errDeleted()
		}
		m := mb.byUID[uid]
		var path string
		var convert bool
		if m != nil {
			path, convert = m.path(mb.dir), m.psize != m.vsize
		}
		mb.mu.Unlock()
		if m == nil {
			if attempt == 0 {
				if err := mb.refresh(ctx); err != nil {
					return nil, err
				}
				continue
			}
			return nil, fmt.Errorf("%w: UID %d", ErrNoSuchMessage, uid)
		}
		file, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) && attempt == 0 {
			// Renamed or removed by someone else: look again.
			mb.mu.Lock()
			mb.dirty = true
			mb.mu.Unlock()
			if err := mb.refresh(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%w: UID %d", ErrNoSuchMessage, uid)
			}
			return nil, fmt.Errorf("maildir: open message: %w", err)
		}
		if !convert {
			return file, nil
		}
		return &crlfReader{r: bufio.NewReader(file), c: file}, nil
	}
}

// crlfReader turns bare LF into CRLF.
type crlfReader struct {
	r      *bufio.Reader
	c      io.Closer
	prev   byte
	needLF bool
}

func (c *crlfReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if c.needLF {
			p[n] = '\n'
			n++
			c.needLF = false
			c.prev = '\n'
			continue
		}
		b, err := c.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b == '\n' && c.prev != '\r' {
			p[n] = '\r'
			n++
			c.needLF = true
			c.prev = '\r'
			continue
		}
		p[n] = b
		n++
		c.prev = b
	}
	return n, nil
}

func (c *crlfReader) Close() error { return c.c.Close() }

// crlfWriter writes through to w with every bare LF turned into CRLF, so
// stored messages have S= equal to W= and IMAP serves files as they are.
type crlfWriter struct {
	w      *bufio.Writer
	prevCR bool
	n      int64
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	done := 0 // octets of p written
	for done < len(p) {
		i := bytes.IndexByte(p[done:], '\n')
		if i < 0 {
			break
		}
		i += done
		bare := !c.prevCR
		if i > 0 {
			bare = p[i-1] != '\r'
		}
		c.prevCR = false
		if !bare { // up to and with the LF as it is
			if err := c.put(p[done : i+1]); err != nil {
				return done, err
			}
			done = i + 1
			continue
		}
		if err := c.put(p[done:i]); err != nil {
			return done, err
		}
		if err := c.put(crlf); err != nil {
			return i, err
		}
		done = i + 1
	}
	if done < len(p) {
		if err := c.put(p[done:]); err != nil {
			return done, err
		}
		c.prevCR = p[len(p)-1] == '\r'
	}
	return len(p), nil
}

var crlf = []byte("\r\n")

func (c *crlfWriter) put(b []byte) error {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return err
}

// Append stores a message durably (like a delivery: written to the
// spool, fsynced, renamed into cur/, the directory and dovecot-uidlist fsynced)
// with the given flags and INTERNALDATE (zero: now). It returns the UID.
func (f *Folder) Append(ctx context.Context, r io.Reader, flags []string, date time.Time) (uint32, error) {
	mb := f.mb
	s := f.s
	if err := mb.refresh(ctx); err != nil {
		return 0, err
	}
	if err := mb.ensureKeywords(ctx, flags); err != nil {
		return 0, err
	}
	mb.mu.Lock()
	info, err := mb.flagInfo(flags)
	mb.mu.Unlock()
	if err != nil {
		return 0, err
	}
	// Written in the store's spool, not the folder's tmp/: a rename or
	// deletion of the folder meanwhile cannot pull it away; the commit
	// renames it into whatever directory the folder has then.
	tmp, err := s.spoolPath("append")
	if err != nil {
		return 0, err
	}
	size, err := s.writeMessageFile(tmp, r)
	if err != nil {
		return 0, err
	}
	if err := s.CheckQuota(ctx, mb.acct, size); err != nil {
		os.Remove(tmp)
		return 0, err
	}
	if date.IsZero() {
		date = time.Now()
	}
	if err := os.Chtimes(tmp, date, date); err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("maildir: set internal date: %w", err)
	}
	rec := &msgRec{base: s.newBaseName(time.Now(), size, size), info: info, hasInfo: true, psize: size, vsize: size, mtime: date.Truncate(time.Second)}
	if st, err := os.Stat(tmp); err == nil {
		rec.mtime = st.ModTime()
	}
	p := &pending{rec: rec, src: tmp, rename: true}
	if err := mb.commit(ctx, []*pending{p}); err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return rec.uid, nil
}
