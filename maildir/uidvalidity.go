package maildir

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// dovecot-uidvalidity in the Maildir root holds the last UIDVALIDITY
// handed out, as 8 hex digits, and an empty marker file
// "dovecot-uidvalidity.<hex>" names the same value (Dovecot 2.3's
// mailbox-uidvalidity). The next value is max(last+1, now), so a folder
// deleted and created again under the same name gets a new UIDVALIDITY
// (RFC 9051 2.3.1.1).
const uidvalidityName = "dovecot-uidvalidity"

func (s *Store) nextUIDValidity(root string) (uint32, error) {
	path := filepath.Join(root, uidvalidityName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return 0, fmt.Errorf("maildir: uidvalidity: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return 0, fmt.Errorf("maildir: uidvalidity lock: %w", err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	buf := make([]byte, 16)
	n, _ := f.ReadAt(buf, 0)
	cur, err := strconv.ParseUint(strings.TrimSpace(string(buf[:n])), 16, 32)
	if err != nil {
		cur = 0
	}
	next := uint32(cur) + 1
	if now := uint32(time.Now().Unix()); now > next {
		next = now
	}
	val := fmt.Sprintf("%08x", next)
	if _, err := f.WriteAt([]byte(val), 0); err != nil {
		return 0, fmt.Errorf("maildir: uidvalidity: %w", err)
	}
	if err := f.Truncate(int64(len(val))); err != nil {
		return 0, fmt.Errorf("maildir: uidvalidity: %w", err)
	}
	if !s.opts.NoSync {
		if err := f.Sync(); err != nil {
			return 0, fmt.Errorf("maildir: uidvalidity: %w", err)
		}
	}
	marker := filepath.Join(root, uidvalidityName+"."+val)
	old := filepath.Join(root, fmt.Sprintf("%s.%08x", uidvalidityName, cur))
	if cur == 0 || os.Rename(old, marker) != nil {
		if m, err := os.OpenFile(marker, os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			m.Close()
		}
	}
	return next, nil
}
