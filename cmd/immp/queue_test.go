package main

import (
	"strings"
	"testing"
)

// TestQueueCLIWithoutServer: the queue verbs on a data directory no
// server runs on: usage errors exit 2, an unknown ID exits 1 with a hint,
// an empty queue says so.
func TestQueueCLIWithoutServer(t *testing.T) {
	t.Parallel()
	cfg, _ := writeConfig(t, "")
	cases := []struct {
		args []string
		code int
		out  string // in stdout, or stderr when code != 0
	}{
		{[]string{"queue"}, 2, "missing sub-command"},
		{[]string{"queue", "resend"}, 2, "unknown sub-command"},
		{[]string{"queue", "show", "-config", cfg}, 2, "takes 1 argument"},
		{[]string{"queue", "list", "-config", cfg, "extra"}, 2, "takes 0 argument"},
		{[]string{"queue", "list", "-config", cfg}, 0, "queue is empty"},
		{[]string{"queue", "show", "-config", cfg, "ABCDEFGH12345678"}, 1, "immp queue list"},
		{[]string{"queue", "delete", "-config", cfg, "../../x"}, 1, "no queued message"},
		{[]string{"queue", "flush", "-config", cfg}, 0, "no server running"},
	}
	for _, c := range cases {
		out, errOut, code := cli(t, "", c.args...)
		got := out
		if c.code != 0 {
			got = errOut
		}
		if code != c.code || !strings.Contains(got, c.out) {
			t.Errorf("immp %s: exit %d, stdout %q, stderr %q; want %d and %q", strings.Join(c.args, " "), code, out, errOut, c.code, c.out)
		}
	}
}
