package integration

import (
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/immp-mail/immp/maildir"
)

// imapMsg is one message as an IMAP server shows it.
type imapMsg struct {
	flags []string // sorted, without \Recent
	body  string
}

// imapFolder is a folder as an IMAP server shows it.
type imapFolder struct {
	uidValidity uint32
	msgs        map[imap.UID]imapMsg
}

// readFolders reads every folder of an account over IMAP (LIST, then
// EXAMINE and UID FETCH FLAGS BODY.PEEK[] in each).
func readFolders(t *testing.T, addr, user, password string) map[string]imapFolder {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatal(err)
	}
	out := map[string]imapFolder{}
	for _, name := range listNames(t, c) {
		out[name] = readFolder(t, c, name)
	}
	c.Logout().Wait()
	return out
}

func readFolder(t *testing.T, c *imapclient.Client, name string) imapFolder {
	t.Helper()
	sel, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("EXAMINE %s: %v", name, err)
	}
	f := imapFolder{uidValidity: sel.UIDValidity, msgs: map[imap.UID]imapMsg{}}
	if sel.NumMessages == 0 {
		return f
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatalf("FETCH in %s: %v", name, err)
	}
	for _, m := range msgs {
		var fl []string
		for _, x := range m.Flags {
			if x != `\Recent` {
				fl = append(fl, string(x))
			}
		}
		slices.Sort(fl)
		f.msgs[m.UID] = imapMsg{flags: fl, body: string(m.FindBodySection(section))}
	}
	return f
}

// TestBackupDuringDelivery runs `immp backup` against a running server
// while SMTP clients deliver without pause, then checks the backup
// (every file parses as a whole message, every UID of a backed-up
// dovecot-uidlist has its file and every file a UID), restores it into
// an empty data directory with `immp restore`, starts a second server on
// it and compares over IMAP with the first: the same folders and
// UIDVALIDITY, and every backed-up message under the same UID with the
// same flags and body; every message acknowledged before the backup
// began is in it. IMMP_BACKUP_MESSAGES sets how many messages the
// account holds before (default 300; the figure in the docs is 10000).
func TestBackupDuringDelivery(t *testing.T) {
	prefill := 300
	if n, err := strconv.Atoi(os.Getenv("IMMP_BACKUP_MESSAGES")); err == nil && n > 0 {
		prefill = n
	}
	s := startServer(t, serverOptions{})
	s.addUser(t, "bk@example.org", "pw-bk")
	// The bulk arrives through import (fast); flags and a subinbox over
	// IMAP and SMTP.
	mbox := filepath.Join(t.TempDir(), "prefill.mbox")
	var b strings.Builder
	for i := 0; i < prefill; i++ {
		fmt.Fprintf(&b, "From x@remote.test Wed Dec  2 10:00:00 2026\nSubject: prefill %d\nX-Test-Id: p%d\n\n%s\n", i, i, strings.ReplaceAll(messageBody(fmt.Sprint("p", i)), "\r\n", "\n"))
	}
	os.WriteFile(mbox, []byte(b.String()), 0o600)
	if out, errOut, code := s.immp(t, "", nil, "import", "mbox", "-config", s.config, "bk@example.org", "INBOX", mbox); code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := s.immp(t, "", []string{"IMMP_PASSWORD=pw-bk"}, "subinbox", "create",
		"-immp", s.addrs["immp"], "-imap", s.addrs["imap"], "-user", "bk@example.org", "work"); code != 0 {
		t.Fatalf("subinbox create: exit %d\n%s%s", code, out, errOut)
	}
	c, err := imapclient.DialInsecure(s.addrs["imap"], nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login("bk@example.org", "pw-bk").Wait(); err != nil {
		t.Fatal(err)
	}
	c.Select("INBOX", nil).Wait()
	for uid := imap.UID(1); uid <= 30; uid += 3 {
		c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen, imap.FlagFlagged, "Project"}}, nil).Close()
	}
	c.Logout().Wait()

	// Deliveries before (acknowledged: must be in the backup) and during.
	var mu sync.Mutex
	acked := map[string]bool{}
	for i := 0; i < 20; i++ {
		id := fmt.Sprint("before-", i)
		if err := sendOne(s.addrs["smtp"], []string{"bk@example.org", "work/bk@example.org"}[i%2], id); err != nil {
			t.Fatal(err)
		}
		acked[id] = true
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	during := 0
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := 0; ; m++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("during-w%d-m%d", w, m)
				if err := sendOne(s.addrs["smtp"], []string{"bk@example.org", "work/bk@example.org"}[m%2], id); err != nil {
					t.Errorf("send %s: %v", id, err)
					return
				}
				mu.Lock()
				during++
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // deliveries under way
	bk := filepath.Join(t.TempDir(), "backup")
	mu.Lock()
	before := during
	mu.Unlock()
	start := time.Now()
	out, errOut, code := s.immp(t, "", nil, "backup", "-config", s.config, bk)
	took := time.Since(start)
	mu.Lock()
	while := during - before
	mu.Unlock()
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if code != 0 {
		t.Fatalf("backup: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("%s(%d messages before; %d acknowledged over SMTP while the backup ran; backup took %v)", out, prefill+20, while, took.Round(time.Millisecond))

	// The backup on its own: whole messages, UIDs and files one to one.
	inBackup := map[string]bool{}
	root := filepath.Join(bk, "mail", "example.org", "bk", "Maildir")
	for _, dir := range []string{root, filepath.Join(root, ".INBOX.work")} {
		ul, err := maildir.ReadUIDList(dir)
		if err != nil {
			t.Fatal(err)
		}
		files := map[string]bool{}
		for _, sub := range []string{"cur", "new"} {
			ents, _ := os.ReadDir(filepath.Join(dir, sub))
			for _, e := range ents {
				base, _ := maildir.SplitFileName(e.Name())
				files[base] = true
				if _, ok := ul.UIDs[base]; !ok {
					t.Errorf("%s/%s: file without a UID in the backup's dovecot-uidlist", sub, e.Name())
				}
				data, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				m, err := mail.ReadMessage(strings.NewReader(string(data)))
				id := ""
				if err == nil {
					id = m.Header.Get("X-Test-Id")
				}
				if err != nil || id == "" || !strings.HasSuffix(string(data), messageBody(id)) {
					t.Errorf("%s/%s is not a whole message (%v)", sub, e.Name(), err)
				}
				inBackup[id] = true
			}
		}
		for base, uid := range ul.UIDs {
			if !files[base] {
				t.Errorf("UID %d (%s) listed in the backup without its file", uid, base)
			}
		}
	}
	for id := range acked {
		if !inBackup[id] {
			t.Errorf("%s was acknowledged before the backup began and is not in it", id)
		}
	}
	for i := 0; i < prefill; i++ {
		if !inBackup[fmt.Sprint("p", i)] {
			t.Fatalf("prefilled message p%d not in the backup", i)
		}
	}

	// Restored and served by a second server: the same as the first for
	// every backed-up message (no flags changed after the backup began).
	source := readFolders(t, s.addrs["imap"], "bk@example.org", "pw-bk")
	s.stop()
	rdata := filepath.Join(t.TempDir(), "restored")
	rcfg := filepath.Join(t.TempDir(), "restored.toml")
	cfg, _ := os.ReadFile(s.config)
	os.WriteFile(rcfg, []byte(strings.Replace(string(cfg), s.dataDir, rdata, 1)), 0o600)
	os.MkdirAll(rdata, 0o700)
	os.WriteFile(filepath.Join(rdata, "stray"), nil, 0o600)
	if _, errOut, code := runBinary(t, "", nil, "restore", "-config", rcfg, bk); code == 0 || !strings.Contains(errOut, "not empty") {
		t.Fatalf("restore into a non-empty directory: exit %d, %s", code, errOut)
	}
	os.Remove(filepath.Join(rdata, "stray"))
	if out, errOut, code := runBinary(t, "", nil, "restore", "-config", rcfg, bk); code != 0 {
		t.Fatalf("restore: exit %d\n%s%s", code, out, errOut)
	} else {
		t.Log(strings.TrimSpace(out))
	}
	r := startServer(t, serverOptions{dataDir: rdata})
	restored := readFolders(t, r.addrs["imap"], "bk@example.org", "pw-bk")
	if len(restored) != len(source) {
		t.Fatalf("restored folders %v, source %v", keys(restored), keys(source))
	}
	total := 0
	for name, rf := range restored {
		sf, ok := source[name]
		if !ok {
			t.Fatalf("restored folder %s not in the source", name)
		}
		if rf.uidValidity != sf.uidValidity {
			t.Errorf("%s: UIDVALIDITY %d restored, %d in the source", name, rf.uidValidity, sf.uidValidity)
		}
		for uid, rm := range rf.msgs {
			sm, ok := sf.msgs[uid]
			if !ok || sm.body != rm.body || !slices.Equal(sm.flags, rm.flags) {
				t.Errorf("%s UID %d: restored %v %d octets, source %v %d octets (present %v)", name, uid, rm.flags, len(rm.body), sm.flags, len(sm.body), ok)
			}
			total++
		}
	}
	if total != len(inBackup) {
		t.Fatalf("restored server shows %d messages, the backup holds %d", total, len(inBackup))
	}
	if fl := restored["INBOX"].msgs[1].flags; !slices.Equal(fl, []string{"Project", `\Flagged`, `\Seen`}) {
		t.Fatalf("restored flags of INBOX UID 1: %v", fl)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
