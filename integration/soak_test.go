package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/immp-mail/immp/immp/client"
)

// soakDuration is $IMMP_SOAK (a Go duration; "10m" for the full soak),
// 45 s by default so that the test fits CI.
func soakDuration(t *testing.T) time.Duration {
	v := os.Getenv("IMMP_SOAK")
	if v == "" {
		return 45 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("IMMP_SOAK=%q: want a Go duration such as 10m", v)
	}
	return d
}

// buildRace builds the binary with the race detector, next to TestMain's.
func buildRace(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(filepath.Dir(binary), "immp-race")
	start := time.Now()
	build := exec.Command("go", "build", "-race", "-o", bin, "github.com/immp-mail/immp/cmd/immp")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -race: %v\n%s", err, out)
	}
	t.Logf("built the -race binary in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// soakStats counts what the workers did and what went wrong.
type soakStats struct {
	mu     sync.Mutex
	ops    map[string]int
	errors map[string][]string
}

func (s *soakStats) op(name string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if len(s.errors[name]) < 5 {
			s.errors[name] = append(s.errors[name], err.Error())
		}
		s.ops[name+" failed"]++
		return
	}
	s.ops[name]++
}

// TestSoak runs mixed load for $IMMP_SOAK (default 45 s) against the server
// built with -race: SMTP deliveries into INBOX and subinboxes, IMAP
// FETCH/STORE/EXPUNGE and IDLE sessions (go-imap's client), IMMP subinbox
// and spam guard changes (immp/client) and anonymous VERIFY queries, a few
// workers each, reconnecting now and then. It asserts no race report and
// no panic in the server's output, no failed operation, go_goroutines back
// near the baseline once the clients are gone, and RSS after warm-up not
// growing past a bound; it logs the RSS and goroutine series.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: not in -short")
	}
	dur := soakDuration(t)
	bin := buildRace(t)
	s := startServer(t, serverOptions{binary: bin})
	users := []string{"soak1@example.org", "soak2@example.org", "soak3@example.org"}
	for _, u := range users {
		s.addUser(t, u, "pw-"+u)
	}
	ctx := context.Background()
	for _, u := range users {
		ic, err := client.Dial(ctx, s.addrs["immp"], client.Options{User: u, Password: "pw-" + u})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"work", "office/work", "lists"} {
			if err := ic.Create(ctx, name); err != nil {
				t.Fatal(err)
			}
		}
		ic.Close()
	}
	// Let the setup's connections and the server settle, then take the
	// baseline.
	time.Sleep(time.Second)
	baseGoroutines := s.metricInt(t, "go_goroutines")
	baseRSS := s.rssKB(t)

	stats := &soakStats{ops: map[string]int{}, errors: map[string][]string{}}
	stop := make(chan struct{})
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	pause := func(d time.Duration) bool {
		select {
		case <-stop:
			return false
		case <-time.After(d):
			return true
		}
	}
	var wg sync.WaitGroup
	worker := func(f func(w int), n int) {
		for w := range n {
			wg.Add(1)
			go func() { defer wg.Done(); f(w) }()
		}
	}
	var delivered atomic.Int64

	// SMTP: deliveries to every user, into INBOX, existing subinboxes,
	// the subinboxes the IMMP worker churns, and missing ones (INBOX).
	worker(func(w int) {
		targets := []string{"", "work/", "office/work/", "lists/", "churn0/", "nothere/"}
		for i := 0; !stopped(); i++ {
			target := targets[rand.IntN(len(targets))]
			rcpt := target + users[rand.IntN(len(users))]
			err := sendOne(s.addrs["smtp"], rcpt, fmt.Sprintf("soak-w%d-%d", w, i))
			stats.op("smtp deliver", err)
			if err == nil {
				delivered.Add(1)
			}
			pause(10 * time.Millisecond)
		}
	}, 2)

	// IMAP: one session per user 1 and 2, FETCH, STORE, EXPUNGE, and a
	// fresh connection every 50 rounds.
	worker(func(w int) {
		user := users[w]
		for !stopped() {
			c, err := imapclient.DialInsecure(s.addrs["imap"], nil)
			if err != nil {
				stats.op("imap dial", err)
				pause(100 * time.Millisecond)
				continue
			}
			err = c.Login(user, "pw-"+user).Wait()
			stats.op("imap login", err)
			for round := 0; err == nil && round < 50 && !stopped(); round++ {
				folder := []string{"INBOX", "INBOX/work", "INBOX/work/office"}[round%3]
				var sel *imap.SelectData
				if sel, err = c.Select(folder, nil).Wait(); err != nil {
					stats.op("imap select", err)
					break
				}
				if sel.NumMessages > 0 {
					var all imap.SeqSet
					all.AddRange(max(1, sel.NumMessages-20), 0)
					var msgs []*imapclient.FetchMessageBuffer
					msgs, err = c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, Envelope: true, RFC822Size: true}).Collect()
					stats.op("imap fetch", err)
					if err != nil {
						break
					}
					if len(msgs) > 0 {
						m := msgs[rand.IntN(len(msgs))]
						flag := imap.FlagSeen
						if rand.IntN(3) == 0 {
							flag = imap.FlagDeleted
						}
						err = c.Store(imap.UIDSetNum(m.UID), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{flag}, Silent: true}, nil).Close()
						stats.op("imap store", err)
						if err != nil {
							break
						}
					}
					if round%5 == 4 {
						err = c.Expunge().Close()
						stats.op("imap expunge", err)
					}
				}
				pause(20 * time.Millisecond)
			}
			c.Logout().Wait()
			c.Close()
		}
	}, 2)

	// IMAP IDLE: sessions on user 1's INBOX that idle a little while
	// deliveries and expunges happen, then leave.
	worker(func(w int) {
		user := users[0]
		for !stopped() {
			var exists atomic.Int64
			c, err := imapclient.DialInsecure(s.addrs["imap"], &imapclient.Options{
				UnilateralDataHandler: &imapclient.UnilateralDataHandler{
					Mailbox: func(d *imapclient.UnilateralDataMailbox) {
						if d.NumMessages != nil {
							exists.Add(1)
						}
					},
				},
			})
			if err != nil {
				stats.op("imap dial", err)
				pause(100 * time.Millisecond)
				continue
			}
			err = c.Login(user, "pw-"+user).Wait()
			if err == nil {
				_, err = c.Select("INBOX", nil).Wait()
			}
			for i := 0; err == nil && i < 5 && !stopped(); i++ {
				var idle *imapclient.IdleCommand
				if idle, err = c.Idle(); err != nil {
					break
				}
				pause(time.Duration(500+rand.IntN(1500)) * time.Millisecond)
				if err = idle.Close(); err == nil {
					err = idle.Wait()
				}
				stats.op("imap idle", err)
			}
			if err != nil {
				stats.op("imap idle session", err)
			}
			stats.mu.Lock()
			stats.ops["imap idle EXISTS seen"] += int(exists.Load())
			stats.mu.Unlock()
			c.Logout().Wait()
			c.Close()
		}
	}, 1)

	// IMMP: user 3 churns subinboxes (create, rename, delete) and spam
	// guard agents and entries; a new connection every 20 rounds.
	worker(func(w int) {
		user := users[2]
		for !stopped() {
			ic, err := client.Dial(ctx, s.addrs["immp"], client.Options{User: user, Password: "pw-" + user})
			stats.op("immp login", err)
			if err != nil {
				pause(100 * time.Millisecond)
				continue
			}
			for round := 0; round < 20 && !stopped(); round++ {
				steps := []struct {
					name string
					f    func() error
				}{
					{"immp create", func() error { return ic.Create(ctx, "churn0") }},
					{"immp create child", func() error { return ic.Create(ctx, "deep/churn0") }},
					{"immp list", func() error { _, err := ic.List(ctx, "", "*"); return err }},
					{"immp rename", func() error { return ic.Rename(ctx, "churn0", "churn1") }},
					{"immp delete child", func() error { return ic.Delete(ctx, "deep/churn1") }},
					{"immp delete", func() error { return ic.Delete(ctx, "churn1") }},
					{"immp store agent", func() error { return ic.StoreSpamGuardAgent(ctx, "soak-agent") }},
					{"immp store entry", func() error { return ic.StoreSpamEntry(ctx, "soak-agent", "*@spam.example") }},
					{"immp search entries", func() error { _, err := ic.SearchSpamEntry(ctx, "soak-agent"); return err }},
					{"immp delete entry", func() error { return ic.DeleteSpamEntry(ctx, "soak-agent", "*@spam.example") }},
					{"immp delete agent", func() error { return ic.DeleteSpamGuardAgent(ctx, "soak-agent") }},
				}
				for _, st := range steps {
					if err := st.f(); err != nil {
						stats.op(st.name, err)
						break
					}
					stats.op(st.name, nil)
				}
				pause(20 * time.Millisecond)
			}
			ic.Logout(ctx)
			ic.Close()
		}
	}, 1)

	// VERIFY: anonymous queries from loopback (a trusted network), as an
	// MX in front would ask them.
	worker(func(w int) {
		for !stopped() {
			ic, err := client.Dial(ctx, s.addrs["immp"], client.Options{})
			stats.op("verify dial", err)
			if err != nil {
				pause(100 * time.Millisecond)
				continue
			}
			for i := 0; i < 100 && !stopped(); i++ {
				u := users[rand.IntN(len(users))]
				err := ic.VerifySubinbox(ctx, "work", u)
				stats.op("verify subinbox", err)
				err = ic.VerifyInSpamGuardAgent(ctx, "someone@remote.test", u)
				stats.op("verify guard", err)
				err = ic.VerifySubinbox(ctx, "nothere", u)
				if !client.HasCode(err, "NONEXISTENT") {
					stats.op("verify missing subinbox", fmt.Errorf("got %v, want NO [NONEXISTENT]", err))
				}
				pause(10 * time.Millisecond)
			}
			ic.Close()
		}
	}, 1)

	// Sample RSS and goroutines while the load runs.
	interval := max(dur/15, 3*time.Second)
	type sample struct {
		at         time.Duration
		rssKB      int
		heapMB     int // go_memstats_heap_inuse_bytes: less noisy than RSS
		goroutines int
	}
	var samples []sample
	start := time.Now()
	for time.Since(start) < dur {
		time.Sleep(min(interval, dur-time.Since(start)))
		samples = append(samples, sample{time.Since(start), s.rssKB(t), s.metricInt(t, "go_memstats_heap_inuse_bytes") >> 20, s.metricInt(t, "go_goroutines")})
	}
	close(stop)
	wg.Wait()

	var series []string
	for _, x := range samples {
		series = append(series, fmt.Sprintf("%v: RSS %d MB, heap %d MB, %d goroutines", x.at.Round(time.Second), x.rssKB/1024, x.heapMB, x.goroutines))
	}
	t.Logf("soak %v: baseline %d MB, %d goroutines; series: %s", dur, baseRSS/1024, baseGoroutines, strings.Join(series, "; "))
	stats.mu.Lock()
	t.Logf("operations: %v (%d messages delivered)", stats.ops, delivered.Load())
	for name, errs := range stats.errors {
		t.Errorf("%s failed %d times; first: %q", name, stats.ops[name+" failed"], errs)
	}
	stats.mu.Unlock()
	if t.Failed() {
		var warn []string
		for _, l := range strings.Split(s.logs(), "\n") {
			if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
				warn = append(warn, l)
			}
		}
		t.Logf("server warnings and errors (%d):\n%s", len(warn), strings.Join(warn[:min(len(warn), 30)], "\n"))
	}
	if delivered.Load() == 0 {
		t.Error("no message was delivered during the soak")
	}

	// RSS after warm-up (the first third) stays within a bound: the
	// largest sample of the last third at most 1.5 times the largest of
	// the middle third plus 32 MB (the race detector's shadow memory and
	// the GC's pacing make it noisy; a leak grows without end).
	if n := len(samples); n >= 3 {
		peak := func(xs []sample) int {
			m := 0
			for _, x := range xs {
				m = max(m, x.rssKB)
			}
			return m
		}
		mid, last := peak(samples[n/3:2*n/3]), peak(samples[2*n/3:])
		t.Logf("RSS peak after warm-up %d MB, in the last third %d MB", mid/1024, last/1024)
		if last > mid*3/2+32*1024 {
			t.Errorf("RSS grew from %d MB to %d MB after warm-up", mid/1024, last/1024)
		}
	}

	// Every client is gone: the goroutines go back to near the baseline.
	slack := 15
	after := s.waitMetric(t, "go_goroutines", 10*time.Second, func(v int) bool { return v <= baseGoroutines+slack })
	t.Logf("goroutines after the clients left: %d (baseline %d)", after, baseGoroutines)
	if after > baseGoroutines+slack {
		t.Errorf("goroutines after the soak: %d, baseline %d: leak", after, baseGoroutines)
	}
	for _, p := range []string{"smtp", "imap", "immp"} {
		if n := s.metricInt(t, `immp_connections_open{protocol="`+p+`"}`); n != 0 {
			t.Errorf("immp_connections_open{protocol=%q} = %d after the clients left", p, n)
		}
	}

	// The server stops cleanly (the harness checks the exit status: the
	// race detector exits 66 after a report), and said nothing alarming.
	s.stop()
	logs := s.logs()
	for _, bad := range []string{"DATA RACE", "panic", "fatal error"} {
		if i := strings.Index(logs, bad); i >= 0 {
			t.Errorf("server output has %q:\n%s", bad, logs[max(0, i-2000):min(len(logs), i+4000)])
		}
	}
}
