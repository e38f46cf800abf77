package smtp

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/internal/logrl"
)

// logLines returns the decoded JSON log lines whose msg has prefix.
func (e *env) logLines(prefix string) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(e.logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && strings.HasPrefix(m["msg"].(string), prefix) {
			out = append(out, m)
		}
	}
	return out
}

// waitLog waits for a log line with msg prefix (lines written as a
// session ends come after the client saw the close).
func (e *env) waitLog(prefix string) []map[string]any {
	e.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if ls := e.logLines(prefix); len(ls) > 0 || time.Now().After(deadline) {
			return ls
		}
	}
}

// A client making the server log line after line gets its budget, then
// one "N lines suppressed" line for the rest; a second connection from the
// same address shares the address budget; the line of a delivered message
// is never dropped.
func TestLogFloodLimited(t *testing.T) {
	t.Parallel()
	e := subEnv(t, Options{
		ConnLogBudget: logrl.Budget{Burst: 5},
		AddrLogBudget: logrl.Budget{Burst: 8},
	})
	login := func() *raw {
		r := e.raw()
		r.write("EHLO c\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHB3LWFsaWNl\r\n") // alice, pw-alice
		r.expect(250)
		r.expect(235)
		return r
	}
	r := login()
	for range 50 {
		r.write("MAIL FROM:<bob@example.org>\r\n")
		r.expect(550)
	}
	// Delivered: logged whatever the budget.
	r.write("MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nFrom: alice@example.org\r\n\r\nx\r\n.\r\n")
	r.expect(250)
	r.expect(250)
	r.expect(354)
	r.expect(250)
	r.write("QUIT\r\n")
	r.expect(221)
	sum := e.waitLog("45 lines suppressed")
	if n := len(e.logLines("smtp rejected")); n != 5 || len(sum) != 1 {
		t.Fatalf("%d lines passed and %v, want 5 and one summary of 45:\n%s", n, sum, e.logs.String())
	}
	if sum[0]["remote"] != "127.0.0.1" || sum[0]["level"] != "WARN" {
		t.Errorf("summary %v", sum[0])
	}
	if n := len(e.logLines("smtp transaction")); n != 1 {
		t.Fatalf("%d transaction lines, want the delivered one", n)
	}

	// The address has 3 lines left for a new connection.
	r = login()
	for range 10 {
		r.write("MAIL FROM:<bob@example.org>\r\n")
		r.expect(550)
	}
	r.write("QUIT\r\n")
	r.expect(221)
	if sum := e.waitLog("7 lines suppressed"); len(sum) != 1 || len(e.logLines("smtp rejected")) != 8 {
		t.Fatalf("second connection: %v\n%s", sum, e.logs.String())
	}
}

// Connections refused at accept are logged within one server budget.
func TestLogRefusedConnectionsLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{opts: Options{MaxConnsPerIP: 1}})
	hold := e.raw()
	for range 2 * serverLogBudget.Burst {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		c.Read(make([]byte, 100)) // the 421
		c.Close()
	}
	hold.write("QUIT\r\n")
	hold.expect(221)
	// Refusals at accept are reported once per interval with the count
	// of those not reported (internal/netutil), and within the server's
	// budget: far from one line a connection.
	if n := len(e.logLines("connection refused")); n < 1 || n > serverLogBudget.Burst {
		t.Fatalf("%d refused lines for %d connections, want at least one and at most the budget of %d", n, 2*serverLogBudget.Burst, serverLogBudget.Burst)
	}
}
