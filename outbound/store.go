package outbound

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Recipient states.
const (
	StatusQueued = "queued" // not yet delivered: never tried, or deferred
	StatusSent   = "sent"   // accepted by the next hop
	StatusFailed = "failed" // permanently failed (5xx, expiry, null MX); bounced
)

// Envelope is the part of a queue file before the message: written once at
// enqueue time, never changed.
type Envelope struct {
	ID         string    `json:"id"`
	Sender     string    `json:"sender"` // "" is the null sender (bounces)
	Recipients []string  `json:"recipients"`
	Created    time.Time `json:"created"`
	UTF8       bool      `json:"utf8,omitempty"` // SMTPUTF8 needed (RFC 6531)
	Size       int64     `json:"size"`           // octets of the message after the envelope line
}

// RcptState is one recipient's delivery state, in the state file.
type RcptState struct {
	Addr      string    `json:"addr"`
	Status    string    `json:"status"`
	Attempts  int       `json:"attempts,omitempty"`
	Next      time.Time `json:"next,omitzero"` // earliest next attempt
	LastReply string    `json:"last_reply,omitempty"`
	LastHost  string    `json:"last_host,omitempty"`
	Warned    bool      `json:"warned,omitempty"` // a delay warning was sent
}

// Entry is one queued message as "immp queue" shows it.
type Entry struct {
	Envelope
	Rcpts []RcptState `json:"rcpts"`
}

// ErrNotFound: no queued message has that ID.
var ErrNotFound = errors.New("outbound: no such queued message")

// dirs under <data_dir>/queue.
const (
	msgDir   = "msg"
	stateDir = "state"
	ctlDir   = "ctl"
	lockName = "lock"
	stsDir   = "mta-sts" // cached MTA-STS policies, one file per domain
)

// newID is a queue ID: 16 characters of [A-Z2-7], safe in a file name.
func newID() string { return strings.ToUpper(rand.Text()[:16]) }

// ValidID reports whether id can name a queue file (IDs come from SMTP
// transaction IDs and newID; anything else is refused before it reaches
// a path).
func ValidID(id string) bool {
	if len(id) < 8 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ensureDirs creates the queue directories (0700, as the data directory).
func ensureDirs(dir string) error {
	for _, d := range []string{msgDir, stateDir, ctlDir} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	return nil
}

// writeMessage writes the queue file of env and msg and makes it durable:
// the file is written in full and fsynced, then its directory is fsynced,
// so after a crash it is either there complete or absent or truncated
// (readEnvelope then discards it: it was never acknowledged).
func writeMessage(fsys durableFS, dir string, env *Envelope, msg []byte) (int64, error) {
	env.Size = int64(len(msg))
	line, err := json.Marshal(env)
	if err != nil {
		return 0, err
	}
	path := filepath.Join(dir, msgDir, env.ID)
	f, err := fsys.create(path)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 0, len(line)+1+len(msg))
	buf = append(append(append(buf, line...), '\n'), msg...)
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.syncDir(filepath.Join(dir, msgDir))
	}
	if err != nil {
		fsys.remove(path)
		return 0, err
	}
	return int64(len(line)) + 1, nil
}

// errIncomplete: a queue file cut short by a crash while it was written.
var errIncomplete = errors.New("outbound: incomplete queue file")

// readEnvelope reads a queue file's envelope and checks the file is
// complete; it returns the offset where the message starts.
func readEnvelope(path string) (Envelope, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return Envelope{}, 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 4096)
	line, err := br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, bufio.ErrBufferFull) {
			return readLongEnvelope(f)
		}
		return Envelope{}, 0, err
	}
	return parseEnvelope(f, line)
}

// readLongEnvelope handles an envelope line over 4 KiB (many recipients).
func readLongEnvelope(f *os.File) (Envelope, int64, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Envelope{}, 0, err
	}
	br := bufio.NewReader(io.LimitReader(f, 4<<20))
	line, err := br.ReadBytes('\n')
	if err != nil {
		return Envelope{}, 0, errIncomplete
	}
	return parseEnvelope(f, line)
}

func parseEnvelope(f *os.File, line []byte) (Envelope, int64, error) {
	var env Envelope
	if err := json.Unmarshal(bytes.TrimSuffix(line, []byte("\n")), &env); err != nil {
		return Envelope{}, 0, errIncomplete
	}
	fi, err := f.Stat()
	if err != nil {
		return Envelope{}, 0, err
	}
	off := int64(len(line))
	if fi.Size() != off+env.Size || !ValidID(env.ID) || len(env.Recipients) == 0 {
		return Envelope{}, 0, errIncomplete
	}
	return env, off, nil
}

// readState reads a state file; a missing or unreadable one (a crash
// while it was replaced) means every recipient is still queued: at worst
// a recipient already served is sent again, never one lost.
func readState(dir string, env Envelope) []RcptState {
	st := make([]RcptState, len(env.Recipients))
	for i, r := range env.Recipients {
		st[i] = RcptState{Addr: r, Status: StatusQueued}
	}
	b, err := os.ReadFile(filepath.Join(dir, stateDir, env.ID))
	if err != nil {
		return st
	}
	var saved []RcptState
	if json.Unmarshal(b, &saved) != nil || len(saved) != len(st) {
		return st
	}
	for i := range saved {
		if saved[i].Addr != st[i].Addr {
			return st
		}
		switch saved[i].Status {
		case StatusQueued, StatusSent, StatusFailed:
		default:
			return st
		}
	}
	return saved
}

// writeState replaces a message's state file (write, rename). It is not
// fsynced: losing it in a crash only repeats attempts (a duplicate, never
// a loss), and every bounce it records was made durable before.
func writeState(dir, id string, st []RcptState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, stateDir, id)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// removeMessage deletes a finished message: the queue file first, so a
// crash in between leaves a state file alone, which load removes.
func removeMessage(dir, id string) error {
	err := os.Remove(filepath.Join(dir, msgDir, id))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	err = os.Remove(filepath.Join(dir, stateDir, id))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// List reads the queue under dir (<data_dir>/queue) without a server:
// the files are replaced atomically, so it is safe while one runs.
// Entries are oldest first.
func List(dir string) ([]Entry, error) {
	ents, err := os.ReadDir(filepath.Join(dir, msgDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range ents {
		if !ValidID(e.Name()) {
			continue
		}
		env, _, err := readEnvelope(filepath.Join(dir, msgDir, e.Name()))
		if err != nil {
			continue // being written, or gone meanwhile
		}
		out = append(out, Entry{Envelope: env, Rcpts: readState(dir, env)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// Show returns one queued message's entry and its message text.
func Show(dir, id string) (Entry, []byte, error) {
	if !ValidID(id) {
		return Entry{}, nil, ErrNotFound
	}
	path := filepath.Join(dir, msgDir, id)
	env, off, err := readEnvelope(path)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, errIncomplete) {
		return Entry{}, nil, ErrNotFound
	}
	if err != nil {
		return Entry{}, nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Entry{}, nil, err
	}
	if int64(len(b)) < off {
		return Entry{}, nil, ErrNotFound
	}
	return Entry{Envelope: env, Rcpts: readState(dir, env)}, b[off:], nil
}

// String is a one-line summary for logs.
func (e Entry) String() string {
	return fmt.Sprintf("%s from=<%s> size=%d rcpts=%d", e.ID, e.Sender, e.Size, len(e.Recipients))
}

func (q *Queue) path(id string) string { return filepath.Join(q.opts.Dir, msgDir, id) }
