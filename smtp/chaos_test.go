package smtp

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/internal/chaos"
)

// TestChaosConnectReplacesTheGreeting: a connect rule answers in place of
// the 220 greeting (RFC 5321 3.1) and the connection ends; once the rule
// is spent the next client is greeted as usual.
func TestChaosConnectReplacesTheGreeting(t *testing.T) {
	t.Parallel()
	eng := chaos.New(nil)
	if _, err := eng.Add(chaos.Rule{Stage: chaos.Connect, Code: 421, Enhanced: "4.3.2", Text: "try later", Match: "127.0.0.1", Times: 1}); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, setup{opts: Options{Chaos: eng}})
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || line != "421 4.3.2 try later\r\n" {
		t.Fatalf("greeting %q (%v), want the rule's reply", line, err)
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("after the reply: %q %v, want the connection closed", rest, err)
	}
	r := e.raw() // expects 220
	r.write("QUIT\r\n")
	r.expect(221)
	if !strings.Contains(e.logs.String(), "chaos rule answered") {
		t.Errorf("no log line for the rule:\n%s", e.logs.String())
	}
}
