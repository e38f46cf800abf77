package maildir

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Messages appended by another process (the CLI importing while the
// server runs) reach a session of the server in UID order, every one:
// a session drops a new message whose UID is below one it was told of.
func TestOtherProcessAppendsReachSessions(t *testing.T) {
	ctx := context.Background()
	server := openStore(t, Options{})
	a := newAccount(t, server, "alice@example.org")
	cli := openStore(t, Options{DataDir: server.DataDir()})
	for round := 0; round < 10; round++ {
		name := fmt.Sprint("F", round)
		if err := server.CreateFolder(ctx, a, name); err != nil {
			t.Fatal(err)
		}
		sf := mustOpen(t, server, a, name)
		if _, err := sf.Append(ctx, strings.NewReader("Subject: first\r\n\r\nx\r\n"), nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
		w, _, err := sf.Watch(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		cf := mustOpen(t, cli, a, name)
		for i := 0; i < 3; i++ {
			if _, err := cf.Append(ctx, strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)), nil, time.Now().Add(-24*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		var uids []uint32
		for _, ev := range w.Changes() {
			if ev.Kind == EventNew {
				uids = append(uids, ev.UID)
			}
		}
		if fmt.Sprint(uids) != "[2 3 4]" {
			t.Fatalf("round %d: the session was told of new UIDs %v, want [2 3 4]", round, uids)
		}
		w.Close()
	}
}

// The same under load: deliveries in this process and appends by another
// process race refreshes; every new message must reach the session, in
// UID order (a refresh that waited for the commit lock while a batch
// started must not announce a message numbered after that batch first).
func TestOtherProcessAppendsRacingBatches(t *testing.T) {
	ctx := context.Background()
	server := openStore(t, Options{NoSync: true})
	a := newAccount(t, server, "alice@example.org")
	cli := openStore(t, Options{DataDir: server.DataDir(), NoSync: true})
	sf := mustOpen(t, server, a, "INBOX")
	w, _ := mustWatch(t, sf)
	const each = 200
	done := make(chan struct{}, 3)
	go func() {
		for i := 0; i < each; i++ {
			deliver(t, server, fmt.Sprintf("Subject: s%d\r\n\r\nx\r\n", i), a, "INBOX")
		}
		done <- struct{}{}
	}()
	go func() {
		cf := mustOpen(t, cli, a, "INBOX")
		for i := 0; i < each; i++ {
			if _, err := cf.Append(ctx, strings.NewReader(fmt.Sprintf("Subject: c%d\r\n\r\nx\r\n", i)), nil, time.Time{}); err != nil {
				t.Error(err)
				break
			}
		}
		done <- struct{}{}
	}()
	var told []uint32
	var disorder string
	collect := func() {
		for _, ev := range w.Changes() {
			if ev.Kind == EventNew {
				if n := len(told); n > 0 && ev.UID <= told[n-1] && disorder == "" {
					disorder = fmt.Sprintf("EventNew UID %d after %d", ev.UID, told[n-1])
				}
				told = append(told, ev.UID)
			}
		}
	}
	for finished := 0; finished < 2; {
		select {
		case <-done:
			finished++
		default:
		}
		w.Sync(ctx)
		collect()
		time.Sleep(time.Millisecond) // a session's pace, not a spin
	}
	w.Sync(ctx)
	collect()
	if disorder != "" {
		t.Fatal(disorder)
	}
	if len(told) != 2*each {
		t.Fatalf("the session was told of %d new messages, want %d", len(told), 2*each)
	}
}

// TestBatchStartingBeforeScan: a delivery whose batch starts after a
// refresh's settle but before its scan (so it holds a UID in the list,
// unpublished) while another program lists a message after it: the
// session hears of them in UID order. Red without the settle under
// the commit lock in refresh (the scan announced the other program's
// message first).
func TestBatchStartingBeforeScan(t *testing.T) {
	ctx := context.Background()
	server := openStore(t, Options{})
	server.listLinger = time.Hour // published when a reader asks, not before
	a := newAccount(t, server, "alice@example.org")
	cli := openStore(t, Options{DataDir: server.DataDir(), NoSync: true})
	sf := mustOpen(t, server, a, "INBOX")
	w, _ := mustWatch(t, sf)
	cf := mustOpen(t, cli, a, "INBOX")
	// A change on disk, so that the next refresh scans (UID 1).
	if _, err := cf.Append(ctx, strings.NewReader("Subject: first\r\n\r\nx\r\n"), nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	server.beforeScanLock = func() {
		once.Do(func() {
			deliver(t, server, "Subject: here\r\n\r\nx\r\n", a, "INBOX") // durable, UID 2, not published
			if _, err := cf.Append(ctx, strings.NewReader("Subject: there\r\n\r\nx\r\n"), nil, time.Time{}); err != nil {
				t.Error(err) // UID 3, by the other program
			}
		})
	}
	var told []uint32
	for i := 0; i < 3 && len(told) < 3; i++ {
		if err := w.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		for _, ev := range w.Changes() {
			if ev.Kind == EventNew {
				told = append(told, ev.UID)
			}
		}
	}
	if fmt.Sprint(told) != "[1 2 3]" {
		t.Fatalf("the session was told of new UIDs %v, want [1 2 3]", told)
	}
}
