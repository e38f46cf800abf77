package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// smtpStep is one command of a scripted SMTP conversation and the reply
// code it must get ("" sends nothing: the greeting).
type smtpStep struct{ send, want string }

// smtpTalk runs steps on a new connection to addr.
func smtpTalk(t *testing.T, addr string, steps ...smtpStep) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	for _, step := range steps {
		fmt.Fprint(c, step.send)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("after %q: %v", step.send, err)
			}
			if len(line) > 3 && line[3] == '-' {
				continue
			}
			if !strings.HasPrefix(line, step.want) {
				t.Fatalf("after %q: %q, want %q", step.send, strings.TrimSpace(line), step.want)
			}
			break
		}
	}
}

// TestQuotaFromConfig: [accounts] quota applies to SMTP delivery (552
// 5.2.2 for a message that does not fit, 452 4.2.2 at RCPT once full),
// and "immp user list" shows the use against it while the server runs.
func TestQuotaFromConfig(t *testing.T) {
	t.Parallel()
	d, cfg := startTestDaemon(t, "[accounts]\nquota = \"2KiB\"\n")
	if _, errOut, code := cli(t, "pw\n", "user", "add", "-config", cfg, "alice@example.org"); code != exitOK {
		t.Fatalf("user add: %s", errOut)
	}
	msg := "Subject: q\r\n\r\n" + strings.Repeat("x", 1200) + "\r\n.\r\n"
	tx := func(last smtpStep) {
		t.Helper()
		smtpTalk(t, d.Addr("smtp.listen"), smtpStep{"", "220 "}, smtpStep{"EHLO client.test\r\n", "250 "},
			smtpStep{"MAIL FROM:<bob@remote.test>\r\n", "250 "}, smtpStep{"RCPT TO:<alice@example.org>\r\n", "250 "},
			smtpStep{"DATA\r\n", "354 "}, last, smtpStep{"QUIT\r\n", "221 "})
	}
	tx(smtpStep{msg, "250 "})
	tx(smtpStep{msg, "552 5.2.2 "})
	out, errOut, code := cli(t, "", "user", "list", "-config", cfg)
	if code != exitOK || !strings.HasPrefix(out, "alice@example.org\t1.") || !strings.HasSuffix(out, "KiB\t2KiB\n") {
		t.Fatalf("user list: %q %s", out, errOut)
	}
	if _, errOut, code := cli(t, "", "user", "quota", "-config", cfg, "alice@example.org", "1KiB"); code != exitOK {
		t.Fatalf("user quota: %s", errOut)
	}
	// The server sees the CLI's change at once (no restart).
	smtpTalk(t, d.Addr("smtp.listen"), smtpStep{"", "220 "}, smtpStep{"EHLO client.test\r\n", "250 "},
		smtpStep{"MAIL FROM:<bob@remote.test>\r\n", "250 "}, smtpStep{"RCPT TO:<alice@example.org>\r\n", "452 4.2.2 "},
		smtpStep{"QUIT\r\n", "221 "})
}
