package integration

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/immp-mail/immp/maildir"
)

// TestDovecotInterop points Debian's Dovecot 2.3 (maildir, separator "/",
// empty prefix, listescape) at a Maildir that immp's mailbox layer wrote
// and checks over IMAP that Dovecot shows the same folders, messages,
// flags, UIDs and UIDVALIDITY; then lets Dovecot append, flag, expunge and
// create, and checks that the mailbox layer shows the same.
func TestDovecotInterop(t *testing.T) {
	dovecotBin := needTool(t, "dovecot")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the Dovecot interop test needs root (Dovecot switches to the mail user)")
		}
		t.Skip("needs root: Dovecot switches to the mail user")
	}
	ctx := context.Background()
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	store, err := maildir.Open(ctx, maildir.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	acct, err := store.AddAccount(ctx, "alice@example.org", "secret")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"INBOX/work", "INBOX/work/office", "Ünïcode & co", "INBOX/a.b", "Lists/go"}
	for _, n := range names {
		if err := store.CreateFolder(ctx, acct, n); err != nil {
			t.Fatalf("create %s: %v", n, err)
		}
	}
	store.SetSubscribed(ctx, acct, "INBOX/work/office", true)
	for i, folder := range []string{"INBOX", "INBOX", "INBOX/work", "INBOX/work/office", "Ünïcode & co", "INBOX/a.b"} {
		d, err := store.BeginDelivery(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d.AddRecipient(acct, folder)
		fmt.Fprintf(d, "From: x@example.org\r\nSubject: msg %d\r\n\r\nbody %d\r\n", i, i)
		if _, err := d.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	inbox, _ := store.OpenFolder(ctx, acct, "INBOX")
	if _, err := inbox.StoreFlags(ctx, []uint32{1}, maildir.FlagsAdd, []string{`\Seen`, `\Flagged`, "$Label1"}); err != nil {
		t.Fatal(err)
	}
	sent, _ := store.OpenFolder(ctx, acct, "Sent")
	date := time.Date(2023, 3, 4, 5, 6, 7, 0, time.UTC)
	if _, err := sent.Append(ctx, strings.NewReader("Subject: sent\r\n\r\nx\r\n"), []string{`\Seen`, `\Answered`}, date); err != nil {
		t.Fatal(err)
	}

	dc := startDovecot(t, dovecotBin, tmp, data)
	c := dc.login(t)
	defer c.Close()

	// Folders: the same set.
	want, err := store.Folders(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	var wantNames []string
	for _, f := range want {
		wantNames = append(wantNames, f.Name)
	}
	got := listNames(t, c)
	if !slices.Equal(got, sortedCopy(wantNames)) {
		t.Fatalf("Dovecot lists %q, immp %q", got, sortedCopy(wantNames))
	}
	// Every folder: UIDVALIDITY, UIDNEXT, UIDs, flags, sizes, dates, bodies.
	for _, n := range wantNames {
		compareFolder(t, ctx, store, acct, c, n)
	}

	// The reverse: Dovecot writes, immp reads.
	ap := c.Append("INBOX/work", int64(len("Subject: from dovecot\r\n\r\nhi\r\n")), &imap.AppendOptions{
		Flags: []imap.Flag{imap.FlagSeen, "Project"}, Time: date,
	})
	io.WriteString(ap, "Subject: from dovecot\r\n\r\nhi\r\n")
	ap.Close()
	apd, err := ap.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create("INBOX/dove", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("INBOX/dotted.name", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted, imap.FlagAnswered}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsDel, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	// immp, both the running store and a fresh one, sees it all.
	dc.chownBack(t)
	fresh, err := maildir.Open(ctx, maildir.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	for _, s := range []*maildir.Store{store, fresh} {
		fs, _ := s.Folders(ctx, acct)
		var ns []string
		for _, f := range fs {
			ns = append(ns, f.Name)
		}
		if !slices.Contains(ns, "INBOX/dove") || !slices.Contains(ns, "INBOX/dotted.name") {
			t.Fatalf("immp does not see Dovecot's new folders: %v", ns)
		}
		w, err := s.OpenFolder(ctx, acct, "INBOX/work")
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := w.Messages(ctx)
		last := ms[len(ms)-1]
		if last.UID != uint32(apd.UID) || !slices.Contains(last.Flags, `\Seen`) || !slices.Contains(last.Flags, "Project") || !last.InternalDate.Equal(date) {
			t.Fatalf("Dovecot's append seen as %+v (UID %d)", last, apd.UID)
		}
		in, _ := s.OpenFolder(ctx, acct, "INBOX")
		ms, _ = in.Messages(ctx)
		if len(ms) != 1 || ms[0].UID != 1 || slices.Contains(ms[0].Flags, `\Flagged`) || !slices.Contains(ms[0].Flags, "$Label1") {
			t.Fatalf("INBOX after Dovecot's changes: %+v", ms)
		}
	}
	for _, n := range []string{"INBOX", "INBOX/work"} {
		compareFolder(t, ctx, fresh, acct, c, n)
	}
	// And immp writes again, Dovecot sees it with the next UID.
	d, _ := store.BeginDelivery(ctx)
	d.AddRecipient(acct, "INBOX/work")
	io.WriteString(d, "Subject: after\r\n\r\nx\r\n")
	ds, err := d.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ds[0].UID != uint32(apd.UID)+1 {
		t.Fatalf("immp gave UID %d after Dovecot's %d", ds[0].UID, apd.UID)
	}
	dc.chown(t)
	compareFolder(t, ctx, store, acct, c, "INBOX/work")
	c.Logout().Wait()
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

func listNames(t *testing.T, c *imapclient.Client) []string {
	t.Helper()
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range list {
		if slices.Contains(l.Attrs, imap.MailboxAttrNoSelect) {
			continue
		}
		out = append(out, l.Mailbox)
	}
	sort.Strings(out)
	return out
}

// compareFolder checks that Dovecot and the store agree on one folder.
func compareFolder(t *testing.T, ctx context.Context, s *maildir.Store, acct maildir.Account, c *imapclient.Client, name string) {
	t.Helper()
	f, err := s.OpenFolder(ctx, acct, name)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Status(ctx)
	ms, _ := f.Messages(ctx)
	sel, err := c.Select(name, nil).Wait()
	if err != nil {
		t.Fatalf("SELECT %q: %v", name, err)
	}
	if sel.UIDValidity != st.UIDValidity || sel.NumMessages != st.Messages || uint32(sel.UIDNext) != st.UIDNext {
		t.Fatalf("%s: Dovecot UIDVALIDITY %d EXISTS %d UIDNEXT %d; immp %+v", name, sel.UIDValidity, sel.NumMessages, sel.UIDNext, st)
	}
	if st.Messages == 0 {
		return
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	fetched, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true, InternalDate: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(fetched) != len(ms) {
		t.Fatalf("%s: Dovecot has %d messages, immp %d", name, len(fetched), len(ms))
	}
	for i, m := range fetched {
		mine := ms[i]
		var flags []string
		for _, fl := range m.Flags {
			if fl != `\Recent` {
				flags = append(flags, string(fl))
			}
		}
		sort.Strings(flags)
		if uint32(m.UID) != mine.UID || !slices.Equal(flags, mine.Flags) || m.RFC822Size != mine.Size || !m.InternalDate.Equal(mine.InternalDate.Truncate(time.Second)) {
			t.Fatalf("%s #%d: Dovecot UID %d flags %v size %d date %v; immp %+v", name, i+1, m.UID, flags, m.RFC822Size, m.InternalDate, mine)
		}
		r, err := f.OpenMessage(ctx, mine.UID)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r)
		r.Close()
		if len(m.BodySection) != 1 || string(m.BodySection[0].Bytes) != string(body) {
			t.Fatalf("%s UID %d: bodies differ", name, mine.UID)
		}
	}
}

// firstUser returns the first of the names that is a user here.
func firstUser(names ...string) string {
	for _, n := range names {
		if _, err := user.Lookup(n); err == nil {
			return n
		}
	}
	return names[len(names)-1]
}

type dovecotProc struct {
	cmd  *exec.Cmd
	addr string
	home string // the account's home (holds Maildir)
	log  string
}

const dovecotUID = 65534 // Dovecot refuses to run mail processes as root

func startDovecot(t *testing.T, bin, tmp, data string) *dovecotProc {
	t.Helper()
	addr := freePort(t)
	home := filepath.Join(data, "mail", "example.org", "alice")
	dc := &dovecotProc{addr: addr, home: home, log: filepath.Join(tmp, "dovecot.log")}
	base := filepath.Join(tmp, "dovecot-run")
	os.MkdirAll(base, 0o755)
	passwd := filepath.Join(tmp, "passwd")
	os.WriteFile(passwd, []byte("alice@example.org:{PLAIN}secret\n"), 0o644)
	conf := filepath.Join(tmp, "dovecot.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`base_dir = %[1]s
state_dir = %[1]s
log_path = %[2]s
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = %[7]s
default_login_user = %[8]s
first_valid_uid = %[5]d
passdb {
  driver = passwd-file
  args = %[3]s
}
userdb {
  driver = static
  args = uid=%[5]d gid=%[5]d home=%[4]s
}
mail_location = maildir:~/Maildir
mail_plugins = listescape
namespace inbox {
  inbox = yes
  separator = /
  prefix =
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[6]s
  }
}
service anvil {
  chroot =
}
`, base, dc.log, passwd, home, dovecotUID, portOf(addr), firstUser("dovecot", "nobody"), firstUser("dovenull", "nobody"))), 0o644)
	// The mail user must reach the Maildir.
	// The mail user must reach the Maildir, Dovecot's users the passwd
	// file: open up the test's directories (not the system's).
	for d := home; strings.HasPrefix(d, filepath.Clean(os.TempDir())+"/"); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	dc.chown(t)
	dc.cmd = exec.Command(bin, "-F", "-c", conf)
	dc.cmd.Stdout, dc.cmd.Stderr = os.Stderr, os.Stderr
	dc.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := dc.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		dc.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { dc.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-dc.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			if b, err := os.ReadFile(dc.log); err == nil {
				t.Logf("dovecot log:\n%s", b)
			}
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for !canConnect(addr) {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(dc.log)
			t.Fatalf("dovecot did not start:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return dc
}

// chown hands the Maildir to the mail user Dovecot runs as.
func (dc *dovecotProc) chown(t *testing.T) {
	t.Helper()
	filepath.Walk(dc.home, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			os.Lchown(p, dovecotUID, dovecotUID)
		}
		return nil
	})
}

// chownBack is a no-op reminder: the store runs as root and reads
// anything; files it writes later are handed over with chown again.
func (dc *dovecotProc) chownBack(t *testing.T) {}

func (dc *dovecotProc) login(t *testing.T) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(dc.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login("alice@example.org", "secret").Wait(); err != nil {
		b, _ := os.ReadFile(dc.log)
		t.Fatalf("login: %v\n%s", err, b)
	}
	return c
}
