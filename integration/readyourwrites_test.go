package integration

import (
	"fmt"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// The report that started the one-folder-state work: a client logs in,
// messages are delivered over SMTP (each answered 250), then the client
// selects INBOX and must see every one of them; a second client that has
// INBOX selected must hear of every one at its next NOOP. Against the
// built binary, with fsyncs on, several senders at once, 20 rounds.
func TestReadYourWritesOverSMTP(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	s.addUser(t, "alice@example.org", "secret")
	login := func() *imapclient.Client {
		c, err := imapclient.DialInsecure(s.addrs["imap"], nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Login("alice@example.org", "secret").Wait(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	reader, watcher := login(), login()
	if _, err := watcher.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	const rounds, perRound, senders = 20, 6, 3
	misses := 0
	for r := range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, perRound)
		for i := range perRound {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- sendOne(s.addrs["smtp"], "alice@example.org", fmt.Sprintf("r%d-%d", r, i))
			}()
			if (i+1)%senders == 0 {
				wg.Wait()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("SMTP: %v", err)
			}
		}
		want := uint32((r + 1) * perRound)
		d, err := reader.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if d.NumMessages != want {
			misses++
			t.Errorf("round %d: SELECT after %d acknowledged deliveries shows %d", r, want, d.NumMessages)
		}
		if err := watcher.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
		if n := watcher.Mailbox().NumMessages; n != want {
			misses++
			t.Errorf("round %d: NOOP after %d acknowledged deliveries knows %d", r, want, n)
		}
	}
	t.Logf("%d rounds of %d deliveries: %d misses", rounds, perRound, misses)
}
