package integration

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TestImportDovecotMaildir has Debian's Dovecot write a Maildir++ tree
// (IMAP APPEND with flags and keywords, folders with children and a
// non-ASCII name, expunges that leave gaps in the UIDs, a message
// delivered by dovecot-lda), imports it with `immp import maildir` into a
// running immp, and compares over IMAP: every folder of Dovecot's with
// the same UIDVALIDITY, and every message under the same UID with the
// same flags and body. A second run imports nothing.
func TestImportDovecotMaildir(t *testing.T) {
	dovecotBin := needTool(t, "dovecot")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the Dovecot import test needs root (Dovecot switches to the mail user)")
		}
		t.Skip("needs root: Dovecot switches to the mail user")
	}
	tmp := t.TempDir()
	src := filepath.Join(tmp, "dovecot-data")
	home := filepath.Join(src, "mail", "example.org", "alice")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	dc := startDovecot(t, dovecotBin, tmp, src)
	c := dc.login(t)
	date := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, n := range []string{"Work", "Work/Sub", "Ünïcode & co", "INBOX/sub", "Sent"} {
		if err := c.Create(n, nil).Wait(); err != nil {
			t.Fatalf("CREATE %s: %v", n, err)
		}
	}
	appendMsg := func(folder string, i int, flags ...imap.Flag) {
		body := fmt.Sprintf("From: x@remote.test\r\nSubject: %s %d\r\nMessage-ID: <%d.%s@remote.test>\r\n\r\nbody %d of %s\r\n", folder, i, i, strings.ReplaceAll(folder, "/", "."), i, folder)
		ap := c.Append(folder, int64(len(body)), &imap.AppendOptions{Flags: flags, Time: date.Add(time.Duration(i) * time.Hour)})
		io.WriteString(ap, body)
		ap.Close()
		if _, err := ap.Wait(); err != nil {
			t.Fatalf("APPEND to %s: %v", folder, err)
		}
	}
	for i := 0; i < 12; i++ {
		var fl []imap.Flag
		if i%2 == 0 {
			fl = append(fl, imap.FlagSeen)
		}
		if i%3 == 0 {
			fl = append(fl, imap.FlagFlagged, "$Label1")
		}
		if i%4 == 0 {
			fl = append(fl, imap.FlagAnswered, "Project")
		}
		if i == 5 {
			fl = append(fl, imap.FlagDraft)
		}
		for _, folder := range []string{"INBOX", "Work", "Work/Sub", "Ünïcode & co", "INBOX/sub"} {
			if i < 6 || folder == "INBOX" || folder == "Work" {
				appendMsg(folder, i, fl...)
			}
		}
	}
	// Gaps in the UIDs: expunge 2, 3 and 7 in INBOX and Work.
	for _, folder := range []string{"INBOX", "Work"} {
		if _, err := c.Select(folder, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		var uids imap.UIDSet
		uids.AddNum(2, 3, 7)
		c.Store(uids, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
		if err := c.Expunge().Close(); err != nil {
			t.Fatal(err)
		}
	}
	// A message marked \Deleted but kept, and one delivered by
	// dovecot-lda (into new/, as a delivery agent does).
	c.Store(imap.UIDSetNum(4), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
	c.Logout().Wait()
	if lda := "/usr/lib/dovecot/dovecot-lda"; isExecutable(lda) {
		cmd := exec.Command(lda, "-c", filepath.Join(tmp, "dovecot.conf"), "-d", "alice@example.org", "-f", "lda@remote.test")
		cmd.Stdin = strings.NewReader("From: lda@remote.test\nSubject: by lda\n\ndelivered by dovecot-lda\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("dovecot-lda: %v\n%s", err, out)
		}
	}
	want := readFolders(t, dc.addr, "alice@example.org", "secret")
	if len(want["INBOX"].msgs) < 9 || len(want["Ünïcode & co"].msgs) != 6 {
		t.Fatalf("Dovecot's tree is not what the test made: %v", keys(want))
	}

	s := startServer(t, serverOptions{})
	s.addUser(t, "alice@example.org", "pw-alice")
	// A session has an unrelated folder selected while the import runs.
	ic, err := imapclient.DialInsecure(s.addrs["imap"], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	if err := ic.Login("alice@example.org", "pw-alice").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.Select("Archive", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	maildirPath := filepath.Join(home, "Maildir")
	out, errOut, code := s.immp(t, "", nil, "import", "maildir", "-config", s.config, "alice@example.org", maildirPath)
	t.Logf("first import:\n%s%s", out, errOut)
	if code != 0 {
		t.Fatalf("import: exit %d", code)
	}
	if err := ic.Noop().Wait(); err != nil {
		t.Fatalf("the session selected during the import: %v", err)
	}
	got := readFolders(t, s.addrs["imap"], "alice@example.org", "pw-alice")
	for name, wf := range want {
		gf, ok := got[name]
		if !ok {
			t.Errorf("folder %s not imported (immp lists %v)", name, keys(got))
			continue
		}
		if gf.uidValidity != wf.uidValidity {
			t.Errorf("%s: UIDVALIDITY %d, Dovecot's %d", name, gf.uidValidity, wf.uidValidity)
		}
		if len(gf.msgs) != len(wf.msgs) {
			t.Errorf("%s: %d messages, Dovecot has %d", name, len(gf.msgs), len(wf.msgs))
		}
		for uid, wm := range wf.msgs {
			gm, ok := gf.msgs[uid]
			if !ok || gm.body != wm.body || !slices.Equal(gm.flags, wm.flags) {
				t.Errorf("%s UID %d: immp %v %q, Dovecot %v %q", name, uid, gm.flags, gm.body, wm.flags, wm.body)
			}
		}
	}
	out, errOut, code = s.immp(t, "", nil, "import", "maildir", "-config", s.config, "alice@example.org", maildirPath)
	if code != 0 || !strings.Contains(out, "total: 0 imported") {
		t.Fatalf("second import: exit %d\n%s%s", code, out, errOut)
	}
	// Mail delivered after the import is numbered after Dovecot's UIDs.
	if err := sendOne(s.addrs["smtp"], "alice@example.org", "after-import"); err != nil {
		t.Fatal(err)
	}
	after := readFolders(t, s.addrs["imap"], "alice@example.org", "pw-alice")["INBOX"]
	var maxWant imap.UID
	for uid := range want["INBOX"].msgs {
		maxWant = max(maxWant, uid)
	}
	for uid, m := range after.msgs {
		if strings.Contains(m.body, "after-import") && uid <= maxWant {
			t.Fatalf("a delivery after the import got UID %d, not above Dovecot's %d", uid, maxWant)
		}
	}
}

// TestImportMbox imports an mbox (mboxrd quoting, a CRLF message, a last
// message without its newline, flags in Status and X-Status) into a
// folder that a session has selected: the session sees the new messages
// arrive under the same UIDVALIDITY, and reads them back as written. A
// second run imports nothing; a malformed mbox and a damaged Maildir
// import what they can and say what they could not.
func TestImportMbox(t *testing.T) {
	s := startServer(t, serverOptions{})
	s.addUser(t, "mb@example.org", "pw-mb")
	c, err := imapclient.DialInsecure(s.addrs["imap"], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("mb@example.org", "pw-mb").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("Old", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	first := "Subject: already here\r\n\r\nx\r\n"
	ap := c.Append("Old", int64(len(first)), nil)
	io.WriteString(ap, first)
	ap.Close()
	if _, err := ap.Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select("Old", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	mbox := filepath.Join(dir, "old.mbox")
	os.WriteFile(mbox, []byte("From a@remote.test Wed Dec  2 10:00:00 2026\n"+
		"Subject: escaped\nStatus: RO\nX-Status: AF\n\n>From the start\n>>From quoted twice\nplain\n\n"+
		"From b@remote.test Wed Dec  2 11:00:00 2026\r\nSubject: crlf\r\n\r\nline one\r\nline two\r\n\r\n"+
		"From c@remote.test Wed Dec  2 12:00:00 2026\nSubject: no newline\n\nends here"), 0o600)
	want := map[string]imapMsg{
		"escaped":    {flags: []string{`\Answered`, `\Flagged`, `\Seen`}, body: "Subject: escaped\r\nStatus: RO\r\nX-Status: AF\r\n\r\nFrom the start\r\n>From quoted twice\r\nplain\r\n"},
		"crlf":       {flags: nil, body: "Subject: crlf\r\n\r\nline one\r\nline two\r\n"},
		"no newline": {flags: nil, body: "Subject: no newline\r\n\r\nends here"},
	}
	out, errOut, code := s.immp(t, "", nil, "import", "mbox", "-config", s.config, "mb@example.org", "Old", mbox)
	if code != 0 || !strings.Contains(out, "Old: 3 imported") {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	// The selected session: three new messages, nothing else.
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if n := c.Mailbox().NumMessages; n != 4 {
		t.Fatalf("the selected session sees %d messages, want 4", n)
	}
	got := readFolder(t, c, "Old")
	if got.uidValidity != sel.UIDValidity {
		t.Fatalf("UIDVALIDITY changed from %d to %d", sel.UIDValidity, got.uidValidity)
	}
	seen := 0
	for uid, m := range got.msgs {
		subj := strings.TrimPrefix(strings.SplitN(m.body, "\r\n", 2)[0], "Subject: ")
		w, ok := want[subj]
		if !ok {
			continue
		}
		seen++
		if m.body != w.body || !slices.Equal(m.flags, w.flags) {
			t.Errorf("UID %d: %v %q, want %v %q", uid, m.flags, m.body, w.flags, w.body)
		}
	}
	if seen != 3 {
		t.Fatalf("%d of the 3 imported messages found", seen)
	}
	out, _, code = s.immp(t, "", nil, "import", "mbox", "-config", s.config, "mb@example.org", "Old", mbox)
	if code != 0 || !strings.Contains(out, "Old: 0 imported, 3 duplicates skipped") {
		t.Fatalf("second import: exit %d\n%s", code, out)
	}

	// Malformed: text before the first separator.
	bad := filepath.Join(dir, "bad.mbox")
	os.WriteFile(bad, []byte("this is no mbox\n\nFrom a@remote.test Wed Dec  2 10:00:00 2026\nSubject: good\n\nok\n"), 0o600)
	out, errOut, code = s.immp(t, "", nil, "import", "mbox", "-config", s.config, "mb@example.org", "Bad", bad)
	if code != 1 || !strings.Contains(out, "Bad: 1 imported") || !strings.Contains(out, "before the first \"From \" line") {
		t.Fatalf("malformed mbox: exit %d\n%s%s", code, out, errOut)
	}
	// Not an mbox at all: a clear error, nothing imported.
	os.WriteFile(bad, []byte("Subject: x\n\nno separator\n"), 0o600)
	if _, errOut, code = s.immp(t, "", nil, "import", "mbox", "-config", s.config, "mb@example.org", "Bad", bad); code != 1 || !strings.Contains(errOut, "not an mbox file") {
		t.Fatalf("not an mbox: exit %d, %s", code, errOut)
	}
	// A damaged Maildir: a garbled dovecot-uidlist (UIDs not kept, said
	// so), a directory among the messages; the messages are imported.
	md := filepath.Join(dir, "Maildir")
	for _, sub := range []string{"cur", "new", "tmp", ".Lists/cur", ".Lists/new"} {
		os.MkdirAll(filepath.Join(md, sub), 0o700)
	}
	os.WriteFile(filepath.Join(md, ".Lists", "dovecot-uidlist"), []byte("3 garbage\n"), 0o600)
	os.WriteFile(filepath.Join(md, ".Lists", "cur", "1.M1P1.h:2,S"), []byte("Subject: list mail\n\nx\n"), 0o600)
	os.Mkdir(filepath.Join(md, ".Lists", "cur", "2.M1P1.h:2,"), 0o700)
	os.WriteFile(filepath.Join(md, "new", "3.M1P1.h"), []byte("Subject: inbox mail\n\ny\n"), 0o600)
	// A subinbox whose parent the tree lacks.
	os.MkdirAll(filepath.Join(md, ".INBOX.x.y", "cur"), 0o700)
	os.WriteFile(filepath.Join(md, ".INBOX.x.y", "cur", "4.M1P1.h:2,"), []byte("Subject: deep\n\nz\n"), 0o600)
	out, errOut, code = s.immp(t, "", nil, "import", "maildir", "-config", s.config, "mb@example.org", md)
	if code != 1 || !strings.Contains(out, "Lists: 1 imported") || !strings.Contains(out, "INBOX: 1 imported") || !strings.Contains(out, "INBOX/x/y: 1 imported") ||
		!strings.Contains(out, "dovecot-uidlist: unreadable") || !strings.Contains(out, "not a regular file") {
		t.Fatalf("damaged Maildir: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code = s.immp(t, "", nil, "import", "maildir", "-config", s.config, "mb@example.org", dir+"/nothing"); code != 1 || !strings.Contains(errOut, "no such file") {
		t.Fatalf("missing Maildir: exit %d, %s", code, errOut)
	}
}

// TestImportProgressBar: on a terminal (script(1) gives the import one)
// a progress bar is drawn on stderr; into a pipe, none.
func TestImportProgressBar(t *testing.T) {
	scriptBin := needTool(t, "script")
	s := startServer(t, serverOptions{})
	s.addUser(t, "pb@example.org", "pw-pb")
	mbox := filepath.Join(t.TempDir(), "m.mbox")
	var b strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "From x@remote.test Wed Dec  2 10:00:00 2026\nSubject: %d\n\nbody\n\n", i)
	}
	os.WriteFile(mbox, []byte(b.String()), 0o600)
	_, errOut, code := s.immp(t, "", nil, "import", "mbox", "-config", s.config, "pb@example.org", "A", mbox)
	if code != 0 || strings.Contains(errOut, "importing [") {
		t.Fatalf("into a pipe: exit %d, stderr %q", code, errOut)
	}
	cmdline := fmt.Sprintf("%s import mbox -config %s pb@example.org B %s", binary, s.config, mbox)
	out := run(t, "", scriptBin, "-qec", cmdline, "/dev/null")
	if !strings.Contains(out, "importing [") || !strings.Contains(out, "40/40 100%") || !strings.Contains(out, "B: 40 imported") {
		t.Fatalf("on a terminal: %q", out)
	}
}
