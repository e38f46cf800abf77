package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMbsyncSyncsAllFolders syncs every folder of an account with mbsync
// (isync) into a local Maildir and back: mail filed into a subinbox by
// address arrives in the local copy of that folder, and a flag set on the
// local file reaches the server.
func TestMbsyncSyncsAllFolders(t *testing.T) {
	t.Parallel()
	mbsync := needTool(t, "mbsync")
	s := startServer(t, serverOptions{})
	s.addUser(t, "erin@example.org", "pw-erin")
	if out, errOut, code := s.immp(t, "", []string{"IMMP_PASSWORD=pw-erin"}, "subinbox", "create",
		"-immp", s.addrs["immp"], "-imap", s.addrs["imap"], "-user", "erin@example.org", "news"); code != 0 {
		t.Fatalf("subinbox create: exit %d\n%s%s", code, out, errOut)
	}
	swaks(t, s.addrs["smtp"], "a@remote.test", "erin@example.org", "for inbox")
	swaks(t, s.addrs["smtp"], "a@remote.test", "news/erin@example.org", "for news")

	dir := t.TempDir()
	local := filepath.Join(dir, "mail")
	if err := os.MkdirAll(local, 0o700); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(dir, "mbsyncrc")
	write(t, rc, strings.Join([]string{
		"IMAPAccount immp", "Host " + hostOf(s.addrs["imap"]), "Port " + portOf(s.addrs["imap"]),
		"User erin@example.org", `Pass "pw-erin"`, "SSLType None", "AuthMechs LOGIN", "",
		"IMAPStore remote", "Account immp", "",
		"MaildirStore local", "Path " + local + "/", "Inbox " + local + "/INBOX", "SubFolders Verbatim", "",
		"Channel all", "Far :remote:", "Near :local:", "Patterns *", "Create Both", "Expunge Both", "SyncState *", "",
	}, "\n"))
	sync := func() {
		t.Helper()
		run(t, "", "env", "HOME="+dir, mbsync, "-c", rc, "-a")
	}
	sync()

	news, _ := filepath.Glob(filepath.Join(local, "INBOX", "news", "*", "*"))
	inbox, _ := filepath.Glob(filepath.Join(local, "INBOX", "cur", "*"))
	newInbox, _ := filepath.Glob(filepath.Join(local, "INBOX", "new", "*"))
	inbox = append(inbox, newInbox...)
	if len(news) != 1 || len(inbox) != 1 {
		t.Fatalf("local copy: INBOX/news has %v, INBOX has %v; want one message each", news, inbox)
	}
	for _, special := range []string{"Sent", "Drafts", "Trash", "Junk", "Archive"} {
		if _, err := os.Stat(filepath.Join(local, special)); err != nil {
			t.Errorf("folder %s was not synced: %v", special, err)
		}
	}

	// Flag the news message locally (Maildir info ":2,F") and sync back.
	f := news[0]
	flagged := f
	if i := strings.Index(f, ":2,"); i >= 0 {
		flagged = f[:i] + ":2,F" + strings.TrimLeft(f[i+3:], "F")
	} else {
		flagged = f + ":2,F"
	}
	if err := os.Rename(f, flagged); err != nil {
		t.Fatal(err)
	}
	sync()
	out := run(t, "", needTool(t, "python3"), "-c", `
import imaplib, sys
m = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]))
m.login("erin@example.org", "pw-erin")
m.select('"INBOX/news"', readonly=True)
print(m.fetch("1", "(FLAGS)")[1][0].decode())
`, hostOf(s.addrs["imap"]), portOf(s.addrs["imap"]))
	if !strings.Contains(out, `\Flagged`) {
		t.Errorf("the flag set in the local copy did not reach the server: %s", out)
	}
}
