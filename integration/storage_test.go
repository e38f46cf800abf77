package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"github.com/immp-mail/immp/immp/client"
)

// Storage faults against the whole process (issue "hardening", item 2):
// a full disk, a data directory turned read-only, and the SQLite database
// locked by another process for longer than busy_timeout. In each, SMTP
// answers 4xx (never 250 for what was not stored, never 5xx for what is
// temporary), IMAP APPEND and IMMP CREATE answer NO, nothing acknowledged
// is lost, and service resumes without a restart once the fault is gone.

// skipOrFail skips the test, or fails it under CI=true (where the
// environment must allow what the test needs).
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// mountTmpfs mounts a tmpfs of the given size (mount's syntax, "12m") on
// a fresh directory, unmounted when the test ends (after the server, whose
// cleanup is registered later and so runs first).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root to mount a small tmpfs as the data directory")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", mnt).CombinedOutput(); err != nil {
		skipOrFail(t, "cannot mount a tmpfs (%v: %s); run as root where mount(2) is allowed", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", mnt).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v %s", mnt, err, out)
		}
	})
	return mnt
}

// fill writes to path until the file system says ENOSPC, and returns how
// many bytes it added. Called again, it takes whatever was freed meanwhile.
func fill(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return 0
		}
		t.Fatalf("filler: %v", err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte("f"), 64<<10)
	var n int64
	for _, size := range []int{64 << 10, 4 << 10, 1} {
		for {
			k, err := f.Write(chunk[:size])
			n += int64(k)
			if err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Errorf("filler: %v", err)
				}
				break
			}
		}
	}
	return n
}

// trySend sends one test message (sendOne's format) and returns the code
// the transaction ended with: 250 when the message was accepted after
// DATA, else the refusal's code, at whatever stage it came.
func trySend(addr, rcpt, id string) (int, error) {
	c, err := smtp.Dial(addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	code := func(err error) (int, error) {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se.Code, nil
		}
		return 0, err
	}
	if err := c.Hello("storage.test"); err != nil {
		return code(err)
	}
	if err := c.Mail("load@remote.test", nil); err != nil {
		return code(err)
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return code(err)
	}
	w, err := c.Data()
	if err != nil {
		return code(err)
	}
	fmt.Fprintf(w, "From: load@remote.test\r\nTo: %s\r\nSubject: load %s\r\nX-Test-Id: %s\r\n\r\n%s", rcpt, id, id, messageBody(id))
	if err := w.Close(); err != nil {
		return code(err)
	}
	c.Quit()
	return 250, nil
}

// testMessage is what APPEND stores for id: what fetchIDs checks.
func testMessage(id string) []byte {
	return fmt.Appendf(nil, "From: append@example.org\r\nSubject: append %s\r\nX-Test-Id: %s\r\n\r\n%s", id, id, messageBody(id))
}

// imapSession is one logged-in IMAP connection kept across a fault, so
// the test shows the same session recovers.
func imapSession(t *testing.T, addr, user, password string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

// appendMsg APPENDs id's message to folder.
func appendMsg(c *imapclient.Client, folder, id string) error {
	msg := testMessage(id)
	cmd := c.Append(folder, int64(len(msg)), nil)
	if _, err := cmd.Write(msg); err != nil {
		cmd.Close()
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	_, err := cmd.Wait()
	return err
}

// imapNO says whether err is a tagged NO with the given response code.
func imapNO(err error, code imap.ResponseCode) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo && ie.Code == code
}

// immpSession is one logged-in IMMP connection kept across a fault.
func immpSession(t *testing.T, addr, user, password string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr, client.Options{User: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// immpNO says whether err is a tagged NO from the IMMP server, and its code.
func immpNO(err error) (string, bool) {
	var e *client.Error
	if errors.As(err, &e) && e.Status == "NO" {
		return e.Code, true
	}
	return "", false
}

func ctx10s(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// checkLog fails the test on a panic or a data race in the server's log.
func checkLog(t *testing.T, s *server) {
	t.Helper()
	l := s.logs()
	for _, bad := range []string{"panic:", "DATA RACE", "fatal error:"} {
		if strings.Contains(l, bad) {
			t.Fatalf("server log has %q:\n%s", bad, l)
		}
	}
}

// verifyStored reads folder and checks that every acknowledged id is there
// exactly once and intact, and that nothing refused was stored. It returns
// what it found.
func verifyStored(t *testing.T, s *server, user, password, folder string, acked map[string]bool) map[imap.UID]string {
	t.Helper()
	found := fetchIDs(t, s.addrs["imap"], user, password, folder)
	count := map[string]int{}
	for _, id := range found {
		count[id]++
	}
	var lost, dup, extra []string
	for id := range acked {
		if count[id] == 0 {
			lost = append(lost, id)
		}
	}
	for id, n := range count {
		if n > 1 {
			dup = append(dup, id)
		}
		if !acked[id] {
			extra = append(extra, id)
		}
	}
	if len(lost) > 0 || len(dup) > 0 || len(extra) > 0 {
		t.Fatalf("%s: %d acknowledged, %d found; lost %v, duplicated %v, refused but stored %v",
			folder, len(acked), len(found), lost, dup, extra)
	}
	return found
}

// sameUIDs fails unless a and b map the same UIDs to the same messages.
func sameUIDs(t *testing.T, a, b map[imap.UID]string) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("after restart %d messages, before %d", len(b), len(a))
	}
	for uid, id := range a {
		if b[uid] != id {
			t.Fatalf("UID %d was %s before the restart and is %q after", uid, id, b[uid])
		}
	}
}

// TestFullDisk fills the data directory's file system while four SMTP
// clients deliver: every 250 is stored, every refusal is 452/451, APPEND
// and CREATE answer NO; once space is freed the same sessions and new
// ones work again without a restart, and a restart shows the same
// messages under the same UIDs.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	mnt := mountTmpfs(t, "12m")
	s := startServer(t, serverOptions{dataDir: filepath.Join(mnt, "data")})
	const user, pw, folder = "full@example.org", "pw-full", "INBOX/load"
	s.addUser(t, user, pw)
	ic := immpSession(t, s.addrs["immp"], user, pw)
	if err := ic.Create(ctx10s(t), "load"); err != nil {
		t.Fatalf("CREATE load: %v", err)
	}
	mc := imapSession(t, s.addrs["imap"], user, pw)

	var (
		mu    sync.Mutex
		acked = map[string]bool{}
		codes = map[int]int{}
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	filler := filepath.Join(mnt, "filler")
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
				id := fmt.Sprintf("w%d-m%d", w, m)
				code, err := trySend(s.addrs["smtp"], "load/"+user, id)
				if err != nil {
					t.Errorf("%s: %v", id, err)
					return
				}
				mu.Lock()
				codes[code]++
				if code == 250 {
					acked[id] = true
				}
				mu.Unlock()
				if code != 250 && code != 451 && code != 452 {
					t.Errorf("%s: SMTP %d on a full disk, want 250 (stored), 451 or 452", id, code)
				}
			}
		}()
	}
	// Let some mail in, then fill the disk under the load and keep it
	// full for a while: failed deliveries free their spool files, which
	// the filler takes back; now and then it gives back up to three pages,
	// so that some deliveries get their spool file written and then fail
	// further on (links, dovecot-uidlist), or succeed.
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	fill(t, filler)
	for time.Since(start) < 1500*time.Millisecond {
		time.Sleep(5 * time.Millisecond)
		if st, err := os.Stat(filler); err == nil && rand.IntN(2) == 0 {
			os.Truncate(filler, max(0, st.Size()-int64(rand.IntN(3*4096+1))))
			time.Sleep(2 * time.Millisecond)
		}
		fill(t, filler)
	}
	close(stop)
	wg.Wait()
	mu.Lock()
	t.Logf("under load: %d acknowledged (250), %d x 452, %d x 451, other %v; disk kept full for %v",
		codes[250], codes[452], codes[451], codes, time.Since(start).Round(time.Millisecond))
	if codes[452]+codes[451] == 0 {
		t.Fatalf("no SMTP refusal on a full disk: %v", codes)
	}
	// The server's own count agrees with what the clients heard.
	delivered := s.metric(t, `immp_smtp_transactions_total{outcome="delivered",service="smtp"}`)
	tempfail := s.metric(t, `immp_smtp_transactions_total{outcome="tempfail",service="smtp"}`)
	if delivered != fmt.Sprint(codes[250]) || tempfail != fmt.Sprint(codes[451]+codes[452]) {
		t.Fatalf("metrics: %s delivered, %s tempfail; clients heard %v", delivered, tempfail, codes)
	}
	mu.Unlock()

	// Nothing acknowledged is lost, nothing refused was kept, on the
	// full disk.
	before := verifyStored(t, s, user, pw, folder, acked)

	// The disk stays full: each protocol refuses, temporarily.
	fill(t, filler)
	code, err := trySend(s.addrs["smtp"], "load/"+user, "full-smtp")
	if err != nil || (code != 452 && code != 451) {
		t.Fatalf("SMTP on a full disk: %d %v, want 452 or 451", code, err)
	}
	fill(t, filler)
	if err := appendMsg(mc, folder, "full-append"); !imapNO(err, imap.ResponseCodeUnavailable) {
		t.Fatalf("APPEND on a full disk: %v, want NO [UNAVAILABLE]", err)
	}
	fill(t, filler)
	if err := ic.Create(ctx10s(t), "full"); err == nil {
		t.Fatalf("IMMP CREATE on a full disk answered OK")
	} else if code, no := immpNO(err); !no || code != "UNAVAILABLE" {
		t.Fatalf("IMMP CREATE on a full disk: %v, want NO [UNAVAILABLE]", err)
	}
	// A database write (the WAL grows) on a full disk.
	fill(t, filler)
	if err := ic.StoreSpamEntry(ctx10s(t), user, "*@spam.example"); err == nil {
		t.Logf("STORESPAMENTRY on a full disk answered OK (the WAL had room)")
	} else if code, no := immpNO(err); !no || code != "UNAVAILABLE" {
		t.Fatalf("STORESPAMENTRY on a full disk: %v, want OK or NO [UNAVAILABLE]", err)
	}

	// Free the space: the same process, the same sessions carry on.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	for i := 0; ; i++ {
		code, err := trySend(s.addrs["smtp"], "load/"+user, fmt.Sprintf("after-%d", i))
		if code == 250 {
			acked[fmt.Sprintf("after-%d", i)] = true
			break
		}
		if time.Since(freed) > 5*time.Second {
			t.Fatalf("SMTP still %d %v 5s after space was freed; log:\n%s", code, err, s.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	recovery := time.Since(freed)
	for i := 1; i < 10; i++ {
		id := fmt.Sprintf("after-%d", i)
		if code, err := trySend(s.addrs["smtp"], "load/"+user, id); code != 250 {
			t.Fatalf("SMTP after space was freed: %d %v", code, err)
		}
		acked[id] = true
	}
	if err := appendMsg(mc, folder, "after-append"); err != nil {
		t.Fatalf("APPEND after space was freed: %v", err)
	}
	acked["after-append"] = true
	if err := ic.Create(ctx10s(t), "full"); err != nil {
		t.Fatalf("IMMP CREATE after space was freed: %v", err)
	}
	if err := ic.StoreSpamEntry(ctx10s(t), user, "*@spam.example"); err != nil && !client.HasCode(err, "ALREADYEXISTS") {
		t.Fatalf("STORESPAMENTRY after space was freed: %v", err)
	}
	if code, err := spamSend(s.addrs["smtp"], user); code != 550 {
		t.Fatalf("SMTP from a blocked sender after space was freed: %d %v, want 550", code, err)
	}
	after := verifyStored(t, s, user, pw, folder, acked)
	t.Logf("recovered %v after space was freed; %d messages stored (%d before), all intact", recovery.Round(time.Millisecond), len(after), len(before))

	// A restart shows the same messages under the same UIDs.
	checkLog(t, s)
	s.stop()
	s.start()
	sameUIDs(t, after, verifyStored(t, s, user, pw, folder, acked))
	if n, _ := imapSubjects(t, s.addrs["imap"], user, pw, "INBOX/full"); n != 0 {
		t.Fatalf("INBOX/full has %d messages", n)
	}
	checkLog(t, s)
}

// makeReadOnly turns the file system at mnt read-only under the running
// server and returns the function that makes it writable again. A plain
// "remount,ro" is refused (EBUSY) while a process holds files open for
// writing, which the server always does (SQLite); then a read-only bind
// mount is put over mnt: every file the server opens or creates from then
// on (spool files, links, folders, dot locks) is on a read-only mount,
// while the database files it already holds stay writable.
func makeReadOnly(t *testing.T, mnt string) (undo func(), how string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err == nil {
		return func() {
			if out, err := exec.Command("mount", "-o", "remount,rw", mnt).CombinedOutput(); err != nil {
				t.Fatalf("remount,rw: %v %s", err, out)
			}
		}, "remount,ro"
	} else {
		t.Logf("remount,ro refused (%s): using a read-only bind mount", bytes.TrimSpace(out))
	}
	if out, err := exec.Command("mount", "--bind", mnt, mnt).CombinedOutput(); err != nil {
		skipOrFail(t, "cannot bind-mount %s: %v %s", mnt, err, out)
	}
	if out, err := exec.Command("mount", "-o", "remount,ro,bind", mnt).CombinedOutput(); err != nil {
		exec.Command("umount", "-l", mnt).Run()
		skipOrFail(t, "cannot make the bind mount read-only: %v %s", err, out)
	}
	undone := false
	undo = func() {
		if undone {
			return
		}
		undone = true
		// Lazily: the server may hold a directory open through it.
		if out, err := exec.Command("umount", "-l", mnt).CombinedOutput(); err != nil {
			t.Fatalf("umount the read-only bind mount: %v %s", err, out)
		}
	}
	t.Cleanup(undo)
	return undo, "read-only bind mount"
}

// TestReadOnlyDataDir makes the data directory read-only under the
// running server: SMTP answers 4xx, APPEND and CREATE answer NO, stored
// mail stays readable; made writable again, the same sessions and new
// ones work without a restart.
func TestReadOnlyDataDir(t *testing.T) {
	t.Parallel()
	mnt := mountTmpfs(t, "16m")
	s := startServer(t, serverOptions{dataDir: filepath.Join(mnt, "data")})
	const user, pw, folder = "ro@example.org", "pw-ro", "INBOX/ro"
	s.addUser(t, user, pw)
	ic := immpSession(t, s.addrs["immp"], user, pw)
	if err := ic.Create(ctx10s(t), "ro"); err != nil {
		t.Fatalf("CREATE ro: %v", err)
	}
	mc := imapSession(t, s.addrs["imap"], user, pw)
	acked := map[string]bool{}
	for i := 0; i < 5; i++ {
		id := fmt.Sprintf("before-%d", i)
		if code, err := trySend(s.addrs["smtp"], "ro/"+user, id); code != 250 {
			t.Fatalf("SMTP: %d %v", code, err)
		}
		acked[id] = true
	}
	if err := appendMsg(mc, folder, "before-append"); err != nil {
		t.Fatal(err)
	}
	acked["before-append"] = true

	undo, how := makeReadOnly(t, mnt)
	t.Logf("data directory made read-only by %s", how)
	codes := map[int]int{}
	for i := 0; i < 10; i++ {
		code, err := trySend(s.addrs["smtp"], "ro/"+user, fmt.Sprintf("ro-%d", i))
		if err != nil {
			t.Fatalf("SMTP on a read-only data directory: %v", err)
		}
		codes[code]++
		if code/100 != 4 {
			t.Fatalf("SMTP on a read-only data directory: %d, want 4xx", code)
		}
	}
	t.Logf("read-only: SMTP %v", codes)
	if err := appendMsg(mc, folder, "ro-append"); !imapNO(err, imap.ResponseCodeUnavailable) {
		t.Fatalf("APPEND on a read-only data directory: %v, want NO [UNAVAILABLE]", err)
	}
	if err := ic.Create(ctx10s(t), "ro2"); err == nil {
		t.Fatal("IMMP CREATE on a read-only data directory answered OK")
	} else if code, no := immpNO(err); !no || code != "UNAVAILABLE" {
		t.Fatalf("IMMP CREATE on a read-only data directory: %v, want NO [UNAVAILABLE]", err)
	}
	// What was stored stays readable.
	if _, err := mc.Select(folder, nil).Wait(); err != nil {
		t.Fatalf("SELECT on a read-only data directory: %v", err)
	}
	verifyStored(t, s, user, pw, folder, acked)
	checkLog(t, s)

	undo()
	back := time.Now()
	for i := 0; i < 5; i++ {
		id := fmt.Sprintf("after-%d", i)
		if code, err := trySend(s.addrs["smtp"], "ro/"+user, id); code != 250 {
			t.Fatalf("SMTP once writable again: %d %v; log:\n%s", code, err, s.logs())
		}
		acked[id] = true
	}
	recovery := time.Since(back)
	if err := appendMsg(mc, folder, "after-append"); err != nil {
		t.Fatalf("APPEND once writable again: %v", err)
	}
	acked["after-append"] = true
	if err := ic.Create(ctx10s(t), "ro2"); err != nil {
		t.Fatalf("IMMP CREATE once writable again: %v", err)
	}
	found := verifyStored(t, s, user, pw, folder, acked)
	t.Logf("writable again: 5 deliveries in %v, %d messages stored, all intact", recovery.Round(time.Millisecond), len(found))
	checkLog(t, s)
	s.stop()
	s.start()
	sameUIDs(t, found, verifyStored(t, s, user, pw, folder, acked))
}

// lockDB holds an exclusive SQLite lock on db from another process (a
// python3 sqlite3 client) until the returned release is called; release
// returns how long the lock was held.
func lockDB(t *testing.T, db string) (release func() time.Duration) {
	t.Helper()
	python := needTool(t, "python3")
	const script = `
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
c.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
c.execute("COMMIT")
`
	cmd := exec.Command(python, "-c", script, db)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := io.ReadFull(stdout, buf); err != nil || string(buf) != "locked\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("locking %s: %q %v %s", db, buf, err, stderr.String())
	}
	start := time.Now()
	var once sync.Once
	var held time.Duration
	release = func() time.Duration {
		once.Do(func() {
			stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Errorf("lock holder: %v %s", err, stderr.String())
			}
			held = time.Since(start)
		})
		return held
	}
	t.Cleanup(func() { release() })
	return release
}

// TestSQLiteLocked holds an exclusive lock on immp.db from another
// process for longer than busy_timeout (5s). What must write to the
// database answers a temporary failure: STORESPAMENTRY NO [UNAVAILABLE],
// "immp user add" exit 1 naming the lock, SMTP to an account that
// auto_create would make 451. What needs no database write goes on:
// delivery to an existing account (every 250 stored), APPEND, IMMP CREATE
// (folders live in the Maildir++ tree), "immp user list". Once the lock
// is gone everything works without a restart.
func TestSQLiteLocked(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{autoCreate: true})
	const user, pw, folder = "locked@example.org", "pw-locked", "INBOX/locked"
	s.addUser(t, user, pw)
	ic := immpSession(t, s.addrs["immp"], user, pw)
	if err := ic.Create(ctx10s(t), "locked"); err != nil {
		t.Fatalf("CREATE locked: %v", err)
	}
	mc := imapSession(t, s.addrs["imap"], user, pw)
	// Connections made before the lock, so that logging in (which may
	// write) is not what is measured.
	ic2 := immpSession(t, s.addrs["immp"], user, pw)
	mc2 := imapSession(t, s.addrs["imap"], user, pw)
	acked := map[string]bool{}

	release := lockDB(t, filepath.Join(s.dataDir, "immp.db"))
	type outcome struct {
		err error
		dur time.Duration
		out string
	}
	var (
		mu      sync.Mutex
		results = map[string]outcome{}
		wg      sync.WaitGroup
	)
	op := func(what string, f func() (string, error)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			out, err := f()
			mu.Lock()
			results[what] = outcome{err, time.Since(t0), out}
			mu.Unlock()
		}()
	}
	cli := func(stdin string, args ...string) func() (string, error) {
		return func() (string, error) {
			out, errOut, code := s.immp(t, stdin, nil, append(args[:1:1], append([]string{args[1], "-config", s.config}, args[2:]...)...)...)
			if code != 0 {
				return out + errOut, fmt.Errorf("exit %d", code)
			}
			return out + errOut, nil
		}
	}
	op("STORESPAMENTRY", func() (string, error) { return "", ic.StoreSpamEntry(ctx10s(t), user, "*@spam.example") })
	op("user add", cli("pw2\n", "user", "add", "second@example.org"))
	op("user list", cli("", "user", "list"))
	op("CREATE", func() (string, error) { return "", ic2.Create(ctx10s(t), "during") })
	op("SMTP", func() (string, error) {
		code, err := trySend(s.addrs["smtp"], "locked/"+user, "during-smtp")
		return fmt.Sprint(code), err
	})
	op("SMTP new account", func() (string, error) {
		code, err := trySend(s.addrs["smtp"], "third@example.org", "during-new")
		return fmt.Sprint(code), err
	})
	op("APPEND", func() (string, error) { return "", appendMsg(mc2, folder, "during-append") })
	wg.Wait()
	held := release()
	for what, r := range results {
		t.Logf("under lock: %-16s %v in %v %s", what, r.err, r.dur.Round(time.Millisecond), strings.TrimSpace(r.out))
	}
	t.Logf("lock held %v", held.Round(time.Millisecond))

	if r := results["STORESPAMENTRY"]; r.err == nil {
		t.Errorf("STORESPAMENTRY under lock answered OK")
	} else if code, no := immpNO(r.err); !no || code != "UNAVAILABLE" {
		t.Errorf("STORESPAMENTRY under lock: %v, want NO [UNAVAILABLE]", r.err)
	}
	if r := results["user add"]; r.err == nil || !strings.Contains(r.out, "locked") {
		t.Errorf("user add under lock: %v %q, want exit 1 naming the lock", r.err, r.out)
	}
	if r := results["user list"]; r.err != nil || !strings.Contains(r.out, user) {
		t.Errorf("user list under lock: %v %q, want the accounts", r.err, r.out)
	}
	if r := results["CREATE"]; r.err != nil {
		t.Errorf("IMMP CREATE under lock: %v (it needs no database write)", r.err)
	}
	if r := results["SMTP"]; r.err != nil || r.out != "250" {
		t.Errorf("SMTP under lock: %s %v, want 250 (delivery needs no database write)", r.out, r.err)
	} else {
		acked["during-smtp"] = true
	}
	if r := results["SMTP new account"]; r.err != nil || r.out[0] != '4' {
		t.Errorf("SMTP to an account to be created under lock: %s %v, want 4xx", r.out, r.err)
	}
	if r := results["APPEND"]; r.err != nil {
		t.Errorf("APPEND under lock: %v", r.err)
	} else {
		acked["during-append"] = true
	}
	if t.Failed() {
		t.FailNow()
	}

	// Released: the same sessions and the CLI work again, no restart.
	freed := time.Now()
	if err := ic.StoreSpamEntry(ctx10s(t), user, "*@spam.example"); err != nil {
		t.Fatalf("STORESPAMENTRY after the lock: %v", err)
	}
	recovery := time.Since(freed)
	if code, err := trySend(s.addrs["smtp"], "locked/"+user, "from-spam"); code != 250 {
		t.Fatalf("SMTP after the lock: %d %v", code, err)
	}
	acked["from-spam"] = true
	if code, err := spamSend(s.addrs["smtp"], user); code != 550 {
		t.Fatalf("SMTP from a sender blocked after the lock: %d %v, want 550 (the entry is in force)", code, err)
	}
	if out, errOut, code := s.immp(t, "pw2\n", nil, "user", "add", "-config", s.config, "second@example.org"); code != 0 {
		t.Fatalf("user add after the lock: exit %d %s%s", code, out, errOut)
	}
	if code, err := trySend(s.addrs["smtp"], "third@example.org", "after-new"); code != 250 {
		t.Fatalf("SMTP to a new account after the lock: %d %v", code, err)
	}
	if err := appendMsg(mc, folder, "after-append"); err != nil {
		t.Fatalf("APPEND after the lock: %v", err)
	}
	acked["after-append"] = true
	found := verifyStored(t, s, user, pw, folder, acked)
	if n, _ := imapSubjects(t, s.addrs["imap"], user, pw, "INBOX/during"); n != 0 {
		t.Fatalf("INBOX/during has %d messages", n)
	}
	t.Logf("after the lock: first write %v; %d messages in %s, all intact", recovery.Round(time.Millisecond), len(found), folder)
	checkLog(t, s)
}

// spamSend sends from a sender the test blocks, returning the code.
func spamSend(addr, rcpt string) (int, error) {
	c, err := smtp.Dial(addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if err := c.Hello("spam.example"); err != nil {
		return 0, err
	}
	if err := c.Mail("bulk@spam.example", nil); err != nil {
		return 0, err
	}
	var se *smtp.SMTPError
	if err := c.Rcpt(rcpt, nil); errors.As(err, &se) {
		return se.Code, nil
	} else if err != nil {
		return 0, err
	}
	return 250, nil
}
