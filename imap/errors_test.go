package imap

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// A full disk or a read-only file system is a temporary NO [UNAVAILABLE]
// (RFC 5530); an I/O error stays a SERVERBUG.
func TestToWireStorage(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		errno syscall.Errno
		want  imap.ResponseCode
	}{
		{syscall.ENOSPC, imap.ResponseCodeUnavailable},
		{syscall.EDQUOT, imap.ResponseCodeUnavailable},
		{syscall.EROFS, imap.ResponseCodeUnavailable},
		{syscall.EIO, imap.ResponseCodeServerBug},
	} {
		err := fmt.Errorf("maildir: create message file: %w", &os.PathError{Op: "open", Path: "x", Err: tt.errno})
		var ie *imap.Error
		if !errors.As(toWire(err), &ie) || ie.Type != imap.StatusResponseTypeNo || ie.Code != tt.want {
			t.Errorf("%v: %v, want NO [%s]", tt.errno, toWire(err), tt.want)
		}
	}
}
