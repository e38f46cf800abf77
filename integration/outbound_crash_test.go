package integration

import (
	"fmt"
	"io"
	"net"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// slowMX is a receiving server that takes a while over each message and
// counts arrivals by X-Test-Id.
type slowMX struct {
	delay time.Duration
	mu    sync.Mutex
	seen  map[string]int
}

type slowSession struct{ m *slowMX }

var testIDHeader = regexp.MustCompile(`(?m)^X-Test-Id: (\S+)\r?$`)

func (s slowSession) Reset()                               {}
func (s slowSession) Logout() error                        { return nil }
func (s slowSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s slowSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s slowSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	time.Sleep(s.m.delay)
	if m := testIDHeader.FindSubmatch(b); m != nil {
		s.m.mu.Lock()
		s.m.seen[string(m[1])]++
		s.m.mu.Unlock()
	}
	return nil
}

func (m *slowMX) count() (unique, dups int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range m.seen {
		unique++
		dups += n - 1
	}
	return
}

// TestOutboundCrash kills immp with SIGKILL while its queue holds
// hundreds of messages for a slow MX and clients are still submitting,
// restarts it, and checks that every message answered 250 arrives at the
// MX; duplicates (allowed after a crash) are counted and reported.
func TestOutboundCrash(t *testing.T) {
	mx := &slowMX{delay: 25 * time.Millisecond, seen: map[string]int{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return slowSession{mx}, nil }))
	srv.Domain = "mx.slow.example"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	dns := startDnsmasqLocal(t, []string{"slow.example"}, "--mx-host=slow.example,mx.slow.example,10", "--host-record=mx.slow.example,127.0.0.1")
	s := startServer(t, serverOptions{
		extra:  outboundTOML(dns, portOf(ln.Addr().String())) + "max_conns_per_domain = 2\n",
		tables: map[string]string{"smtp": "trusted_networks = [\"127.0.0.0/8\"]\n"},
	})

	var (
		mu    sync.Mutex
		acked = map[string]bool{}
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
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
				if err := sendOne(s.addrs["smtp"], "rcpt@slow.example", id); err != nil {
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
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 400 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d messages accepted in 60s; log:\n%s", n, s.logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.kill() // clients still submitting
	close(stop)
	wg.Wait()
	mu.Lock()
	total := len(acked)
	mu.Unlock()
	arrived, _ := mx.count()
	t.Logf("killed with %d acknowledged, %d arrived at the MX (%d queued)", total, arrived, total-arrived)
	if total-arrived < 100 {
		t.Errorf("the queue held only %d messages at the kill; the test wants hundreds", total-arrived)
	}
	s.restart()

	deadline = time.Now().Add(3 * time.Minute)
	for {
		mx.mu.Lock()
		missing := 0
		for id := range acked {
			if mx.seen[id] == 0 {
				missing++
			}
		}
		mx.mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged messages never arrived; log:\n%s", missing, total, s.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	unique, dups := mx.count()
	t.Logf("after restart: all %d acknowledged messages arrived (%d distinct at the MX, %d duplicates)", total, unique, dups)
	out, _, _ := s.immp(t, "", nil, "queue", "list", "-config", s.config)
	for time.Now().Before(deadline) && out != "queue is empty\n" {
		time.Sleep(200 * time.Millisecond)
		out, _, _ = s.immp(t, "", nil, "queue", "list", "-config", s.config)
	}
	if out != "queue is empty\n" {
		t.Errorf("queue not empty after every delivery:\n%s", out)
	}
}
