package maildir

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Delivery is one durable delivery transaction (the shape of maddy's
// module.Delivery): BeginDelivery, AddRecipient for each recipient folder,
// Write the body (once, whatever the number of recipients), then Commit
// or Abort.
//
// The body goes to a file in <data>/spool (on the same file system as the
// mail, so it can be hard-linked). Commit fsyncs it, links it into every
// recipient folder's new/ (copying where a link is impossible), and hands
// the folders to their group committers (commit.go), which fsync new/ and
// dovecot-uidlist once per batch and assign UIDs; only when every copy is
// durable does Commit return. Abort, or a Commit that fails, removes
// whatever was made. A crash leaves at most an unreferenced file in the
// spool (removed at the next Open) or a complete, fsynced message in new/
// that gets its UID at the next look (never half a file outside tmp/ and
// the spool).
type Delivery struct {
	s       *Store
	mu      sync.Mutex
	path    string // the spool file, or /proc/self/fd/N for an unnamed one
	unnamed bool   // O_TMPFILE: path is only valid while file is open
	file    *descriptor
	bw      *bufio.Writer
	cw      *crlfWriter
	err     error // sticky write error
	done    bool

	rcpts   []rcpt
	targets []*mailbox
}

type rcpt struct {
	acct   Account
	folder string
	box    *mailbox
}

// ErrDeliveryDone is returned when a finished delivery is used again.
var ErrDeliveryDone = errors.New("maildir: delivery already committed or aborted")

const spoolDir = "spool"

// BeginDelivery starts a delivery.
//
// Where the kernel allows (Linux O_TMPFILE, with /proc mounted), the body
// is written to an unnamed file in the spool, linked into the folders
// through /proc/self/fd: no name is made in and removed from the shared
// spool directory per message (its lock was the hottest point of the
// commit path), and a crash leaves nothing at all behind. Elsewhere a
// named spool file is used.
func (s *Store) BeginDelivery(ctx context.Context) (*Delivery, error) {
	dir := filepath.Join(s.dataDir, spoolDir)
	if s.spoolTmpfile() {
		f, err := s.openTmpfile(dir)
		if err == nil {
			return s.newDelivery(f, fdPath(f.fd), true), nil
		}
		s.log.Warn("spool: unnamed file failed; using a named one", "err", err)
	}
	now := time.Now()
	path := filepath.Join(dir, fmt.Sprintf("%d.M%dP%dQ%d.%s", now.Unix(), now.Nanosecond()/1000, s.pid, s.seq.Add(1), s.hostname))
	f, err := s.createFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err = os.MkdirAll(dir, 0o700); err == nil {
			f, err = s.createFile(path)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("maildir: spool: %w", err)
	}
	return s.newDelivery(f, path, false), nil
}

// spoolBufSize is the write buffer of a delivery's spool file: most
// messages are written with one write(2).
const spoolBufSize = 64 << 10

// newDelivery wraps an open spool file. Its buffer comes from the Store's
// pool and goes back when the delivery ends: at hundreds of deliveries a
// second a fresh 64 KiB each would be most of the server's garbage.
func (s *Store) newDelivery(f *descriptor, path string, unnamed bool) *Delivery {
	bw, _ := s.spoolBufs.Get().(*bufio.Writer)
	if bw == nil {
		bw = bufio.NewWriterSize(f, spoolBufSize)
	} else {
		bw.Reset(f)
	}
	return &Delivery{s: s, path: path, unnamed: unnamed, file: f, bw: bw, cw: &crlfWriter{w: bw}}
}

// releaseBuf returns the write buffer to the pool (d.mu held, delivery
// done); a buffer still holding unwritten octets is dropped with them.
func (d *Delivery) releaseBuf() {
	if d.bw == nil {
		return
	}
	d.bw.Reset(nil)
	d.s.spoolBufs.Put(d.bw)
	d.bw, d.cw = nil, nil
}

// cleanSpool removes spool files left by a crash (older than an hour, so a
// delivery of another process on the same data directory is never hit).
func (s *Store) cleanSpool() {
	dir := filepath.Join(s.dataDir, spoolDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Hour {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// Write appends body octets; bare LF becomes CRLF.
func (d *Delivery) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done {
		return 0, ErrDeliveryDone
	}
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.cw.Write(p)
	if err != nil {
		d.err = fmt.Errorf("maildir: spool write: %w", err)
		return n, d.err
	}
	return n, nil
}

// AddRecipient adds a recipient folder (absolute name, subinboxes found
// case-insensitively); it must exist (ErrNonexistent). The same folder
// twice gets one copy.
func (d *Delivery) AddRecipient(acct Account, folder string) error {
	n, err := d.s.resolveFolder(acct, folder)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done {
		return ErrDeliveryDone
	}
	box := d.s.box(acct, n)
	d.rcpts = append(d.rcpts, rcpt{acct: acct, folder: n, box: box})
	for _, t := range d.targets {
		if t == box {
			return nil
		}
	}
	d.targets = append(d.targets, box)
	return nil
}

// Commit makes the message durable in every recipient folder and returns
// where each recipient's copy went (in AddRecipient order). On error
// nothing of this delivery remains; errors from the file system are
// wrapped (errors.Is(err, syscall.ENOSPC) works).
func (d *Delivery) Commit(ctx context.Context) ([]Delivered, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done {
		return nil, ErrDeliveryDone
	}
	d.done = true
	// Closed once every link is made: an unnamed file's path names the
	// open descriptor.
	defer d.file.Close()
	if !d.unnamed {
		defer d.s.fs.remove(d.path)
	}
	defer d.releaseBuf()
	if d.err != nil {
		return nil, d.err
	}
	if len(d.targets) == 0 {
		return nil, errors.New("maildir: delivery has no recipients")
	}
	if err := d.s.admitDelivery(ctx, d.rcpts, d.cw.n); err != nil { // quota.go
		d.file.Close()
		return nil, err
	}
	err := d.bw.Flush()
	size := d.cw.n
	// Announce the copies to their folders while the file syncs: a batch
	// ahead of them may wait for them to share its fsync of new/.
	for _, box := range d.targets {
		box.gc.arriving.Add(1)
	}
	if err == nil {
		err = d.s.fsyncFile(d.file)
	}
	var mtime time.Time
	if err == nil {
		mtime, err = d.file.modTime()
	}
	if !d.unnamed {
		if cerr := d.file.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		for _, box := range d.targets {
			box.arrivalCancelled()
		}
		return nil, fmt.Errorf("maildir: spool: %w", err)
	}
	copyOf := func(at time.Time, announced bool) *pending {
		return &pending{
			rec:    &msgRec{base: d.s.newBaseName(at, size, size), inNew: true, psize: size, vsize: size, mtime: mtime},
			src:    d.path,
			follow: d.unnamed,
			copyOK: true,
			// 250 needs the copy durable; its UID is listed (and the
			// message shown to readers) once the list is synced.
			durableOnly: true,
			announced:   announced, // its batch takes the announcement back
		}
	}
	ps := make([]*pending, len(d.targets))
	now := time.Now()
	for i := range d.targets {
		ps[i] = copyOf(now, true)
	}
	// Every folder commits in parallel; each batches with other
	// deliveries to the same folder.
	errs := make([]error, len(d.targets))
	if len(d.targets) == 1 {
		errs[0] = d.targets[0].commit(ctx, ps) // the common case: no goroutine
	} else {
		var wg sync.WaitGroup
		for i, box := range d.targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = box.commit(ctx, []*pending{ps[i]})
			}()
		}
		wg.Wait()
	}
	placedIn := slices.Clone(d.targets)
	for i := range placedIn {
		for attempt := 0; errs[i] != nil && isNotPlaced(errs[i]) && attempt < 5; attempt++ {
			// The folder was renamed or deleted between AddRecipient and
			// the link. A rename: try again once its state names the new
			// directory. A deletion: the copy goes to INBOX (draft 2.2.2,
			// profile 9); nothing is dropped and no 4xx is needed.
			box := placedIn[i]
			if box.isDeleted() {
				if box.name == "INBOX" {
					break
				}
				box = d.s.box(box.acct, "INBOX")
			} else {
				time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
			}
			ps[i] = copyOf(time.Now(), false)
			placedIn[i] = box
			errs[i] = box.commit(ctx, []*pending{ps[i]})
		}
	}
	if err := errors.Join(errs...); err != nil {
		// Undo the copies that made it: the delivery failed as a whole.
		for i, box := range placedIn {
			if errs[i] == nil {
				<-ps[i].done // published, or left for the next look
				if ps[i].unlisted {
					d.s.fs.remove(ps[i].placed)
					continue
				}
				box.remove(context.Background(), []*msgRec{ps[i].rec})
			}
		}
		return nil, err
	}
	out := make([]Delivered, len(d.rcpts))
	for i, r := range d.rcpts {
		for j, t := range d.targets {
			if t == r.box {
				out[i] = Delivered{Account: r.acct, Folder: placedIn[j].currentName(), UID: ps[j].rec.uid}
			}
		}
	}
	if d.s.log.Enabled(ctx, -4) {
		var names []string
		for _, o := range out {
			names = append(names, o.Account.Address+":"+o.Folder)
		}
		d.s.log.Debug("delivered", "size", size, "to", strings.Join(names, ","))
	}
	return out, nil
}

// Abort drops the delivery; nothing remains. Abort after Commit is a
// no-op.
func (d *Delivery) Abort() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done {
		return nil
	}
	d.done = true
	d.releaseBuf()
	d.file.Close()
	if d.unnamed {
		return nil // an unnamed file goes with its last descriptor
	}
	if err := d.s.fs.remove(d.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("maildir: abort: %w", &os.PathError{Op: "remove", Path: d.path, Err: err})
	}
	return nil
}
