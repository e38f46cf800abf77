package imap

// Real IMAP clients that nobody in this project wrote, against the server
// in process over a real socket: Python's imaplib, curl and mbsync. A
// missing tool skips the test, except under CI=true where it fails.

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

const imaplibScript = `
import imaplib, sys
host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
m = imaplib.IMAP4(host, port)
print("CAPS", " ".join(sorted(m.capabilities)))
typ, _ = m.login(user, pw); print("LOGIN", typ)
typ, data = m.list(); print("LIST", typ, len(data))
for d in data: print("MBOX", d.decode())
typ, data = m.create("INBOX/py"); print("CREATE", typ)
typ, data = m.select("INBOX"); print("SELECT", typ, data[0].decode())
typ, data = m.fetch("1:*", "(UID FLAGS ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
print("FETCH", typ, sum(1 for d in data if isinstance(d, tuple)))
typ, data = m.store("1", "+FLAGS", "(\\Flagged)"); print("STORE", typ, data[0].decode())
typ, data = m.search(None, "FLAGGED"); print("SEARCH", typ, data[0].decode())
typ, data = m.uid("MOVE", "1", "INBOX/py") if "MOVE" in m.capabilities else m.copy("1", "INBOX/py")
print("MOVE", typ)
typ, data = m.status("INBOX/py", "(MESSAGES UIDNEXT)"); print("STATUS", typ, data[0].decode())
m.logout(); print("DONE")
`

func TestPythonImaplib(t *testing.T) {
	t.Parallel()
	py := mustCI(t, "python3")
	e := newEnv(t, envOptions{noSync: true})
	acct := e.account("alice@example.org")
	e.deliver(acct, "INBOX", "first")
	e.deliver(acct, "INBOX", "second")
	host, port, _ := net.SplitHostPort(e.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", imaplibScript, host, port, "alice@example.org", testPassword).CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{"IMAP4REV1", "LOGIN OK", "CREATE OK", "SELECT OK 2", "FETCH OK 2",
		"STORE OK 1 (UID", "SEARCH OK 1", "MOVE OK", "(MESSAGES 1 UIDNEXT 2)", "DONE", `"/" INBOX`} {
		if !strings.Contains(s, want) {
			t.Errorf("imaplib output lacks %q:\n%s", want, s)
		}
	}
	if got := e.folderUIDs(acct, "INBOX/py"); len(got) != 1 {
		t.Errorf("INBOX/py holds %v", got)
	}
}

// imaplibIdleScript idles with Python's imaplib (which has no idle() before
// Python 3.14: the command goes through its socket as imaplib would send
// it), prints READY once the server said "+ idling", and prints each
// untagged response until it has seen EXISTS, then DONEs.
const imaplibIdleScript = `
import imaplib, sys
host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
m = imaplib.IMAP4(host, port)
m.login(user, pw)
typ, data = m.select("INBOX"); print("SELECT", typ, data[0].decode(), flush=True)
tag = m._new_tag()
m.send(tag + b" IDLE\r\n")
line = m.readline()
print("CONT", line.decode().strip(), flush=True)
print("READY", flush=True)
while True:
    line = m.readline().decode().strip()
    print("GOT", line, flush=True)
    if line.endswith("EXISTS"):
        break
m.send(b"DONE\r\n")
while True:
    line = m.readline().decode().strip()
    if line.startswith(tag.decode()):
        print("END", line, flush=True)
        break
m.logout()
`

// IDLE with Python's imaplib: a message delivered while it idles is
// announced as EXISTS, and DONE ends the command with OK.
func TestPythonImaplibIdle(t *testing.T) {
	t.Parallel()
	py := mustCI(t, "python3")
	e := newEnv(t, envOptions{})
	acct := e.account("alice@example.org")
	e.deliver(acct, "INBOX", "first")
	host, port, _ := net.SplitHostPort(e.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", imaplibIdleScript, host, port, "alice@example.org", testPassword)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(stdout)
	var sent time.Time
	for sc.Scan() {
		l := sc.Text()
		lines = append(lines, l)
		if l == "READY" {
			sent = time.Now()
			e.deliver(acct, "INBOX", "while idling")
		}
		if strings.HasPrefix(l, "GOT") && strings.HasSuffix(l, "EXISTS") {
			t.Logf("EXISTS %v after the delivery was acknowledged", time.Since(sent).Round(time.Millisecond))
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("imaplib: %v\n%s\n%s", err, strings.Join(lines, "\n"), stderr.String())
	}
	out := strings.Join(lines, "\n")
	for _, want := range []string{"SELECT OK 1", "CONT + idling", "GOT * 2 EXISTS", "OK IDLE"} {
		if !strings.Contains(out, want) {
			t.Errorf("imaplib IDLE output lacks %q:\n%s", want, out)
		}
	}
}

func TestCurlListsFolders(t *testing.T) {
	t.Parallel()
	curl := mustCI(t, "curl")
	e := newEnv(t, envOptions{noSync: true})
	acct := e.account("alice@example.org")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.store.CreateFolder(ctx, acct, "INBOX/work"); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, curl, "-sS", "--max-time", "20", "--user", "alice@example.org:"+testPassword,
		"imap://"+e.addr+"/").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{`(\HasChildren) "/" INBOX`, `"/" "INBOX/work"`, `\Sent`} {
		if !strings.Contains(s, want) {
			t.Errorf("curl listing lacks %q:\n%s", want, s)
		}
	}
	// And a message, by UID.
	e.deliver(acct, "INBOX", "for curl")
	out, err = exec.CommandContext(ctx, curl, "-sS", "--max-time", "20", "--user", "alice@example.org:"+testPassword,
		"imap://"+e.addr+"/INBOX;UID=1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Subject: for curl") {
		t.Errorf("curl fetch: %v\n%s", err, out)
	}
}

// mbsync syncs every folder to a local Maildir and back: flags set on
// either side and a message moved locally between folders round-trip.
func TestMbsyncRoundTrip(t *testing.T) {
	t.Parallel()
	mbsync := mustCI(t, "mbsync")
	e := newEnv(t, envOptions{noSync: true})
	acct := e.account("alice@example.org")
	ctx := context.Background()
	if err := e.store.CreateFolder(ctx, acct, "INBOX/work"); err != nil {
		t.Fatal(err)
	}
	e.deliver(acct, "INBOX", "alpha")
	e.deliver(acct, "INBOX", "beta")
	e.deliver(acct, "INBOX/work", "gamma")

	dir := t.TempDir()
	local := filepath.Join(dir, "mail")
	if err := os.MkdirAll(local, 0o700); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(e.addr)
	cfg := filepath.Join(dir, "mbsyncrc")
	conf := strings.Join([]string{
		"IMAPAccount test", "Host " + host, "Port " + port, "User alice@example.org",
		`Pass "` + testPassword + `"`, "SSLType None", "AuthMechs LOGIN", "",
		"IMAPStore remote", "Account test", "",
		"MaildirStore local", "Path " + local + "/", "Inbox " + local + "/INBOX", "SubFolders Verbatim", "",
		"Channel sync", "Far :remote:", "Near :local:", "Patterns *", "Create Both", "Expunge Both",
		"SyncState *", "",
	}, "\n")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(cctx, mbsync, "-c", cfg, "-a")
		cmd.Env = append(os.Environ(), "HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("mbsync: %v\n%s", err, out)
		}
	}
	run()

	files := localMessages(t, local)
	for _, subj := range []string{"alpha", "beta", "gamma"} {
		if files[subj] == "" {
			t.Fatalf("message %q not synced to the local Maildir: %v", subj, files)
		}
	}
	// Locally: flag alpha, move beta into gamma's folder (work).
	alpha := files["alpha"]
	if err := os.Rename(alpha, addFlag(alpha, 'F')); err != nil {
		t.Fatal(err)
	}
	workCur := filepath.Dir(files["gamma"])
	beta := files["beta"]
	// A file moved between mbsync Maildir folders must lose its ",U=n"
	// (mbsync's UID of the old folder), as mbsync(1) says.
	moved := regexp.MustCompile(`,U=[0-9]+`).ReplaceAllString(filepath.Base(beta), "")
	if err := os.Rename(beta, filepath.Join(workCur, moved)); err != nil {
		t.Fatal(err)
	}
	// On the server: mark gamma seen.
	c := e.client("alice@example.org", nil)
	if _, err := c.Select("INBOX/work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	c.Unselect().Wait()
	run()

	flagsOf := func(folder, subject string) ([]string, bool) {
		f, err := e.store.OpenFolder(ctx, acct, folder)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := f.Messages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			rc, err := f.OpenMessage(ctx, m.UID)
			if err != nil {
				continue
			}
			buf := make([]byte, 4096)
			n, _ := rc.Read(buf)
			rc.Close()
			if strings.Contains(string(buf[:n]), "Subject: "+subject+"\r\n") || strings.Contains(string(buf[:n]), "Subject: "+subject+"\n") {
				return m.Flags, true
			}
		}
		return nil, false
	}
	if fl, ok := flagsOf("INBOX", "alpha"); !ok || !slices.Contains(fl, `\Flagged`) {
		t.Errorf("alpha on server: %v %v, want \\Flagged", fl, ok)
	}
	if _, ok := flagsOf("INBOX/work", "beta"); !ok {
		t.Error("beta, moved locally, is not in INBOX/work on the server")
	}
	if fl, ok := flagsOf("INBOX", "beta"); ok && !slices.Contains(fl, `\Deleted`) {
		t.Errorf("beta still in INBOX on the server: %v", fl)
	}
	after := localMessages(t, local)
	if g := after["gamma"]; !strings.Contains(filepath.Base(g)[strings.LastIndex(filepath.Base(g), ":2,")+1:], "S") {
		t.Errorf("\\Seen set on the server did not reach the local file: %s", g)
	}
}

// localMessages maps subject -> file path of every message under dir.
func localMessages(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if b := filepath.Base(filepath.Dir(p)); b != "cur" && b != "new" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, line := range strings.Split(string(data), "\n") {
			if s, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "Subject: "); ok {
				out[s] = p
				break
			}
		}
		return nil
	})
	return out
}

// addFlag adds a Maildir flag letter to a file name (moving it to cur/).
func addFlag(path string, flag byte) string {
	dir, base := filepath.Split(path)
	dir = filepath.Join(filepath.Dir(filepath.Clean(dir)), "cur")
	i := strings.LastIndex(base, ":2,")
	if i < 0 {
		return filepath.Join(dir, base+":2,"+string(flag))
	}
	letters := []byte(base[i+3:])
	if !slices.Contains(letters, flag) {
		letters = append(letters, flag)
		slices.Sort(letters)
	}
	return filepath.Join(dir, base[:i+3]+string(letters))
}
