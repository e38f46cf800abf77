package immp

import (
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"testing"

	"github.com/immp-mail/immp/immp/wire"
)

// A full disk or a read-only file system is a temporary NO [UNAVAILABLE];
// an I/O error stays a SERVERBUG.
func TestTranslateStorage(t *testing.T) {
	t.Parallel()
	c := &conn{log: slog.New(slog.DiscardHandler)}
	for _, tt := range []struct {
		errno syscall.Errno
		want  string
	}{
		{syscall.ENOSPC, codeUnavailable},
		{syscall.EROFS, codeUnavailable},
		{syscall.EIO, codeServerBug},
	} {
		err := fmt.Errorf("maildir: make folder: %w", &os.PathError{Op: "mkdir", Path: "x", Err: tt.errno})
		status, code, _ := c.translate(&wire.Command{Name: "CREATE"}, err)
		if status != wire.NO || code != tt.want {
			t.Errorf("%v: %s [%s], want NO [%s]", tt.errno, status, code, tt.want)
		}
	}
}
