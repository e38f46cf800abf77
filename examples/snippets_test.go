package examples

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/immp-mail/immp/immptest"
)

// runSnippet runs an example against a started server. A missing
// interpreter skips the test, and fails it under CI=true.
func runSnippet(t *testing.T, tool string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed (install it in .ci/run)", tool)
		}
		t.Skipf("%s not installed", tool)
	}
	srv := immptest.Start(t)
	cmd := exec.Command(tool, args...)
	cmd.Env = append(os.Environ(), "IMMP_HTTP="+srv.HTTP, "IMMP_SMTP="+srv.SMTP)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok ") {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
	// The snippet deleted what it sent: nothing is left.
	if ms := srv.Messages(t, immptest.Query{}); len(ms) != 0 {
		t.Fatalf("%d messages left", len(ms))
	}
}

func TestPythonSnippet(t *testing.T) { runSnippet(t, "python3", "api.py") }

func TestShellSnippet(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil && os.Getenv("CI") != "true" {
		t.Skip("curl not installed")
	}
	runSnippet(t, "sh", "api.sh")
}
