package maildir

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// usedNow is the account's running total in s.
func usedNow(t testing.TB, s *Store, a Account) int64 {
	t.Helper()
	u, err := s.Usage(context.Background(), a)
	if err != nil {
		t.Fatalf("Usage: %v", err)
	}
	return u.Used
}

// countFresh is the account's usage as a process that never saw it
// counts it: a second store on the same data directory.
func countFresh(t testing.TB, dir string, a Account) int64 {
	t.Helper()
	s2, err := Open(context.Background(), Options{DataDir: dir, cheapHash: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	return usedNow(t, s2, a)
}

// countDisk sums the sizes of the message files under the account's
// Maildir (immp writes CRLF, so a file's size is its RFC822.SIZE).
func countDisk(t testing.TB, s *Store, a Account) int64 {
	t.Helper()
	var n int64
	err := filepath.Walk(s.AccountDir(a), func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if sub := filepath.Base(filepath.Dir(path)); !info.IsDir() && (sub == "cur" || sub == "new") {
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestUsageFollowsEveryChange: the running total equals what a fresh
// count finds (and what is on disk) after every way messages come and
// go: delivery to several folders, APPEND, COPY, MOVE, flag changes,
// EXPUNGE, folder deletion, RENAME of INBOX, REPLACE, and files another
// program drops into or removes from a folder.
func TestUsageFollowsEveryChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, Options{DataDir: dir})
	a := newAccount(t, s, "alice@example.org")
	b := newAccount(t, s, "bob@example.org")
	check := func(step string) {
		t.Helper()
		got, fresh, disk := usedNow(t, s, a), countFresh(t, dir, a), countDisk(t, s, a)
		if got != fresh || got != disk {
			t.Fatalf("after %s: running total %d, fresh count %d, on disk %d", step, got, fresh, disk)
		}
	}
	check("nothing")
	if err := s.CreateFolder(ctx, a, "INBOX/work"); err != nil {
		t.Fatal(err)
	}
	deliver(t, s, "Subject: one\r\n\r\nfirst\r\n", a, "INBOX", a, "INBOX/work", b, "INBOX")
	deliver(t, s, "Subject: two\n\nbare LF line ends\n", a, "INBOX")
	check("deliveries")

	in := mustOpen(t, s, a, "INBOX")
	uid, err := in.Append(ctx, strings.NewReader("Subject: three\r\n\r\nappended\r\n"), []string{`\Seen`, "kw"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	check("APPEND")
	if _, _, err := in.Copy(ctx, []uint32{uid}, "Archive"); err != nil {
		t.Fatal(err)
	}
	check("COPY")
	before := usedNow(t, s, a)
	if _, _, err := in.Move(ctx, []uint32{uid}, "Trash"); err != nil {
		t.Fatal(err)
	}
	if _, err := in.StoreFlags(ctx, []uint32{1}, FlagsAdd, []string{`\Flagged`}); err != nil {
		t.Fatal(err)
	}
	check("MOVE and STORE")
	if got := usedNow(t, s, a); got != before {
		t.Errorf("MOVE and STORE changed usage from %d to %d", before, got)
	}

	trash := mustOpen(t, s, a, "Trash")
	ms := messages(t, trash)
	if _, err := trash.StoreFlags(ctx, []uint32{ms[0].UID}, FlagsAdd, []string{`\Deleted`}); err != nil {
		t.Fatal(err)
	}
	check("\\Deleted (not yet expunged: still counted)")
	if _, err := trash.Expunge(ctx, nil); err != nil {
		t.Fatal(err)
	}
	check("EXPUNGE")
	if err := s.DeleteFolder(ctx, a, "INBOX/work"); err != nil {
		t.Fatal(err)
	}
	check("DELETE")
	if err := s.RenameFolder(ctx, a, "INBOX", "INBOX/old"); err != nil {
		t.Fatal(err)
	}
	check("RENAME INBOX")
	if err := s.CreateFolder(ctx, a, "INBOX/new"); err != nil {
		t.Fatal(err)
	}
	deliver(t, s, "Subject: four\r\n\r\nx\r\n", a, "INBOX/new")
	if err := s.ReplaceSubinbox(ctx, a, "INBOX/old", "INBOX/new"); err != nil {
		t.Fatal(err)
	}
	check("REPLACE")

	// Another program drops a file into new/ and removes one from cur/:
	// counted once the folder is next read.
	archive := filepath.Join(s.AccountDir(a), ".Archive")
	if err := os.WriteFile(filepath.Join(archive, "new", "1700000000.external.host"), []byte("Subject: ext\r\n\r\nhello\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	curs, _ := filepath.Glob(filepath.Join(archive, "cur", "*"))
	if len(curs) != 1 {
		t.Fatalf("Archive/cur holds %v", curs)
	}
	os.Remove(curs[0])
	mustOpen(t, s, a, "Archive")
	check("files added and removed by another program")

	// Deliveries and expunges at once, from many goroutines.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 5 {
				deliver(t, s, fmt.Sprintf("Subject: c%d-%d\r\n\r\n%s\r\n", i, j, strings.Repeat("x", i*j)), a, "INBOX", a, "INBOX/new")
			}
			f, err := s.OpenFolder(ctx, a, "INBOX")
			if err != nil {
				t.Error(err)
				return
			}
			ms, err := f.Messages(ctx)
			if err != nil || len(ms) == 0 {
				t.Error(err)
				return
			}
			f.StoreFlags(ctx, []uint32{ms[0].UID}, FlagsAdd, []string{`\Deleted`})
			f.Expunge(ctx, []uint32{ms[0].UID})
		}()
	}
	wg.Wait()
	check("concurrent deliveries and expunges")

	// Bob's usage is his own.
	if got, want := usedNow(t, s, b), countDisk(t, s, b); got != want || got == 0 {
		t.Errorf("bob: running total %d, on disk %d", got, want)
	}
}

func over(t testing.TB, err error) {
	t.Helper()
	if !errors.Is(err, ErrOverQuota) {
		t.Fatalf("error %v, want ErrOverQuota", err)
	}
}

// spoolEmpty fails if an aborted write left a file in the spool.
func spoolEmpty(t testing.TB, s *Store) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(s.DataDir(), spoolDir, "*"))
	if len(left) > 0 {
		t.Errorf("spool holds %v", left)
	}
}

// TestQuotaEnforced: with a limit, a delivery (as a whole), APPEND and
// COPY that would pass it are refused with ErrOverQuota and leave
// nothing; MOVE and EXPUNGE always work; an account's own limit wins over
// the default, 0 is unlimited, QuotaDefault goes back to the default.
func TestQuotaEnforced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, Options{DefaultQuota: 1000})
	a := newAccount(t, s, "alice@example.org")
	b := newAccount(t, s, "bob@example.org")
	body := func(n int) string { // n octets in all
		h := "Subject: q\r\n\r\n"
		return h + strings.Repeat("x", n-len(h)-2) + "\r\n"
	}
	deliver(t, s, body(600), a, "INBOX")
	if u, _ := s.Usage(ctx, a); u.Used != 600 || u.Limit != 1000 || u.Own {
		t.Fatalf("usage %+v", u)
	}
	if err := s.CheckQuota(ctx, a, 0); err != nil {
		t.Fatalf("CheckQuota(0) at 600 of 1000: %v", err)
	}
	if err := s.CheckQuota(ctx, a, 401); !errors.Is(err, ErrOverQuota) {
		t.Fatalf("CheckQuota(401) at 600 of 1000: %v", err)
	}
	if err := s.CheckQuota(ctx, a, 400); err != nil {
		t.Fatalf("CheckQuota(400) at 600 of 1000 (fits exactly): %v", err)
	}

	// A delivery over the quota of one recipient fails for all of them.
	d, err := s.BeginDelivery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d.AddRecipient(b, "INBOX")
	d.AddRecipient(a, "INBOX")
	io.WriteString(d, body(600))
	_, err = d.Commit(ctx)
	over(t, err)
	if n := len(messages(t, mustOpen(t, s, b, "INBOX"))); n != 0 {
		t.Errorf("bob got %d messages of a refused delivery", n)
	}
	spoolEmpty(t, s)

	in := mustOpen(t, s, a, "INBOX")
	_, err = in.Append(ctx, strings.NewReader(body(600)), nil, time.Time{})
	over(t, err)
	spoolEmpty(t, s)
	uid, err := in.Append(ctx, strings.NewReader(body(300)), nil, time.Time{})
	if err != nil {
		t.Fatalf("APPEND within the quota: %v", err)
	}
	_, _, err = in.Copy(ctx, []uint32{1}, "Archive")
	over(t, err)
	if n := len(messages(t, mustOpen(t, s, a, "Archive"))); n != 0 {
		t.Errorf("Archive got %d messages of a refused COPY", n)
	}
	if _, _, err := in.Move(ctx, []uint32{1}, "Archive"); err != nil {
		t.Fatalf("MOVE at 900 of 1000: %v", err)
	}

	// Own limit: unlimited, then 100, then the default again.
	if err := s.SetQuota(ctx, a.Address, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := in.Copy(ctx, []uint32{uid}, "Archive"); err != nil {
		t.Fatalf("COPY with no limit: %v", err)
	}
	if u, _ := s.Usage(ctx, a); u.Used != 1200 || u.Limit != 0 || !u.Own {
		t.Fatalf("usage %+v", u)
	}
	if err := s.SetQuota(ctx, a.Address, 100); err != nil {
		t.Fatal(err)
	}
	over(t, s.CheckQuota(ctx, a, 0))
	if err := s.SetQuota(ctx, a.Address, QuotaDefault); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.Usage(ctx, a); u.Limit != 1000 || u.Own {
		t.Fatalf("usage after QuotaDefault %+v", u)
	}
	over(t, s.CheckQuota(ctx, a, 0))

	// Over the quota, expunging makes room.
	arch := mustOpen(t, s, a, "Archive")
	var uids []uint32
	for _, m := range messages(t, arch) {
		uids = append(uids, m.UID)
	}
	if _, err := arch.StoreFlags(ctx, uids, FlagsAdd, []string{`\Deleted`}); err != nil {
		t.Fatal(err)
	}
	if _, err := arch.Expunge(ctx, nil); err != nil {
		t.Fatal(err)
	}
	deliver(t, s, body(600), a, "INBOX")
	if err := s.SetQuota(ctx, "nobody@example.org", 5); !errors.Is(err, ErrNoSuchAccount) {
		t.Errorf("SetQuota of an unknown account: %v", err)
	}
}

// TestQuotaLimitSeenByOtherProcess: a limit set by another process (the
// CLI while the server runs) applies at once.
func TestQuotaLimitSeenByOtherProcess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	server := openStore(t, Options{DataDir: dir})
	cli := openStore(t, Options{DataDir: dir})
	a := newAccount(t, server, "alice@example.org")
	deliver(t, server, "Subject: x\r\n\r\nx\r\n", a, "INBOX")
	if err := server.CheckQuota(ctx, a, 1<<20); err != nil {
		t.Fatalf("no limit: %v", err)
	}
	if err := cli.SetQuota(ctx, a.Address, 10); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return errors.Is(server.CheckQuota(ctx, a, 0), ErrOverQuota) })
}

// TestSchemaMigrationAddsQuota: a database of schema version 2 (no quota
// column) is migrated in place; its accounts follow the default.
func TestSchemaMigrationAddsQuota(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "immp.db"))
	if err != nil {
		t.Fatal(err)
	}
	v2 := strings.Replace(schemaSQL, "\tcreated  INTEGER NOT NULL,\n\tquota    INTEGER -- octets; 0 unlimited; NULL the configured default\n", "\tcreated  INTEGER NOT NULL\n", 1)
	if v2 == schemaSQL {
		t.Fatal("could not make the version 2 schema")
	}
	for _, q := range []string{v2, "INSERT INTO accounts(id, address, created) VALUES (1, 'old@example.org', 0)", "PRAGMA user_version = 2"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s := openStore(t, Options{DataDir: dir, DefaultQuota: 5000})
	a, err := s.Account(ctx, "old@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.createMaildir(a); err != nil {
		t.Fatal(err)
	}
	if u, err := s.Usage(ctx, a); err != nil || u.Limit != 5000 || u.Own {
		t.Fatalf("usage %+v, %v", u, err)
	}
	if err := s.SetQuota(ctx, a.Address, 7); err != nil {
		t.Fatal(err)
	}
	var v int
	s.rdb.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	if v != schemaVersion {
		t.Errorf("user_version %d, want %d", v, schemaVersion)
	}
	s.Close()
	s = openStore(t, Options{DataDir: dir}) // current: opens without migrating
	if u, err := s.Usage(ctx, a); err != nil || u.Limit != 7 || !u.Own {
		t.Fatalf("usage after reopening %+v, %v", u, err)
	}
}

// BenchmarkCheckQuota is what the check costs a delivery (once at RCPT,
// once at commit): with no limit (the default), and with one, for an
// account of 1000 messages in its six folders.
func BenchmarkCheckQuota(b *testing.B) {
	for _, limit := range []int64{0, 1 << 30} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			ctx := context.Background()
			s := openStore(b, Options{NoSync: true, DefaultQuota: limit})
			a := newAccount(b, s, "alice@example.org")
			for i := range 1000 {
				deliver(b, s, fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i), a, "INBOX")
			}
			if err := s.CheckQuota(ctx, a, 100); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if err := s.CheckQuota(ctx, a, 100); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
