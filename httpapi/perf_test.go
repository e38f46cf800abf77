package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/smtp"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/immp-mail/immp/immptest"
)

// perfSize is small for the suite, full with IMMP_PERF=1.
func perfSize(small, full int) int {
	if os.Getenv("IMMP_PERF") == "1" {
		return full
	}
	return small
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// TestWaitLatency measures the time from the client reading SMTP's 250
// to the client reading the answer of a wait that was already waiting
// for that message, over loopback (goal: under 20 ms). Figures:
//
//	IMMP_PERF=1 go test ./httpapi -run TestWaitLatency -v -count=1
//
// (300 messages with IMMP_PERF=1, else 50, to keep the suite short).
func TestWaitLatency(t *testing.T) {
	n := perfSize(50, 300)
	srv := immptest.Start(t)
	c, err := smtp.Dial(srv.SMTP)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	var lat, dot250, dotWait []time.Duration
	early := 0 // answers read before the 250 was
	for i := range n {
		subj := fmt.Sprintf("lat-%d-end", i)
		answered := make(chan time.Time, 1)
		go func() {
			resp, err := client.Get(srv.URL + "/api/v1/messages/wait?subject=" + subj + "&timeout=10s")
			if err != nil {
				answered <- time.Time{}
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				answered <- time.Time{}
				return
			}
			answered <- time.Now()
		}()
		time.Sleep(3 * time.Millisecond) // let the wait subscribe
		if err := c.Mail("a@shop.test"); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("lat@example.com"); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, simple("a@shop.test", "lat@example.com", subj, "x"))
		tDot := time.Now()
		if err := w.Close(); err != nil { // sends the final "." and returns once 250 is read
			t.Fatal(err)
		}
		t250 := time.Now()
		at := <-answered
		if at.IsZero() {
			t.Fatalf("wait %d failed", i)
		}
		if at.Before(t250) {
			early++
		}
		lat = append(lat, max(0, at.Sub(t250)))
		dot250 = append(dot250, t250.Sub(tDot))
		dotWait = append(dotWait, at.Sub(tDot))
	}
	p50, p99 := percentile(lat, 0.5), percentile(lat, 0.99)
	t.Logf("SMTP 250 -> wait answer over %d messages: median %v, p99 %v, max %v (%d answered before the client read 250: counted as 0)",
		n, p50, p99, percentile(lat, 1), early)
	t.Logf("from the end of DATA: to 250 median %v p99 %v; to the wait answer median %v p99 %v",
		percentile(dot250, 0.5), percentile(dot250, 0.99), percentile(dotWait, 0.5), percentile(dotWait, 0.99))
	if p50 > 200*time.Millisecond {
		t.Fatalf("median latency %v", p50)
	}
}

// TestListLargeFolder measures GET /api/v1/messages over one folder of
// 10,000 messages (with IMMP_PERF=1, else 1,000): the first list (which
// loads the folder), later lists (median of 10), and a subject search
// (first with every header read, then cached).
//
//	IMMP_PERF=1 go test ./httpapi -run TestListLargeFolder -v -count=1
func TestListLargeFolder(t *testing.T) {
	n := perfSize(1000, 10000)
	srv := immptest.Start(t)
	srv.CreateAccount(t, "bulk@localhost", "pw-bulk-123")
	cur := filepath.Join(srv.DataDir, "mail", "localhost", "bulk", "Maildir", "cur")
	base := time.Now().Add(-time.Duration(n) * time.Second)
	for i := range n {
		msg := simple("sender@shop.test", "bulk@localhost", fmt.Sprintf("bulk %d", i), "body of a bulk message")
		name := fmt.Sprintf("%d.M%dP1Q%d.bench,S=%d:2,", base.Unix()+int64(i), i, i, len(msg))
		p := filepath.Join(cur, name)
		if err := os.WriteFile(p, []byte(msg), 0o600); err != nil {
			t.Fatal(err)
		}
		mt := base.Add(time.Duration(i) * time.Second)
		os.Chtimes(p, mt, mt)
	}
	get := func(q string) (time.Duration, list) {
		var l list
		start := time.Now()
		mustCall(t, srv, "GET", "/api/v1/messages?"+q, "", 200, &l)
		return time.Since(start), l
	}
	first, l := get("account=bulk@localhost&folder=INBOX")
	if l.Total != n || len(l.Messages) != 50 || l.Messages[0].Subject != fmt.Sprintf("bulk %d", n-1) {
		t.Fatalf("total %d, %d messages, first %q", l.Total, len(l.Messages), l.Messages[0].Subject)
	}
	var later []time.Duration
	for range 10 {
		d, _ := get("account=bulk@localhost&folder=INBOX&start=5000&limit=50")
		later = append(later, d)
	}
	s1, l := get("subject=" + fmt.Sprintf("bulk+%d", n/2))
	if l.Total != 1 {
		t.Fatalf("search: %d", l.Total)
	}
	s2, _ := get("subject=" + fmt.Sprintf("bulk+%d", n/2))
	t.Logf("list of a %d-message folder: first %v (loads the folder), then median %v; subject search %v uncached, %v cached",
		n, first, percentile(later, 0.5), s1, s2)
}
