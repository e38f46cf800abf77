package imap

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// hostileMessages are built to make MIME parsing expensive, each of
// about size octets: deep nesting (what got the process OOM-killed
// through go-imap's helpers, which copy every nested message/rfc822
// body), huge part counts, boundaries that are prefixes of each other,
// and headers full of addresses or parameters.
func hostileMessages(size int) map[string][]byte {
	fill := func(head, unit, tail string) []byte {
		var b strings.Builder
		b.WriteString(head)
		for b.Len()+len(unit)+len(tail) < size {
			b.WriteString(unit)
		}
		b.WriteString(tail)
		return []byte(b.String())
	}
	var nestedMP strings.Builder
	for i := 0; nestedMP.Len() < size-64; i++ {
		fmt.Fprintf(&nestedMP, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i)
	}
	var prefixes strings.Builder
	for i := 1; i <= 90; i++ {
		fmt.Fprintf(&prefixes, "Content-Type: multipart/mixed; boundary=%s\r\n\r\n--%s\r\n", strings.Repeat("a", i), strings.Repeat("a", i))
	}
	return map[string][]byte{
		"nested-rfc822":    fill("Subject: nested\r\n", "Content-Type: message/rfc822\r\n\r\n", "\r\nx\r\n"),
		"nested-multipart": []byte(nestedMP.String() + "\r\nx\r\n"),
		"nested-mixed": fill("", "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: message/rfc822\r\n\r\n",
			"\r\nx\r\n"),
		"many-parts":    fill("Content-Type: multipart/mixed; boundary=b\r\n\r\n", "--b\r\n\r\nx\r\n", "--b--\r\n"),
		"many-messages": fill("Content-Type: multipart/digest; boundary=d\r\n\r\n", "--d\r\n\r\nFrom: a@b\r\n\r\nx\r\n", "--d--\r\n"),
		"prefix-bounds": fill(prefixes.String(), "--"+strings.Repeat("a", 95)+"x\r\n", "\r\n"),
		"addresses":     fill("To: ", "a@b,", "\r\n\r\nx\r\n"),
		"groups":        fill("Cc: ", "g:a@b;,", "\r\n\r\nx\r\n"),
		"params":        fill("Content-Type: text/plain", "; p*1*=%41", "\r\n\r\nx\r\n"),
		"no-boundary":   fill("Content-Type: multipart/mixed\r\n\r\n", "--b\r\nContent-Type: multipart/mixed\r\n\r\n", ""),
		"long-line":     fill("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n", "-", "\r\n--b--\r\n"),
	}
}

// TestWriteFuzzSeeds writes small versions of the hostile messages to
// testdata/fuzz/FuzzBodyStructure when IMAP_WRITE_SEEDS is set.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("IMAP_WRITE_SEEDS") == "" {
		t.Skip("set IMAP_WRITE_SEEDS=1 to rewrite the fuzz seeds")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzBodyStructure")
	os.MkdirAll(dir, 0o755)
	for name, m := range hostileMessages(12 << 10) {
		data := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", m)
		if err := os.WriteFile(filepath.Join(dir, "hostile-"+name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHostileMessagesMemory delivers each hostile message of 768 KB and
// fetches it over a real socket (ENVELOPE, BODYSTRUCTURE, sections,
// BINARY, SEARCH) while sampling the heap: the peak above the baseline
// must stay under a bound, every command must answer OK within a time
// bound, and the structure must be degraded, not refused.
func TestHostileMessagesMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("768 KB messages")
	}
	e := newEnv(t, envOptions{noSync: true})
	acct := e.account("alice@example.org")
	msgs := hostileMessages(768 << 10)
	names := make([]string, 0, len(msgs))
	for n := range msgs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e.appendRaw(acct, "INBOX", msgs[n])
	}
	rc := e.raw("alice@example.org")
	rc.ok("SELECT INBOX")

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	const maxDur = 20 * time.Second // a generous bound: -race is slow
	for i, n := range names {
		seq := i + 1
		for _, cmd := range []string{
			"FETCH %d (ENVELOPE BODYSTRUCTURE RFC822.SIZE)",
			"FETCH %d (BODY BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2.1.1] BODY.PEEK[HEADER] BINARY.SIZE[1])",
			"FETCH %d (BINARY.PEEK[1.1] BODY.PEEK[TEXT]<0.100>)",
			"SEARCH %d BODY zzz",
		} {
			start := time.Now()
			cmd = fmt.Sprintf(cmd, seq)
			u, status, err := rc.cmd(cmd)
			if err != nil || !strings.HasPrefix(status, "OK") {
				t.Fatalf("%s: %s (%s): %v, %s", n, cmd, status, err, strings.Join(u, "\n")[:min(200, len(strings.Join(u, "\n")))])
			}
			if d := time.Since(start); d > maxDur {
				t.Errorf("%s: %s took %v", n, cmd, d)
			}
		}
	}
	close(stop)
	<-done
	used := int64(peak.Load()) - int64(base)
	t.Logf("heap in use: baseline %.1f MiB, peak %.1f MiB above it (11 hostile messages of 768 KB)",
		float64(base)/(1<<20), float64(used)/(1<<20))
	// Each message: itself (0.75 MiB, twice: file and the client's
	// copy), at most 10000 parts of tree and BODYSTRUCTURE, the
	// response. Far below what the old code took (the process was
	// OOM-killed on one such message).
	const bound = 64 << 20
	if used > bound {
		t.Errorf("heap peak %.1f MiB above baseline, bound %d MiB", float64(used)/(1<<20), bound>>20)
	}
	if n, b := e.srv.cache.usage(); b > DefaultCacheBytes {
		t.Errorf("cache holds %d bytes in %d entries, over its bound", b, n)
	}
}
