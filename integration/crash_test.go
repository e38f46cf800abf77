package integration

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// TestCrashUnderLoad kills the server with SIGKILL while 32 SMTP clients
// deliver, restarts it, and checks that every message that was answered 250
// is there exactly once, intact, and that no UID handed out over IMAP before
// the crash names another message after it. IMMP_LONG=1 runs 20 rounds.
func TestCrashUnderLoad(t *testing.T) {
	rounds := 3
	if os.Getenv("IMMP_LONG") != "" {
		rounds = 20
	}
	s := startServer(t, serverOptions{})
	s.addUser(t, "crash@example.org", "pw-crash")
	if out, errOut, code := s.immp(t, "", []string{"IMMP_PASSWORD=pw-crash"}, "subinbox", "create",
		"-immp", s.addrs["immp"], "-imap", s.addrs["imap"], "-user", "crash@example.org", "load"); code != 0 {
		t.Fatalf("subinbox create: exit %d\n%s%s", code, out, errOut)
	}

	var (
		mu      sync.Mutex
		acked   = map[string]bool{}
		sent    int
		uidSeen = map[imap.UID]string{}
	)
	for round := 0; round < rounds; round++ {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 32; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for m := 0; ; m++ {
					select {
					case <-stop:
						return
					default:
					}
					id := fmt.Sprintf("r%d-w%d-m%d", round, w, m)
					mu.Lock()
					sent++
					mu.Unlock()
					if err := sendOne(s.addrs["smtp"], "load/crash@example.org", id); err != nil {
						// The server is gone: this message's fate is unknown.
						select {
						case <-stop:
							return
						default:
							time.Sleep(20 * time.Millisecond)
							continue
						}
					}
					mu.Lock()
					acked[id] = true
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(300+rand.IntN(1200)) * time.Millisecond)
		s.kill()
		close(stop)
		wg.Wait()
		s.restart()

		found := fetchIDs(t, s.addrs["imap"], "crash@example.org", "pw-crash", "INBOX/load")
		count := map[string]int{}
		for uid, id := range found {
			count[id]++
			if prev, ok := uidSeen[uid]; ok && prev != id {
				t.Fatalf("round %d: UID %d was %s before the crash and is %s after", round, uid, prev, id)
			}
			uidSeen[uid] = id
		}
		for uid := range uidSeen {
			if _, ok := found[uid]; !ok {
				t.Fatalf("round %d: UID %d (%s) vanished", round, uid, uidSeen[uid])
			}
		}
		mu.Lock()
		lost, dups, unackedKept := 0, 0, 0
		for id := range acked {
			if count[id] == 0 {
				lost++
			}
		}
		for id, n := range count {
			if n > 1 {
				dups++
			}
			if !acked[id] {
				unackedKept++
			}
		}
		t.Logf("round %d: sent %d, acknowledged %d, found %d, lost %d, duplicated %d, unacknowledged but kept %d",
			round, sent, len(acked), len(found), lost, dups, unackedKept)
		mu.Unlock()
		if lost > 0 || dups > 0 {
			t.Fatalf("round %d: %d acknowledged messages lost, %d duplicated", round, lost, dups)
		}
	}
}

var idPattern = regexp.MustCompile(`X-Test-Id: (\S+)`)

// messageBody is what sendOne sends for id; fetchIDs checks each message
// it finds against it, so a torn file is caught.
func messageBody(id string) string {
	return strings.Repeat("line of filler text for "+id+"\r\n", 100) + "END " + id + "\r\n"
}

func sendOne(addr, rcpt, id string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("load.test"); err != nil {
		return err
	}
	if err := c.Mail("load@remote.test", nil); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "From: load@remote.test\r\nTo: %s\r\nSubject: load %s\r\nX-Test-Id: %s\r\n\r\n%s", rcpt, id, id, messageBody(id))
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// fetchIDs returns UID -> X-Test-Id of every message in folder, failing the
// test on a message whose body is not exactly what was sent.
func fetchIDs(t *testing.T, addr, user, password, folder string) map[imap.UID]string {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	out := map[imap.UID]string{}
	if sel.NumMessages == 0 {
		return out
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		raw := m.FindBodySection(section)
		match := idPattern.FindSubmatch(raw)
		if match == nil {
			t.Fatalf("UID %d has no X-Test-Id:\n%.300s", m.UID, raw)
		}
		id := string(match[1])
		if !bytes.HasSuffix(raw, []byte(messageBody(id))) {
			t.Fatalf("UID %d (%s) is torn or altered: %d bytes", m.UID, id, len(raw))
		}
		out[m.UID] = id
	}
	return out
}
