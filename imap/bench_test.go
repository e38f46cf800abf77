package imap

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/immp-mail/immp/maildir"
)

// fillMaildir writes n messages straight into the account's INBOX cur/,
// as another program (or an imported Maildir) would; the mailbox layer
// finds them and assigns UIDs on first use.
func fillMaildir(tb testing.TB, store *maildir.Store, acct maildir.Account, n int) {
	tb.Helper()
	cur := filepath.Join(store.AccountDir(acct), "cur")
	if err := os.MkdirAll(cur, 0o700); err != nil {
		tb.Fatal(err)
	}
	now := time.Now().Unix()
	for i := range n {
		msg := testMessage(fmt.Sprintf("bulk %d", i))
		name := fmt.Sprintf("%d.M%dP1Q%d.bench,S=%d,W=%d:2,S", now, i, i, len(msg), len(msg))
		if err := os.WriteFile(filepath.Join(cur, name), msg, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkSelect100k measures SELECT of a 100,000-message INBOX.
//
//	go test ./imap -run '^$' -bench Select100k -benchtime 5x
//
// cold-layer: the mailbox layer alone reading the folder in a fresh
// process. cold: a freshly opened store and server (the first SELECT after
// a restart; the OS page cache is warm). warm: SELECT again
// (the folder's state is in the layer's memory). shared: another session
// has it selected.
func BenchmarkSelect100k(b *testing.B) {
	const n = 100_000
	dir := b.TempDir()
	ctx := context.Background()
	store, err := maildir.Open(ctx, maildir.Options{DataDir: dir, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	acct, err := store.AddAccount(ctx, "bulk@example.org", testPassword)
	if err != nil {
		b.Fatal(err)
	}
	fillMaildir(b, store, acct, n)
	// First scan assigns the UIDs (writes dovecot-uidlist).
	f, err := store.OpenFolder(ctx, acct, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	if msgs, err := f.Messages(ctx); err != nil || len(msgs) != n {
		b.Fatalf("%d messages, %v", len(msgs), err)
	}
	store.Close()

	selectOnce := func(b *testing.B, c *imapclient.Client) {
		sel, err := c.Select("INBOX", nil).Wait()
		if err != nil {
			b.Fatal(err)
		}
		if sel.NumMessages != n {
			b.Fatalf("SELECT says %d messages", sel.NumMessages)
		}
	}
	// cold-layer: the mailbox layer's own first read of the folder in a
	// fresh process (OpenFolder + Messages), to tell its share of "cold".
	b.Run("cold-layer", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			st, err := maildir.Open(ctx, maildir.Options{DataDir: dir, NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			f, err := st.OpenFolder(ctx, acct, "INBOX")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := f.Messages(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			st.Close()
			b.StartTimer()
		}
	})
	b.Run("cold", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			e := newEnv(b, envOptions{dir: dir, noSync: true})
			c := e.client("bulk@example.org", nil)
			b.StartTimer()
			selectOnce(b, c)
			b.StopTimer()
			c.Close()
			e.stop()
			b.StartTimer()
		}
	})
	reselect := func(b *testing.B, c *imapclient.Client) {
		for range b.N {
			selectOnce(b, c)
			b.StopTimer()
			if err := c.Unselect().Wait(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
	// warm: SELECT again; the folder's state is in the layer's memory.
	e := newEnv(b, envOptions{dir: dir, noSync: true})
	c := e.client("bulk@example.org", nil)
	selectOnce(b, c)
	c.Unselect().Wait()
	b.Run("warm", func(b *testing.B) { reselect(b, c) })
	// shared: another session has the folder selected.
	holder := e.client("bulk@example.org", nil)
	selectOnce(b, holder)
	b.Run("shared", func(b *testing.B) { reselect(b, c) })
}

// BenchmarkIdleConnections opens 1,000 connections that log in, select
// INBOX and IDLE, and reports the server's memory per connection: RSS
// (VmRSS of this process, so the clients' few hundred bytes each are
// included) and Go heap+stacks.
//
//	go test ./imap -run '^$' -bench IdleConnections -benchtime 1x
func BenchmarkIdleConnections(b *testing.B) {
	const conns = 1000
	e := newEnv(b, envOptions{noSync: true, mutate: func(o *Options) { o.MaxConnsPerIP = -1 }})
	e.account("idle@example.org")
	// Warm up: one full session, so code paths and the folder are loaded.
	warm := e.client("idle@example.org", nil)
	if _, err := warm.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		rss0, mem0 := memNow(b)
		// Logins cost a password hash each; open the connections from a
		// few goroutines so the benchmark takes seconds, not minutes.
		open := make([]net.Conn, conns)
		var wg sync.WaitGroup
		errs := make(chan error, conns)
		next := make(chan int, conns)
		for i := range conns {
			next <- i
		}
		close(next)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					c, err := idleConn(e.addr)
					if err != nil {
						errs <- fmt.Errorf("conn %d: %w", i, err)
						return
					}
					open[i] = c
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		rss1, mem1 := memNow(b)
		b.ReportMetric(float64(rss1-rss0)/conns/1024, "KiB-RSS/conn")
		b.ReportMetric(float64(mem1-mem0)/conns/1024, "KiB-heap+stack/conn")
		b.Logf("%d idle IMAP connections: VmRSS %d -> %d KiB (%.1f KiB/conn); Go heap+stacks %.1f KiB/conn",
			conns, rss0/1024, rss1/1024, float64(rss1-rss0)/conns/1024, float64(mem1-mem0)/conns/1024)
		for _, c := range open {
			c.Close()
		}
	}
}

// idleConn logs in, selects INBOX and starts IDLE on a raw connection
// (no client library, so the client side costs little memory).
func idleConn(addr string) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(c, 512)
	if err := expect(r, "* OK"); err != nil {
		c.Close()
		return nil, err
	}
	fmt.Fprintf(c, "a LOGIN idle@example.org %q\r\nb SELECT INBOX\r\nc IDLE\r\n", testPassword)
	for _, p := range []string{"a OK", "b OK", "+ "} {
		if err := expect(r, p); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

func expect(r *bufio.Reader, prefix string) error {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("waiting for %q: %w", prefix, err)
		}
		if strings.HasPrefix(line, prefix) {
			return nil
		}
		if !strings.HasPrefix(line, "* ") {
			return fmt.Errorf("waiting for %q, got %q", prefix, line)
		}
	}
}

// memNow returns VmRSS and Go's heap-in-use plus stacks, after a GC.
func memNow(tb testing.TB) (rss, goMem int64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			rss = kb * 1024
		}
	}
	return rss, int64(ms.HeapInuse + ms.StackInuse)
}
