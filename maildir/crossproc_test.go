package maildir

import (
	"context"
	"fmt"
	"strings"
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
