package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/immp-mail/immp/internal/syncbuf"
)

// The built-in default binds fixed ports (DESIGN.md: SMTP 3025, IMAP 3143,
// IMMP 3323, HTTP 3880), so only this test may use it, and not in parallel.
const (
	defaultSMTP = "127.0.0.1:3025"
	defaultIMAP = "127.0.0.1:3143"
	defaultHTTP = "127.0.0.1:3880"
)

// TestBuiltInDefaultQuickStart follows the README's quick start: `immp
// serve` with no config in an empty directory, swaks to work/dev@localhost,
// then the message read over IMAP, and /metrics counting it.
func TestBuiltInDefaultQuickStart(t *testing.T) {
	for _, addr := range []string{defaultSMTP, defaultIMAP, defaultHTTP} {
		if canConnect(addr) {
			t.Skipf("%s is taken by another process; the default profile needs it", addr)
		}
	}
	dir := t.TempDir()
	cmd := exec.Command(binary, "serve")
	cmd.Dir = dir
	var log syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Kill()
			<-done
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := httpClient.Get("http://" + defaultHTTP + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("default server not ready; log:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	swaks(t, defaultSMTP, "someone@example.net", "work/dev@localhost", "quick start")
	// Accounts are created on first delivery and first login in this mode;
	// the subinbox did not exist, so the message is in INBOX (draft 2.2.2).
	n, subjects := imapSubjects(t, defaultIMAP, "dev@localhost", "anything", "INBOX")
	if n != 1 || len(subjects) != 1 || subjects[0] != "quick start" {
		t.Errorf("INBOX: %d messages %q, want the one sent", n, subjects)
	}
	if _, err := os.Stat(filepath.Join(dir, "immp-data", "immp.db")); err != nil {
		t.Errorf("data is not under ./immp-data: %v", err)
	}
	if !strings.Contains(strings.ToLower(log.String()), "test") {
		t.Errorf("the log does not warn that the built-in default is for testing:\n%s", log.String())
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, log.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit 30s after SIGTERM")
	}
}
