package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/immp-mail/immp/immp/client"
)

// procStatusKB reads one "Key:   123 kB" field of /proc/<pid>/status.
func procStatusKB(t testing.TB, pid int, key string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatalf("%s in /proc/%d/status: %q", key, pid, line)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", key, pid)
	return 0
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) rssKB(t testing.TB) int { return procStatusKB(t, s.pid(), "VmRSS") }

// nofile returns the soft and hard RLIMIT_NOFILE of process pid as
// /proc/<pid>/limits shows them.
func nofile(t testing.TB, pid int) (soft, hard string) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Max open files") {
			f := strings.Fields(line)
			return f[3], f[4]
		}
	}
	t.Fatalf("no open files limit in /proc/%d/limits", pid)
	return "", ""
}

// metricInt reads an integer-valued sample, 0 when absent.
func (s *server) metricInt(t testing.TB, sample string) int {
	t.Helper()
	v := s.metric(t, sample)
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("%s = %q", sample, v)
	}
	return int(f)
}

// waitMetric polls until cond holds for the sample's value or d passes, and
// returns the last value.
func (s *server) waitMetric(t testing.TB, sample string, d time.Duration, cond func(int) bool) int {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		v := s.metricInt(t, sample)
		if cond(v) || time.Now().After(deadline) {
			return v
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dialFrom connects to addr from the loopback address src (any 127.x.y.z
// works as a source on Linux), so many clients can look like many hosts.
func dialFrom(src, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	return d.Dial("tcp", addr)
}

// greeted dials and reads the first line the server sends.
func greeted(src, addr string) (net.Conn, string, error) {
	c, err := dialFrom(src, addr)
	if err != nil {
		return nil, "", err
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return nil, line, err
	}
	return c, line, nil
}

// TestAbuseIdleConnections holds 2,000 idle connections spread over SMTP,
// IMAP and IMMP and 100 source addresses, reports what each costs the
// server in resident memory, checks that the server raised its own
// open-files limit, that each protocol's per-address limit holds, that a
// well-behaved client is served meanwhile, and that every connection's
// goroutines are gone once the clients hang up. Not parallel: it lowers
// the test process's soft open-files limit for a moment.
func TestAbuseIdleConnections(t *testing.T) {
	const total = 2000
	const perIP = 10 // max_conns_per_ip of each protocol: about 7 clients per protocol and source address below

	// Start the server with a low soft limit to see that it raises its own
	// (Go's os package does so at start, since Go 1.19; real servers must).
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max < 2*total+200 {
		t.Skipf("hard open-files limit %d is below what %d connections need on both ends", lim.Max, total)
	}
	low := lim
	low.Cur = 1024
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, serverOptions{tables: map[string]string{
		"smtp": fmt.Sprintf("max_conns_per_ip = %d\n", perIP),
		"imap": fmt.Sprintf("max_conns_per_ip = %d\n", perIP),
		"immp": fmt.Sprintf("max_conns_per_ip = %d\n", perIP),
	}})
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	soft, hard := nofile(t, s.pid())
	t.Logf("server open-files limit: soft %s, hard %s (started with soft 1024)", soft, hard)
	// Go raises the soft limit to the hard one minus 1 (minus 1 so that it
	// can tell a later prlimit by someone else, syscall/rlimit.go).
	if sn, _ := strconv.ParseUint(soft, 10, 64); hard != "unlimited" && strconv.FormatUint(sn+1, 10) != hard && soft != hard {
		t.Errorf("server did not raise its soft open-files limit to the hard one: soft %s, hard %s", soft, hard)
	}
	s.addUser(t, "idle@example.org", "pw-idle")

	baseGoroutines := s.metricInt(t, "go_goroutines")
	baseRSS := s.rssKB(t)

	protos := []struct{ name, addr, greeting string }{
		{"smtp", s.addrs["smtp"], "220 "},
		{"imap", s.addrs["imap"], "* OK"},
		{"immp", s.addrs["immp"], "* OK"},
	}
	conns := make([]net.Conn, total)
	var failed atomic.Int32
	var firstErr atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range total {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p := protos[i%3]
			src := fmt.Sprintf("127.0.0.%d", 2+(i/3)%100)
			c, line, err := greeted(src, p.addr)
			if err == nil && !strings.HasPrefix(line, p.greeting) {
				err = fmt.Errorf("greeting %q", line)
				c.Close()
			}
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, fmt.Errorf("%s from %s: %w", p.name, src, err))
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d of %d connections failed; first: %v", n, total, firstErr.Load())
	}
	opened := time.Since(start)
	for k, p := range protos {
		want := (total - k + 2) / 3 // connections i with i%3 == k
		if got := s.waitMetric(t, `immp_connections_open{protocol="`+p.name+`"}`, 5*time.Second,
			func(v int) bool { return v == want }); got != want {
			t.Errorf("immp_connections_open{protocol=%q} = %d, want %d", p.name, got, want)
		}
	}
	time.Sleep(time.Second) // let the sessions settle into their idle reads
	rss := s.rssKB(t)
	goroutines := s.metricInt(t, "go_goroutines")
	perConn := float64(rss-baseRSS) / total
	t.Logf("%d idle connections (SMTP/IMAP/IMMP) opened in %v: RSS %d kB -> %d kB, %.1f kB per connection; goroutines %d -> %d (%.1f per connection)",
		total, opened.Round(time.Millisecond), baseRSS, rss, perConn, baseGoroutines, goroutines, float64(goroutines-baseGoroutines)/total)
	if perConn > 256 {
		t.Errorf("an idle connection costs %.1f kB of RSS; want at most 256 kB", perConn)
	}

	// A well-behaved client is served while the 2,000 wait.
	ic, err := client.Dial(context.Background(), s.addrs["immp"], client.Options{User: "idle@example.org", Password: "pw-idle"})
	if err != nil {
		t.Fatalf("IMMP login among %d idle connections: %v", total, err)
	}
	if err := ic.Create(context.Background(), "busy"); err != nil {
		t.Errorf("IMMP CREATE among idle connections: %v", err)
	}
	ic.Close()
	if err := sendOne(s.addrs["smtp"], "busy/idle@example.org", "among-idle"); err != nil {
		t.Errorf("SMTP delivery among idle connections: %v", err)
	}

	// Each protocol's per-address limit: a fresh address gets perIP
	// connections, then a refusal in the protocol's words (RFC 5321 3.8;
	// RFC 9051 7.1.5 BYE; profile 2 for IMMP).
	limits := []struct{ proto, from, ok, refused string }{
		{"smtp", "127.0.0.250", "220 ", "421 4.7.0"},
		{"imap", "127.0.0.251", "* OK", "* BYE [LIMIT]"},
		{"immp", "127.0.0.252", "* OK", "* BYE [LIMIT]"},
	}
	for _, l := range limits {
		var mine []net.Conn
		for i := range perIP + 1 {
			c, line, err := greeted(l.from, s.addrs[l.proto])
			if err != nil {
				t.Fatalf("%s connection %d from %s: %v (%q)", l.proto, i+1, l.from, err, line)
			}
			mine = append(mine, c)
			switch {
			case i < perIP && !strings.HasPrefix(line, l.ok):
				t.Errorf("%s connection %d of %d from one address: %q, want %q", l.proto, i+1, perIP, line, l.ok)
			case i == perIP && !strings.HasPrefix(line, l.refused):
				t.Errorf("%s connection %d from one address (limit %d): %q, want %q", l.proto, i+1, perIP, line, l.refused)
			}
		}
		for _, c := range mine {
			c.Close()
		}
	}

	// Hang up everything: the server's connections and goroutines go back.
	for i, c := range conns {
		c.Close()
		conns[i] = nil
	}
	for _, p := range protos {
		if got := s.waitMetric(t, `immp_connections_open{protocol="`+p.name+`"}`, 10*time.Second,
			func(v int) bool { return v == 0 }); got != 0 {
			t.Errorf("after the clients hung up, immp_connections_open{protocol=%q} = %d", p.name, got)
		}
	}
	after := s.waitMetric(t, "go_goroutines", 10*time.Second, func(v int) bool { return v <= baseGoroutines+20 })
	t.Logf("after hang-up: goroutines %d (baseline %d), RSS %d kB", after, baseGoroutines, s.rssKB(t))
	if after > baseGoroutines+20 {
		t.Errorf("goroutines after hang-up: %d, baseline %d: leak", after, baseGoroutines)
	}
}

// slowClient sends line one byte per second after reading the greeting and
// returns how long the server kept it and everything it said.
func slowClient(t *testing.T, addr, line string) (time.Duration, string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-time.After(time.Second):
			case <-done:
				return
			}
			if _, err := c.Write([]byte{line[i%len(line)]}); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(50 * time.Second))
	said, err := io.ReadAll(c)
	elapsed := time.Since(start)
	if isReset(err) {
		err = nil // closed while our next octet was on its way: cut off too
	}
	return elapsed, string(said), err
}

// TestAbuseSlowloris dribbles a command at one byte per second into each
// protocol: the read timeouts must cut every such client off. SMTP's is
// [smtp] read_timeout (set to 2s here), counted from the last reply: a
// command must be complete within it, however the bytes trickle in. IMAP
// (go-imap's fixed 30 s per command) and IMMP (30 s per command, separate
// from the 30-minute autologout between commands) have no config key.
func TestAbuseSlowloris(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{tables: map[string]string{"smtp": "read_timeout = \"2s\"\n"}})
	cases := []struct {
		proto, addr, line string
		limit             time.Duration
		want              string // in what the server says before hanging up
	}{
		{"smtp", s.addrs["smtp"], "EHLO slow.example.org\r\n", 2*time.Second + 3*time.Second, "421"},
		{"imap", s.addrs["imap"], "a1 LOGIN " + strings.Repeat("a", 100) + " b\r\n", 30*time.Second + 5*time.Second, ""},
		{"immp", s.addrs["immp"], "a1 LOGIN " + strings.Repeat("a", 100) + " b\r\n", 30*time.Second + 5*time.Second, "* BYE"},
	}
	for _, c := range cases {
		t.Run(c.proto, func(t *testing.T) {
			t.Parallel()
			// One command, so long that it is never complete before the
			// limit.
			line := c.line
			elapsed, said, err := slowClient(t, c.addr, line)
			if err != nil {
				t.Fatalf("%s: %v after %v; server said %q", c.proto, err, elapsed, said)
			}
			t.Logf("%s: one byte per second cut off after %v; server said %q", c.proto, elapsed.Round(100*time.Millisecond), said)
			if elapsed > c.limit {
				t.Errorf("%s: slow client kept for %v, want at most %v", c.proto, elapsed, c.limit)
			}
			if !strings.Contains(said, c.want) {
				t.Errorf("%s: server said %q, want %q before closing", c.proto, said, c.want)
			}
		})
	}
}

// immpConn is a raw IMMP connection for abuse: write anything, read lines.
type immpConn struct {
	net.Conn
	br *bufio.Reader
}

func dialIMMP(t *testing.T, addr string) *immpConn {
	t.Helper()
	c, line, err := greeted("", addr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(line, "* OK") {
		t.Fatalf("IMMP greeting %q", line)
	}
	return &immpConn{Conn: c, br: bufio.NewReaderSize(c, 64<<10)}
}

func (c *immpConn) line(t *testing.T) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	l, err := c.br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading IMMP reply: %v (after %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

// untilClosed reads every remaining line until the server hangs up.
func (c *immpConn) untilClosed(t *testing.T) []string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	var lines []string
	for {
		l, err := c.br.ReadString('\n')
		if l != "" {
			lines = append(lines, strings.TrimRight(l, "\r\n"))
		}
		if err != nil {
			if err != io.EOF && !isReset(err) {
				t.Fatalf("waiting for the server to hang up: %v (got %d lines)", err, len(lines))
			}
			return lines
		}
	}
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

// latencies runs NOOP round trips on a well-behaved IMMP client and an IMAP
// client until stop closes, and returns every round trip's duration.
func latencies(t *testing.T, s *server, stop <-chan struct{}) func() []time.Duration {
	var mu sync.Mutex
	var rtts []time.Duration
	var errs []error
	var wg sync.WaitGroup
	record := func(d time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
		}
		rtts = append(rtts, d)
	}
	ic, err := client.Dial(context.Background(), s.addrs["immp"], client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mc, err := imapclient.DialInsecure(s.addrs["imap"], nil)
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer ic.Close()
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			start := time.Now()
			err := ic.Noop(context.Background())
			record(time.Since(start), err)
		}
	}()
	go func() {
		defer wg.Done()
		defer mc.Close()
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			start := time.Now()
			err := mc.Noop().Wait()
			record(time.Since(start), err)
		}
	}()
	return func() []time.Duration {
		wg.Wait()
		for _, err := range errs {
			t.Errorf("well-behaved client's NOOP failed during the abuse: %v", err)
		}
		return rtts
	}
}

// TestAbuseIMMP throws what profile 1 bounds at the IMMP server (floods of
// bad lines, 4 GB literal announcements, deep nesting, 100,000 pipelined
// NOOPs) while a well-behaved IMMP client and an IMAP client time NOOP
// round trips: each abusive connection gets the BAD/BYE the profile says,
// and the others stay served.
func TestAbuseIMMP(t *testing.T) {
	t.Parallel()
	// All abusers come from 127.0.0.1; the per-address cap has its own
	// test (TestAbuseIdleConnections), here the abuse is inside sessions.
	s := startServer(t, serverOptions{tables: map[string]string{"immp": "max_conns_per_ip = -1\n"}})
	addr := s.addrs["immp"]
	stop := make(chan struct{})
	collect := latencies(t, s, stop)
	abuseStart := time.Now()

	// Each kind of abuse repeats until the abuse has lasted abuseFor, so
	// that the well-behaved clients' round trips sample all of it.
	const abuseFor = 5 * time.Second
	var wg sync.WaitGroup
	abuse := func(name string, f func(t *testing.T)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(name, func(t *testing.T) {
				for first := true; first || time.Since(abuseStart) < abuseFor; first = false {
					f(t)
					if t.Failed() {
						return
					}
				}
			})
		}()
	}

	// Bad lines: 20 BADs in a row, then "* BYE" and the connection ends.
	// 100 such clients, one after another, each sending 30 bad lines in
	// one write (under 4 KiB, so the server has read all of it when it
	// hangs up and closes with FIN, not RST, and its BYE arrives).
	abuse("bad lines", func(t *testing.T) {
		flood := strings.Repeat("a1 FROBNICATE x\r\n\x01\x02garbage(((\r\n", 15)
		for round := range 100 {
			c := dialIMMP(t, addr)
			if _, err := c.Write([]byte(flood)); err != nil {
				t.Fatal(err)
			}
			lines := c.untilClosed(t)
			c.Close()
			bads := 0
			for _, l := range lines {
				if strings.Contains(l, " BAD ") {
					bads++
				}
			}
			if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "* BYE") || bads != 20 {
				t.Fatalf("round %d: %d BADs then %q; want 20 BADs then * BYE", round, bads, lines[max(len(lines)-1, 0):])
			}
		}
	})

	// A 4 GB synchronizing literal: refused at once with BAD [LIMIT], no
	// continuation, and the connection goes on (RFC 9051 7.5).
	abuse("4 GB literal", func(t *testing.T) {
		c := dialIMMP(t, addr)
		defer c.Close()
		fmt.Fprintf(c, "a1 LOGIN {4294967296}\r\n")
		if l := c.line(t); !strings.HasPrefix(l, "a1 BAD [LIMIT]") {
			t.Fatalf("{4294967296}: %q, want a1 BAD [LIMIT]", l)
		}
		fmt.Fprintf(c, "a2 NOOP\r\n")
		if l := c.line(t); !strings.HasPrefix(l, "a2 OK") {
			t.Fatalf("NOOP after the refused literal: %q", l)
		}
		// Past the announcement of 64 KiB + 1 octet with LITERAL+: the
		// data follows and is discarded, and the session goes on.
		fmt.Fprintf(c, "a3 LOGIN {65537+}\r\n%s x\r\na4 NOOP\r\n", strings.Repeat("y", 65537))
		if l := c.line(t); !strings.HasPrefix(l, "a3 BAD [LIMIT]") {
			t.Fatalf("{65537+}: %q, want a3 BAD [LIMIT]", l)
		}
		if l := c.line(t); !strings.HasPrefix(l, "a4 OK") {
			t.Fatalf("NOOP after the discarded literal: %q", l)
		}
	})

	// A 4 GB non-synchronizing literal: the data would follow at once and
	// is too much to discard: BAD [LIMIT], * BYE, closed.
	abuse("4 GB literal+", func(t *testing.T) {
		c := dialIMMP(t, addr)
		defer c.Close()
		// The data is not sent: the announcement alone must end it.
		fmt.Fprintf(c, "a1 LOGIN {4294967296+}\r\n")
		lines := c.untilClosed(t)
		if len(lines) != 2 || !strings.Contains(lines[0], "BAD [LIMIT]") || !strings.HasPrefix(lines[1], "* BYE") {
			t.Fatalf("{4294967296+}: %q, want BAD [LIMIT] then * BYE", lines)
		}
	})

	// Nesting: deeper than the codec allows is BAD, past the line limit
	// BAD [LIMIT]; neither ends the session.
	abuse("nesting", func(t *testing.T) {
		c := dialIMMP(t, addr)
		defer c.Close()
		fmt.Fprintf(c, "a1 MOVE x %s%s\r\n", strings.Repeat("(", 4000), strings.Repeat(")", 4000))
		if l := c.line(t); !strings.HasPrefix(l, "a1 BAD") {
			t.Fatalf("4,000 nested lists: %q, want a1 BAD", l)
		}
		fmt.Fprintf(c, "a2 MOVE x %s%s\r\n", strings.Repeat("(", 100000), strings.Repeat(")", 100000))
		if l := c.line(t); !strings.HasPrefix(l, "a2 BAD [LIMIT]") {
			t.Fatalf("100,000 nested lists: %q, want a2 BAD [LIMIT]", l)
		}
		fmt.Fprintf(c, "a3 NOOP\r\n")
		if l := c.line(t); !strings.HasPrefix(l, "a3 OK") {
			t.Fatalf("NOOP after nesting: %q", l)
		}
	})

	// 100,000 pipelined NOOPs on one connection: all answered, in order.
	abuse("100000 NOOPs", func(t *testing.T) {
		const n = 100000
		c := dialIMMP(t, addr)
		defer c.Close()
		go func() {
			w := bufio.NewWriterSize(c, 64<<10)
			for i := range n {
				fmt.Fprintf(w, "n%d NOOP\r\n", i)
			}
			w.Flush()
		}()
		start := time.Now()
		for i := range n {
			l := c.line(t)
			if want := fmt.Sprintf("n%d OK", i); !strings.HasPrefix(l, want) {
				t.Fatalf("reply %d: %q, want %s", i, l, want)
			}
		}
		t.Logf("%d pipelined NOOPs answered in %v", n, time.Since(start).Round(time.Millisecond))
	})

	wg.Wait()
	// Keep measuring a little after the abuse, then stop.
	abuseTime := time.Since(abuseStart)
	close(stop)
	rtts := collect()
	if len(rtts) < 20 {
		t.Fatalf("only %d round trips measured during %v of abuse", len(rtts), abuseTime)
	}
	slices.Sort(rtts)
	median := rtts[len(rtts)/2]
	p99 := rtts[len(rtts)*99/100]
	t.Logf("well-behaved IMMP+IMAP NOOP round trips during %v of abuse: %d, median %v, p99 %v, max %v",
		abuseTime.Round(time.Millisecond), len(rtts), median, p99, rtts[len(rtts)-1])
	if p99 > time.Second {
		t.Errorf("p99 NOOP latency under abuse %v, want under 1s", p99)
	}
}
