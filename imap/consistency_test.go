package imap

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/immp-mail/immp/maildir"
)

// Read-your-writes (maildir/doc.go, imap/doc.go): once a delivery is
// acknowledged (Delivery.Commit returned, so SMTP answered 250), every
// command that starts afterwards, on any session, sees it: SELECT,
// EXAMINE, STATUS, LIST-STATUS report it, and NOOP, FETCH and SEARCH on a
// session that has the folder selected announce it (EXISTS) before their
// tagged OK. A STORE answered OK is seen by a FETCH on another session.
// Several deliverers run at once, with fsyncs on (the list's fsync
// lingers after the acknowledgement), and every check counts a miss.
func TestReadYourWrites(t *testing.T) {
	t.Parallel()
	rounds := 700
	if testing.Short() {
		rounds = 60
	}
	e := newEnv(t, envOptions{})
	acct := e.account("alice@example.org")
	var acked atomic.Int64 // acknowledged deliveries so far
	var checks, misses atomic.Int64
	miss := func(format string, args ...any) {
		misses.Add(1)
		if misses.Load() <= 5 {
			t.Errorf(format, args...)
		}
	}

	const workers = 3
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sel := e.client("alice@example.org", nil)     // SELECT / EXAMINE each round
			status := e.client("alice@example.org", nil)  // STATUS, LIST-STATUS
			watcher := e.client("alice@example.org", nil) // INBOX selected throughout
			flagger := e.client("alice@example.org", nil) // STOREs, seen by watcher
			if _, err := watcher.Select("INBOX", nil).Wait(); err != nil {
				t.Error(err)
				return
			}
			if _, err := flagger.Select("INBOX", nil).Wait(); err != nil {
				t.Error(err)
				return
			}
			for i := range rounds {
				uid := e.deliver(acct, "INBOX", fmt.Sprintf("w%d r%d", w, i))
				want := uint32(acked.Add(1))
				known := func(c *imapclient.Client) uint32 { return c.Mailbox().NumMessages }

				switch i % 6 {
				case 0, 1: // SELECT, EXAMINE
					d, err := sel.Select("INBOX", &imap.SelectOptions{ReadOnly: i%6 == 1}).Wait()
					checks.Add(1)
					if err != nil || d.NumMessages < want || uint32(d.UIDNext) <= uid {
						miss("SELECT after ack %d (UID %d): %+v, %v", want, uid, d, err)
					}
				case 2: // STATUS and LIST-STATUS
					d, err := status.Status("INBOX", &imap.StatusOptions{NumMessages: true, UIDNext: true}).Wait()
					checks.Add(1)
					if err != nil || *d.NumMessages < want || uint32(d.UIDNext) <= uid {
						miss("STATUS after ack %d (UID %d): %+v, %v", want, uid, d, err)
					}
					ls, err := status.List("", "INBOX", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true}}).Collect()
					checks.Add(1)
					if err != nil || len(ls) != 1 || ls[0].Status == nil || *ls[0].Status.NumMessages < want {
						miss("LIST-STATUS after ack %d: %+v, %v", want, ls, err)
					}
				case 3: // NOOP
					err := watcher.Noop().Wait()
					checks.Add(1)
					if err != nil || known(watcher) < want {
						miss("NOOP after ack %d: knows %d, %v", want, known(watcher), err)
					}
				case 4: // FETCH, then the new message by UID
					_, err := watcher.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{UID: true}).Collect()
					checks.Add(1)
					if err != nil || known(watcher) < want {
						miss("FETCH after ack %d: knows %d, %v", want, known(watcher), err)
					}
					ms, err := watcher.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{UID: true}).Collect()
					checks.Add(1)
					if err != nil || len(ms) != 1 || uint32(ms[0].UID) != uid {
						miss("UID FETCH %d after EXISTS: %+v, %v", uid, ms, err)
					}
				case 5: // SEARCH; a STORE on one session, FETCH FLAGS on another
					_, err := watcher.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
					checks.Add(1)
					if err != nil || known(watcher) < want {
						miss("SEARCH after ack %d: knows %d, %v", want, known(watcher), err)
					}
					flagger.Noop().Wait()
					if err := flagger.Store(imap.UIDSetNum(imap.UID(uid)), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
						t.Error(err)
						continue
					}
					ms, err := watcher.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{Flags: true}).Collect()
					checks.Add(1)
					if err != nil || len(ms) != 1 || !slices.Contains(ms[0].Flags, imap.FlagFlagged) {
						miss("FETCH FLAGS after STORE OK on another session: %+v, %v", ms, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d checks after %d acknowledged deliveries, %d misses", checks.Load(), acked.Load(), misses.Load())
	if misses.Load() != 0 {
		t.Fatalf("%d of %d reads missed an acknowledged change", misses.Load(), checks.Load())
	}
}

// Deleting an account ends its IMAP sessions with BYE, whether the
// deletion is made in this process or by another one on the same data
// directory (the CLI while the server runs); an account added again
// under the same address starts empty and sees its new mail at once.
func TestAccountDeletionEndsSessions(t *testing.T) {
	t.Parallel()
	for _, other := range []bool{false, true} {
		t.Run(fmt.Sprintf("other_process=%v", other), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{noSync: true})
			acct := e.account("alice@example.org")
			e.deliver(acct, "INBOX", "old mail")
			c := e.client("alice@example.org", nil)
			if _, err := c.Select("INBOX", nil).Wait(); err != nil {
				t.Fatal(err)
			}
			admin := e.store
			if other {
				var err error
				admin, err = maildir.Open(context.Background(), maildir.Options{DataDir: e.dir, NoSync: true})
				if err != nil {
					t.Fatal(err)
				}
				defer admin.Close()
			}
			ctx := context.Background()
			if err := admin.DeleteAccount(ctx, "alice@example.org"); err != nil {
				t.Fatal(err)
			}
			select {
			case <-c.Closed():
			case <-time.After(10 * time.Second):
				t.Fatal("session of the deleted account still open")
			}
			again, err := admin.AddAccount(ctx, "alice@example.org", testPassword)
			if err != nil {
				t.Fatal(err)
			}
			if again.ID == acct.ID {
				t.Fatalf("account ID %d reused", again.ID)
			}
			// The server's store delivers to the account it finds now.
			now, err := e.store.Account(ctx, "alice@example.org")
			if err != nil || now.ID != again.ID {
				t.Fatalf("server sees account %+v, %v; want ID %d", now, err, again.ID)
			}
			e.deliver(now, "INBOX", "new mail")
			c2 := e.client("alice@example.org", nil)
			d, err := c2.Select("INBOX", nil).Wait()
			if err != nil || d.NumMessages != 1 {
				t.Fatalf("SELECT of the re-added account = %+v, %v; want only the new message", d, err)
			}
			ms, err := c2.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true}).Collect()
			if err != nil || len(ms) != 1 || ms[0].Envelope.Subject != "new mail" {
				t.Fatalf("FETCH = %+v, %v", ms, err)
			}
		})
	}
}
