package smtp

import (
	"io"
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
)

// BenchmarkDeliverParallel: 4 KB messages over real TCP into the real
// store (fsync on), 8 client sessions per GOMAXPROCS.
func BenchmarkDeliverParallel(b *testing.B) {
	e := newEnv(b, setup{})
	body := "Subject: bench\r\n\r\n" + strings.Repeat(strings.Repeat("x", 78)+"\r\n", 4096/80)
	benchSend(b, e.addr, "s@remote.example", body)
}

// benchSend runs b.N transactions of body from sender to
// alice@example.org over 4 sessions per GOMAXPROCS, each reusing its
// connection.
func benchSend(b *testing.B, addr, sender, body string) {
	b.SetBytes(int64(len(body)))
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := gosmtp.Dial(addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		for pb.Next() {
			if err := c.Mail(sender, nil); err != nil {
				b.Error(err)
				return
			}
			if err := c.Rcpt("alice@example.org", nil); err != nil {
				b.Error(err)
				return
			}
			w, err := c.Data()
			if err != nil {
				b.Error(err)
				return
			}
			io.WriteString(w, body)
			if err := w.Close(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
