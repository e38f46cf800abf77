package maildir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// within fails the test if done is not closed in time.
func within(t *testing.T, what string, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: still waiting", what)
	}
}

// TestDirFsyncWaitsForArrivingDeliveries: a batch whose folder expects
// more deliveries (their files still syncing) waits for them so that one
// fsync of new/ covers them too; with none expected it does not wait.
func TestDirFsyncWaitsForArrivingDeliveries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rec, err := newRecFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t, Options{DataDir: dir, fs: rec})
	s.dirLinger = time.Hour // only the last arrival (or a poke) ends the wait
	a := newAccount(t, s, "alice@example.org")
	box := s.box(a, "INBOX")
	newDir := filepath.Join(s.AccountDir(a), "new")

	lone := make(chan struct{})
	go func() { deliver(t, s, "lone\r\n", a, "INBOX"); close(lone) }()
	within(t, "a lone delivery", lone)

	before := rec.count(opSyncDir, newDir)
	box.gc.arriving.Add(1) // a delivery still syncing its file
	first, second := make(chan struct{}), make(chan struct{})
	spool := filepath.Join(s.DataDir(), spoolDir)
	synced := rec.count(opSyncFile, spool)
	go func() { deliver(t, s, "first\r\n", a, "INBOX"); close(first) }()
	waitTaken(t, rec, box, spool, synced+1, 1) // the committer took it and waits for the announced one
	go func() { deliver(t, s, "second\r\n", a, "INBOX"); close(second) }()
	waitTaken(t, rec, box, spool, synced+2, 1)
	select {
	case <-first:
		t.Fatal("the first delivery did not wait for the one announced")
	case <-time.After(20 * time.Millisecond):
	}
	box.arrivalCancelled() // the announced one comes no more
	within(t, "first", first)
	within(t, "second", second)
	if n := rec.count(opSyncDir, newDir) - before; n != 1 {
		t.Errorf("%d fsyncs of new/ for two overlapping deliveries, want 1", n)
	}
	if n := box.gc.arriving.Load(); n != 0 {
		t.Errorf("arriving = %d after every delivery returned, want 0", n)
	}
}

// waitTaken waits until n spool files were synced, and the committer
// took every delivery queued (arriving are still announced).
func waitTaken(t *testing.T, rec *recFS, mb *mailbox, spool string, n int, arriving int32) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		mb.gc.mu.Lock()
		q := len(mb.gc.queue)
		mb.gc.mu.Unlock()
		if rec.count(opSyncFile, spool) >= n && q == 0 && mb.gc.arriving.Load() == arriving {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s: %d spool files synced (want %d), %d queued, %d arriving", rec.count(opSyncFile, spool), n, q, mb.gc.arriving.Load())
		}
		time.Sleep(time.Millisecond)
	}
}

// recStore opens a Store on the recording file system, its fsyncs taking
// delay each.
func recStore(t *testing.T, delay time.Duration) (*Store, *recFS) {
	t.Helper()
	dir := t.TempDir()
	rec, err := newRecFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec.syncDelay = func() time.Duration { return delay }
	return openStore(t, Options{DataDir: dir, fs: rec}), rec
}

// TestCommitSharesFsyncs: deliveries that overlap share the fsyncs of
// new/ (one per batch), and batches share the lingering fsync of
// dovecot-uidlist (here it lingers until the reader comes).
func TestCommitSharesFsyncs(t *testing.T) {
	t.Parallel()
	s, rec := recStore(t, 2*time.Millisecond)
	s.listLinger = time.Hour
	a := newAccount(t, s, "alice@example.org")
	root := s.AccountDir(a)
	listsBefore := rec.count(opSyncFile, filepath.Join(root, uidlistName)) // made with the account
	const senders, each = 8, 10
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				deliver(t, s, "x\r\n", a, "INBOX")
			}
		}()
	}
	wg.Wait()
	if n := len(messages(t, mustOpen(t, s, a, "INBOX"))); n != senders*each {
		t.Fatalf("%d messages, want %d", n, senders*each)
	}
	dirs := rec.count(opSyncDir, filepath.Join(root, "new"))
	lists := rec.count(opSyncFile, filepath.Join(root, uidlistName)) - listsBefore
	t.Logf("%d deliveries: %d fsyncs of new/, %d of dovecot-uidlist", senders*each, dirs, lists)
	if dirs < 1 || dirs >= senders*each {
		t.Errorf("%d fsyncs of new/ for %d overlapping deliveries, want fewer (and at least one)", dirs, senders*each)
	}
	if lists != 1 {
		t.Errorf("%d fsyncs of dovecot-uidlist for %d batches and one reader, want 1", lists, dirs)
	}
}

// TestReaderCutsListLingerShort: a delivery is published once the list
// is synced, which lingers; a reader does not wait for the linger.
func TestReaderCutsListLingerShort(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	s.listLinger = time.Hour
	a := newAccount(t, s, "alice@example.org")
	f := mustOpen(t, s, a, "INBOX")
	events := make(chan Event, 4)
	defer s.Subscribe(a, "INBOX", func(ev Event) { events <- ev })()
	got := deliver(t, s, "x\r\n", a, "INBOX")
	select {
	case ev := <-events:
		t.Fatalf("published before the list was synced: %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
	read := make(chan []Message)
	go func() { read <- messages(t, f) }()
	select {
	case ms := <-read:
		if len(ms) != 1 || ms[0].UID != got[0].UID {
			t.Fatalf("the reader sees %v, delivered %v", ms, got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the reader waits for the list's linger")
	}
	if ev := <-events; ev.Kind != EventNew || ev.UID != got[0].UID {
		t.Fatalf("event %+v", ev)
	}
}

// TestSettleWhileBatchWaitsForCommitLock: a rename or deletion holds the
// commit lock (ulMu) while it waits for what was committed to be
// published; a batch that came meanwhile and waits for that lock must
// not keep the earlier ones from being published.
func TestSettleWhileBatchWaitsForCommitLock(t *testing.T) {
	t.Parallel()
	s, rec := recStore(t, 0)
	s.listLinger = time.Hour
	a := newAccount(t, s, "alice@example.org")
	box := s.box(a, "INBOX")
	deliver(t, s, "first\r\n", a, "INBOX") // durable, waiting for the list
	spool := filepath.Join(s.DataDir(), spoolDir)
	synced := rec.count(opSyncFile, spool)
	box.ulMu.Lock() // as lockBoxes does
	locked := true
	defer func() {
		if locked {
			box.ulMu.Unlock()
		}
	}()
	second := make(chan struct{})
	go func() { deliver(t, s, "second\r\n", a, "INBOX"); close(second) }()
	waitTaken(t, rec, box, spool, synced+1, 0)
	settled := make(chan struct{})
	go func() { box.settle(); close(settled) }()
	within(t, "settle with the commit lock held", settled)
	box.ulMu.Unlock()
	locked = false
	within(t, "the second delivery", second)
	if n := len(messages(t, mustOpen(t, s, a, "INBOX"))); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}
}

// TestDirFsyncErrorStaysWithItsBatch: a failed fsync of new/ fails the
// deliveries it was to cover (nothing of them remains), and only those.
func TestDirFsyncErrorStaysWithItsBatch(t *testing.T) {
	t.Parallel()
	s, rec := recStore(t, time.Millisecond)
	a := newAccount(t, s, "alice@example.org")
	newDir := filepath.Join(s.AccountDir(a), "new")
	var failed atomic.Bool
	rec.syncFault = func(path string) error {
		if path == newDir && failed.CompareAndSwap(false, true) {
			return syscall.EIO
		}
		return nil
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	var ok, bad atomic.Int32
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, _ := s.BeginDelivery(ctx)
			d.AddRecipient(a, "INBOX")
			fmt.Fprintf(d, "Subject: %d\r\n\r\n", i)
			if _, err := d.Commit(ctx); err == nil {
				ok.Add(1)
			} else if errors.Is(err, syscall.EIO) {
				bad.Add(1)
			} else {
				t.Errorf("commit: %v", err)
			}
		}()
	}
	wg.Wait()
	if bad.Load() == 0 || ok.Load()+bad.Load() != 6 {
		t.Fatalf("%d delivered, %d failed with EIO, want at least one to fail", ok.Load(), bad.Load())
	}
	if n := len(messages(t, mustOpen(t, s, a, "INBOX"))); n != int(ok.Load()) {
		t.Fatalf("%d messages after %d deliveries succeeded", n, ok.Load())
	}
	if ents, _ := os.ReadDir(newDir); len(ents) != int(ok.Load()) {
		t.Fatalf("%d files in new/ after %d deliveries succeeded", len(ents), ok.Load())
	}
	for range 3 { // later batches are not failed by it
		deliver(t, s, "after\r\n", a, "INBOX")
	}
}
