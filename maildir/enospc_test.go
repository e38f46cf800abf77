package maildir

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// A real full disk: a small tmpfs (needs root to mount; skipped
// otherwise). Delivery and APPEND fail with ENOSPC, wrapped, and leave
// nothing behind; once space is back, delivery works.
func TestRealENOSPC(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	s := openStore(t, Options{DataDir: filepath.Join(mnt, "data")})
	a := newAccount(t, s, "alice@example.org")
	ctx := context.Background()
	inbox := mustOpen(t, s, a, "INBOX")
	// Fill the file system.
	filler := filepath.Join(mnt, "filler")
	f, _ := os.Create(filler)
	chunk := bytes.Repeat([]byte("x"), 64*1024)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	big := bytes.Repeat([]byte("line of text\r\n"), 20000)
	d, err := s.BeginDelivery(ctx)
	if err == nil {
		d.AddRecipient(a, "INBOX")
		_, werr := d.Write(big)
		_, err = d.Commit(ctx)
		if werr != nil && err == nil {
			t.Fatal("commit after failed write succeeded")
		}
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("delivery error %v, want ENOSPC", err)
	}
	_, err = inbox.Append(ctx, bytes.NewReader(big), nil, zeroTime)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("append error %v, want ENOSPC", err)
	}
	os.Remove(filler)
	assertEmpty(t, s, a)
	deliver(t, s, "x\r\n", a, "INBOX")
	if ms := messages(t, inbox); len(ms) != 1 {
		t.Fatalf("messages %v", ms)
	}
}
