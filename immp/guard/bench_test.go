package guard

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"sync/atomic"
	"testing"
	"time"

	"immp/maildir"
)

// benchListSize is the number of entries of the benchmark account
// (issue 4: >= 1,000,000 verdicts/s with 100k entries per account).
const benchListSize = 100_000

// benchGuard builds a store with two accounts of benchListSize entries
// each, of every kind (benchEntries), and a guard over it with its indexes
// warm. Filling the list takes a while; the timer is reset after it.
func benchGuard(b *testing.B) (*Guard, []string, []string) {
	b.Helper()
	ctx := context.Background()
	s := openStore(b, b.TempDir())
	entries := benchEntries(benchListSize)
	rcpts := []string{"alice@example.org", "work/bob@example.org", "carol+news@example.org"}
	for _, r := range []string{"alice@example.org", "bob@example.org"} {
		acct := addAccount(b, s, r)
		if err := addEntries(ctx, s, acct, r, entries); err != nil {
			b.Fatal(err)
		}
	}
	g := newGuard(b, s, DefaultMaxStaleness)
	senders := benchSenders(1024, len(entries))
	for _, r := range rcpts {
		if _, err := g.Verify(ctx, senders[0], r); err != nil {
			b.Fatal(err)
		}
	}
	return g, senders, rcpts
}

// addEntries stores entries under agent, one transaction each: the store
// has no bulk insert, and this is what a user's client would do.
func addEntries(ctx context.Context, s *maildir.Store, acct maildir.Account, agent string, entries []string) error {
	for _, e := range entries {
		if err := s.AddEntry(ctx, acct, agent, e); err != nil {
			return fmt.Errorf("add %q: %w", e, err)
		}
	}
	return nil
}

// BenchmarkVerify measures in-process verdicts against 100k-entry lists:
// half the senders blocked (by exact, *@domain, *@*.domain and prefix
// patterns), half allowed; recipients with and without subinbox forms; the
// third recipient is unknown. Run with
//
//	go test ./immp/guard -run '^$' -bench Verify -benchtime 2000000x
func BenchmarkVerify(b *testing.B) {
	g, senders, rcpts := benchGuard(b)
	ctx := context.Background()
	report := func(b *testing.B, start time.Time, cpu0 time.Duration, blocked int64) {
		el := time.Since(start)
		b.ReportMetric(float64(b.N)/el.Seconds(), "verdicts/s")
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(blocked)/float64(b.N), "blocked/op")
	}
	b.Run("serial", func(b *testing.B) {
		var blocked int64
		b.ReportAllocs()
		b.ResetTimer()
		start, cpu0 := time.Now(), cpuTime()
		for i := 0; i < b.N; i++ {
			v, err := g.Verify(ctx, senders[i%len(senders)], rcpts[i%2])
			if err != nil {
				b.Fatal(err)
			}
			if v == Blocked {
				blocked++
			}
		}
		report(b, start, cpu0, blocked)
	})
	b.Run("parallel", func(b *testing.B) {
		var blocked atomic.Int64
		var next atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		start, cpu0 := time.Now(), cpuTime()
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(1000))
			n := int64(0)
			for pb.Next() {
				v, err := g.Verify(ctx, senders[i%len(senders)], rcpts[i%3])
				if err != nil {
					b.Error(err)
					return
				}
				if v == Blocked {
					n++
				}
				i++
			}
			blocked.Add(n)
		})
		report(b, start, cpu0, blocked.Load())
	})
}

// BenchmarkIndex measures the index alone (no mapping, no cache lookup).
func BenchmarkIndex(b *testing.B) {
	x := buildIndex(benchEntries(benchListSize))
	senders := benchSenders(1024, benchListSize)
	for i := range senders {
		senders[i] = strings.ToLower(senders[i])
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		x.match(senders[i%len(senders)])
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the CPU time this process has used (user and system). The
// benchmarks report it per operation besides wall time, because on a
// shared machine the wall time says more about the neighbours.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
