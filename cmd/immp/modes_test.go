package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestDataDirModes: under umask 022, a server started on an empty data
// directory makes every file 0600 and every directory 0700: the
// database (with -wal and -shm), the self-signed certificate, its key and
// their directory, and an account's Maildir after a delivery over SMTP.
// Not parallel: the umask is the process's.
func TestDataDirModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	d, _ := startTestDaemon(t, "[accounts]\nauto_create = true\n")
	smtpTalk(t, d.Addr("smtp.listen"),
		smtpStep{"", "220 "}, smtpStep{"EHLO client.test\r\n", "250 "}, smtpStep{"MAIL FROM:<bob@remote.test>\r\n", "250 "},
		smtpStep{"RCPT TO:<dev@example.org>\r\n", "250 "}, smtpStep{"DATA\r\n", "354 "},
		smtpStep{"Subject: modes\r\n\r\nbody\r\n.\r\n", "250 "}, smtpStep{"QUIT\r\n", "221 "})
	root := d.Config().DataDir
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return nil
		}
		want := fs.FileMode(0o600)
		if e.IsDir() {
			want = 0o700
		}
		rel, _ := filepath.Rel(root, path)
		seen[filepath.Base(path)] = true
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", rel, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"immp.db", "immp.db-wal", "immp.db-shm", "selfsigned.crt", "selfsigned.key", "tls", "Maildir", "dovecot-uidlist"} {
		if !seen[f] {
			t.Errorf("%s not found under the data directory to check", f)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "mail", "example.org", "dev", "Maildir", "new")); err != nil {
		t.Error(err)
	}
}
