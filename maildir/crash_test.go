package maildir

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The crash test (issue 2): a child process (this test binary again)
// delivers in a loop, printing each delivery after Commit returned; the
// parent kills it with SIGKILL at a random moment, many times over, and
// after every kill checks that every acknowledged message is there under
// the UID it was given, that no message file is torn, that every
// dovecot-uidlist parses, and that deliveries carry on.
//
// go test -run TestCrash ./maildir                  (CI: 50 kills or 15 s)
// go test -run TestCrash ./maildir -crash.long      (400 kills)
// IMMP_CRASH_KILLS=n sets the number of kills

var crashLong = flag.Bool("crash.long", false, "run the crash test with hundreds of kills")

const crashEnv = "IMMP_MAILDIR_CRASH_CHILD"

func crashBody(seq int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Subject: crash %d\r\nX-Seq: %d\r\n\r\n", seq, seq)
	// 1 KiB to about 200 KiB, so the kill often lands inside a write.
	n := 1 + (seq*7919)%200
	line := strings.Repeat(strconv.Itoa(seq%10), 1000)
	for i := 0; i < n; i++ {
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "END %d\r\n", seq)
	return b.Bytes()
}

// TestCrashChild is the child's body; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("crash test child only")
	}
	start, _ := strconv.Atoi(os.Getenv(crashEnv + "_SEQ"))
	ctx := context.Background()
	s, err := Open(ctx, Options{DataDir: dir, Logger: testLogger(t), cheapHash: true})
	if err != nil {
		fmt.Println("ERR open", err)
		os.Exit(3)
	}
	a, err := s.Account(ctx, "alice@example.org")
	if err != nil {
		fmt.Println("ERR account", err)
		os.Exit(3)
	}
	b, _ := s.Account(ctx, "bob@example.org")
	fmt.Println("READY")
	out := bufio.NewWriter(os.Stdout)
	done := make(chan struct{})
	// Several deliverers at once, so batches and the group commit are
	// exercised by the kill too.
	type res struct {
		seq int
		ds  []Delivered
	}
	results := make(chan res, 64)
	for w := 0; w < 4; w++ {
		go func() {
			for seq := start + w; ; seq += 4 {
				d, err := s.BeginDelivery(ctx)
				if err != nil {
					fmt.Println("ERR begin", err)
					os.Exit(3)
				}
				d.AddRecipient(a, "INBOX")
				if seq%3 == 0 {
					d.AddRecipient(a, "INBOX/work")
				}
				if seq%2 == 0 {
					d.AddRecipient(b, "INBOX")
				}
				d.Write(crashBody(seq))
				ds, err := d.Commit(ctx)
				if err != nil {
					fmt.Println("ERR commit", err)
					os.Exit(3)
				}
				results <- res{seq, ds}
			}
		}()
	}
	for r := range results {
		for _, d := range r.ds {
			fmt.Fprintf(out, "OK %d %s %s %d\n", r.seq, d.Account.Address, d.Folder, d.UID)
		}
		out.Flush()
	}
	<-done
}

func TestCrash(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the child")
	}
	if testing.Short() {
		t.Skip("short")
	}
	t.Parallel()
	kills := 50
	if *crashLong || os.Getenv("IMMP_CRASH_LONG") != "" {
		kills = 400
	}
	if n, err := strconv.Atoi(os.Getenv("IMMP_CRASH_KILLS")); err == nil && n > 0 {
		kills = n
	}
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(ctx, Options{DataDir: dir, Logger: testLogger(t), cheapHash: true})
	if err != nil {
		t.Fatal(err)
	}
	a := newAccount(t, s, "alice@example.org")
	newAccount(t, s, "bob@example.org")
	if err := s.CreateFolder(ctx, a, "INBOX/work"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	type key struct {
		acct, folder string
		uid          uint32
	}
	acked := map[key]int{} // -> seq
	seq := 0
	rng := rand.New(rand.NewPCG(1, 2))
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; i < kills; i++ {
		if kills <= 50 && time.Now().After(deadline) {
			t.Logf("time budget reached after %d kills", i)
			break
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v=false")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir, fmt.Sprintf("%s_SEQ=%d", crashEnv, seq))
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		lines := make(chan string, 1024)
		go func() {
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Wait for READY, then kill after a random delay.
		if l := <-lines; l != "READY" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child said %q", l)
		}
		time.Sleep(time.Duration(rng.IntN(100000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		maxSeq := seq
		for l := range lines {
			f := strings.Fields(l)
			if len(f) == 0 || f[0] != "OK" {
				t.Fatalf("child: %s", l)
			}
			n, _ := strconv.Atoi(f[1])
			uid, _ := strconv.ParseUint(f[4], 10, 32)
			k := key{f[2], f[3], uint32(uid)}
			if prev, dup := acked[k]; dup && prev != n {
				t.Fatalf("UID %v given twice: seq %d and %d", k, prev, n)
			}
			acked[k] = n
			if n >= maxSeq {
				maxSeq = n + 1
			}
		}
		cmd.Wait()
		seq = maxSeq + 8 // never reuse a sequence number

		// Check the invariants on disk, through a fresh Store.
		s, err := Open(ctx, Options{DataDir: dir, Logger: testLogger(t), cheapHash: true})
		if err != nil {
			t.Fatal(err)
		}
		present := map[key]bool{}
		for _, addr := range []string{"alice@example.org", "bob@example.org"} {
			acct, _ := s.Account(ctx, addr)
			folders := []string{"INBOX"}
			if addr == "alice@example.org" {
				folders = append(folders, "INBOX/work")
			}
			for _, fn := range folders {
				fdir := folderDir(s.AccountDir(acct), fn)
				if _, _, err := readUIDList(fdir); err != nil {
					t.Fatalf("kill %d: %s %s: uidlist: %v", i, addr, fn, err)
				}
				checkNoTornFiles(t, fdir)
				f, err := s.OpenFolder(ctx, acct, fn)
				if err != nil {
					t.Fatal(err)
				}
				ms, err := f.Messages(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ms {
					present[key{addr, fn, m.UID}] = true
				}
			}
		}
		for k, n := range acked {
			if !present[k] {
				t.Fatalf("kill %d: acknowledged seq %d (%v) is missing", i, n, k)
			}
		}
		s.Close()
		if (i+1)%25 == 0 {
			t.Logf("%d kills, %d acknowledged copies so far", i+1, len(acked))
		}
	}
	t.Logf("%d acknowledged copies checked", len(acked))
	if len(acked) == 0 {
		t.Fatal("no delivery was acknowledged at all")
	}
}

// checkNoTornFiles reads every message file in new/ and cur/: each must be
// a complete crash body.
func checkNoTornFiles(t *testing.T, dir string) {
	t.Helper()
	for _, sub := range []string{"new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range ents {
			data, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
			if err != nil {
				continue // renamed meanwhile
			}
			var seq int
			if _, err := fmt.Sscanf(string(data), "Subject: crash %d", &seq); err != nil || !bytes.Equal(data, crashBody(seq)) {
				t.Fatalf("torn or foreign file %s/%s (%d bytes)", sub, e.Name(), len(data))
			}
			base, _, _ := splitName(e.Name())
			if ps, vs := sizesFromBase(base); ps != int64(len(data)) || vs != int64(len(data)) {
				t.Fatalf("%s: size in name %d/%d, file %d", e.Name(), ps, vs, len(data))
			}
		}
	}
}
