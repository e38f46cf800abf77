package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// imapFetchScript logs in with Python's imaplib, selects a folder and prints
// the number of messages and the Subject of each, so tests can assert on
// what a real IMAP client sees.
const imapFetchScript = `
import imaplib, sys
host, port, user, password, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
m = imaplib.IMAP4(host, port)
m.login(user, password)
typ, data = m.select('"' + folder + '"', readonly=True)
assert typ == 'OK', (typ, data)
print('EXISTS', int(data[0]))
typ, data = m.uid('SEARCH', None, 'ALL')
for uid in data[0].split():
    typ, msg = m.uid('FETCH', uid, '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
    print('SUBJECT', msg[0][1].decode().strip())
m.logout()
`

// imapSubjects returns what imaplib sees in folder: its message count and
// subjects.
func imapSubjects(t *testing.T, imapAddr, user, password, folder string) (int, []string) {
	t.Helper()
	python := needTool(t, "python3")
	host, port, _ := strings.Cut(imapAddr, ":")
	out := run(t, "", python, "-c", imapFetchScript, host, port, user, password, folder)
	n := -1
	var subjects []string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "EXISTS "):
			n = atoi(t, strings.TrimPrefix(line, "EXISTS "))
		case strings.HasPrefix(line, "SUBJECT "):
			subjects = append(subjects, strings.TrimPrefix(line, "SUBJECT Subject: "))
		}
	}
	if n < 0 {
		t.Fatalf("imaplib printed no EXISTS:\n%s", out)
	}
	return n, subjects
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range strings.TrimSpace(s) {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func swaks(t *testing.T, smtpAddr, from, to, subject string, extra ...string) string {
	t.Helper()
	bin := needTool(t, "swaks")
	args := append([]string{"--server", smtpAddr, "--from", from, "--to", to,
		"--header", "Subject: " + subject, "--body", "hello from swaks", "--hide-all"}, extra...)
	return run(t, "", bin, args...)
}

// TestSwaksDeliversIntoSubinboxes sends with swaks to every address form and
// reads the folders back with imaplib: the mission's first sentence.
func TestSwaksDeliversIntoSubinboxes(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	s.addUser(t, "alice@example.org", "secret-alice")

	// Subinboxes made over IMMP by the CLI, as a user would.
	env := []string{"IMMP_PASSWORD=secret-alice"}
	for _, name := range []string{"work", "office/work"} {
		out, errOut, code := s.immp(t, "", env, "subinbox", "create", "-immp", s.addrs["immp"], "-imap", s.addrs["imap"], "-user", "alice@example.org", name)
		if code != 0 {
			t.Fatalf("subinbox create %s: exit %d\n%s%s", name, code, out, errOut)
		}
	}

	swaks(t, s.addrs["smtp"], "bob@remote.test", "alice@example.org", "to inbox")
	swaks(t, s.addrs["smtp"], "bob@remote.test", "work/alice@example.org", "to work")
	swaks(t, s.addrs["smtp"], "bob@remote.test", "office/work/alice@example.org", "to office")
	swaks(t, s.addrs["smtp"], "bob@remote.test", "alice+work@example.org", "plus to work")
	swaks(t, s.addrs["smtp"], "bob@remote.test", "nothere/alice@example.org", "to a missing subinbox")

	cases := []struct {
		folder   string
		subjects []string
	}{
		{"INBOX", []string{"to inbox", "to a missing subinbox"}},
		{"INBOX/work", []string{"to work", "plus to work"}},
		{"INBOX/work/office", []string{"to office"}},
	}
	for _, c := range cases {
		n, subjects := imapSubjects(t, s.addrs["imap"], "alice@example.org", "secret-alice", c.folder)
		if n != len(c.subjects) || strings.Join(subjects, "|") != strings.Join(c.subjects, "|") {
			t.Errorf("%s: got %d messages %q, want %q", c.folder, n, subjects, c.subjects)
		}
	}

	// The files are Maildir++ as Dovecot lays it out.
	matches, _ := filepath.Glob(filepath.Join(s.dataDir, "mail", "example.org", "alice", "Maildir", ".INBOX.work.office", "new", "*"))
	if len(matches) != 1 {
		t.Errorf("want one file in .INBOX.work.office/new, got %v", matches)
	}
	if _, err := os.Stat(filepath.Join(s.dataDir, "mail", "example.org", "alice", "Maildir", ".INBOX.work.office", "maildirfolder")); err != nil {
		t.Errorf("maildirfolder file: %v", err)
	}

	if got := s.metric(t, `immp_deliveries_total{folder="subinbox"}`); got != "3" {
		t.Errorf("subinbox deliveries metric = %q, want 3", got)
	}
	if got := s.metric(t, `immp_deliveries_total{folder="fallback_inbox"}`); got != "1" {
		t.Errorf("fallback deliveries metric = %q, want 1", got)
	}
}

// TestSpamGuardRefusesAtRCPT adds an entry with the guard CLI and checks that
// swaks is refused with 550 5.7.1 while other senders still get through.
func TestSpamGuardRefusesAtRCPT(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	s.addUser(t, "alice@example.org", "pw-alice")
	env := []string{"IMMP_PASSWORD=pw-alice"}
	out, errOut, code := s.immp(t, "", env, "guard", "add", "-immp", s.addrs["immp"], "-user", "alice@example.org", "alice@example.org", "*@spam.test")
	if code != 0 {
		t.Fatalf("guard add: exit %d\n%s%s", code, out, errOut)
	}
	bin := needTool(t, "swaks")
	cmd := runAllowFail(t, bin, "--server", s.addrs["smtp"], "--from", "x@spam.test", "--to", "work/alice@example.org", "--quit-after", "RCPT")
	if !strings.Contains(cmd, "550 5.7.1") {
		t.Errorf("blocked sender: swaks said\n%s\nwant 550 5.7.1", cmd)
	}
	swaks(t, s.addrs["smtp"], "friend@good.test", "alice@example.org", "welcome")
	n, _ := imapSubjects(t, s.addrs["imap"], "alice@example.org", "pw-alice", "INBOX")
	if n != 1 {
		t.Errorf("INBOX has %d messages, want 1", n)
	}
	if got := s.metric(t, `immp_spamguard_verdicts_total{verdict="blocked"}`); got != "1" {
		t.Errorf("blocked verdicts metric = %q, want 1", got)
	}
}
