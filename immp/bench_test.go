package immp

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// BenchmarkVerifyPipelined measures VERIFYINSPAMGUARDAGENT verdicts over
// one pipelined TCP connection (the way a Receiver-SMTP on another host
// would ask, draft 2.2.2), untagged as in the draft's example, against an
// account with 1,000 entries (exact, *@domain, *@*.domain and general
// patterns). The in-process verdict benchmark is delivery/guard's.
//
//	go test -run XXX -bench VerifyPipelined -benchtime 200000x ./immp
func BenchmarkVerifyPipelined(b *testing.B) {
	e := newEnv(b)
	alice := e.account("alice@" + testDomain)
	for i := 0; i < 1000; i++ {
		var entry string
		switch i % 4 {
		case 0:
			entry = fmt.Sprintf("spammer%d@bulk.example", i)
		case 1:
			entry = fmt.Sprintf("*@spam%d.example", i)
		case 2:
			entry = fmt.Sprintf("*@*.junk%d.example", i)
		default:
			entry = fmt.Sprintf("promo%d*@*.example", i)
		}
		if err := e.store.AddEntry(e.ctx, alice, alice.Address, entry); err != nil {
			b.Fatal(err)
		}
	}
	e.guard.Invalidate()
	senders := []string{
		`"friend@ok.example"`, `"spammer4@bulk.example"`, `"x@spam5.example"`, `"x@a.junk6.example"`,
		`"promo7abc@mail.example"`, `""`, `"another@fine.example"`, `"x@spam9999.example"`,
	}
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	r := bufio.NewReaderSize(nc, 64<<10)
	if _, err := r.ReadString('\n'); err != nil {
		b.Fatal(err)
	}
	// One sample to check the replies are verdicts.
	fmt.Fprintf(nc, "VERIFYINSPAMGUARDAGENT %s \"alice@example.org\"\r\n", senders[1])
	if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "NO [BLOCKED]") {
		b.Fatalf("sample reply %q", l)
	}
	cmds := make([][]byte, len(senders))
	for i, s := range senders {
		cmds[i] = []byte("VERIFYINSPAMGUARDAGENT " + s + " \"alice@example.org\"\r\n")
	}
	b.ResetTimer()
	start := time.Now()
	werr := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(nc, 64<<10)
		for i := 0; i < b.N; i++ {
			if _, err := w.Write(cmds[i%len(cmds)]); err != nil {
				werr <- err
				return
			}
		}
		werr <- w.Flush()
	}()
	blocked := 0
	for i := 0; i < b.N; i++ {
		l, err := r.ReadSlice('\n')
		if err != nil {
			b.Fatalf("reply %d: %v", i, err)
		}
		if l[0] == 'N' {
			blocked++
		}
	}
	el := time.Since(start)
	b.StopTimer()
	if err := <-werr; err != nil {
		b.Fatal(err)
	}
	if want := b.N / len(cmds) * 4; b.N >= len(cmds) && blocked < want {
		b.Fatalf("%d blocked of %d, want >= %d", blocked, b.N, want)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "verdicts/s")
}
