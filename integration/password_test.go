package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ptyScript runs argv on a pseudo-terminal, answers each password prompt
// once the terminal's echo is off (as a person typing after the prompt
// would), and prints everything the terminal showed, then exits with the
// program's code. The answers are in $ANSWERS, separated by newlines.
const ptyScript = `
import os, pty, select, sys, termios, time
answers = os.environ['ANSWERS'].split('\n')
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b''
def read_some(timeout):
    global out
    r, _, _ = select.select([fd], [], [], timeout)
    if not r:
        return False
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        return None
    if not chunk:
        return None
    out += chunk
    return True
for prompt, answer in zip([b'New password for', b'Retype it: '], answers):
    deadline = time.time() + 30
    while prompt not in out:
        if read_some(max(0, deadline - time.time())) is not True:
            sys.stdout.write(out.decode(errors='replace'))
            sys.exit(99)
    deadline = time.time() + 30
    while termios.tcgetattr(fd)[3] & termios.ECHO:
        if time.time() > deadline:
            sys.exit(98)
        time.sleep(0.01)
    os.write(fd, answer.encode() + b'\n')
    out = out.replace(prompt, b'<' + prompt + b'>', 1)
while read_some(30) is True:
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors='replace'))
sys.exit(os.waitstatus_to_exitcode(status))
`

// onTerminal runs the binary on a pseudo-terminal, typing answers at the
// password prompts; it returns what the terminal showed and the exit code.
func onTerminal(t *testing.T, answers []string, args ...string) (string, int) {
	t.Helper()
	python := needTool(t, "python3")
	cmd := exec.Command(python, append([]string{"-c", ptyScript, binary}, args...)...)
	cmd.Env = append(withoutEnv(os.Environ(), "IMMP_CONFIG"), "ANSWERS="+strings.Join(answers, "\n"))
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code >= 98 {
		t.Fatalf("the terminal driver gave up (%d); the terminal showed:\n%s", code, out)
	}
	return string(out), code
}

// TestPasswordPrompt: at a terminal, user add and passwd ask twice without
// echo and say what they did; a mismatch changes nothing; from a pipe and
// from -password-file one line is read. The password works for IMAP.
func TestPasswordPrompt(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	const pw = "s3cret-typed"
	shown, code := onTerminal(t, []string{pw, pw}, "user", "add", "-config", s.config, "alice@example.org")
	if code != 0 || !strings.Contains(shown, "<New password for> alice@example.org: ") || !strings.Contains(shown, "<Retype it: >") ||
		!strings.Contains(shown, "immp: user add alice@example.org: done (account created with the password given") {
		t.Fatalf("user add at a terminal: exit %d; the terminal showed:\n%s", code, shown)
	}
	if strings.Contains(shown, pw) {
		t.Fatalf("the password was echoed:\n%s", shown)
	}
	if n, _ := imapSubjects(t, s.addrs["imap"], "alice@example.org", pw, "INBOX"); n != 0 {
		t.Errorf("INBOX has %d messages", n)
	}

	shown, code = onTerminal(t, []string{"one-thing", "another"}, "user", "passwd", "-config", s.config, "alice@example.org")
	if code != 2 || !strings.Contains(shown, "the two passwords differ; nothing changed") || strings.Contains(shown, "one-thing") {
		t.Fatalf("mismatch: exit %d; the terminal showed:\n%s", code, shown)
	}
	shown, code = onTerminal(t, []string{"new-typed", "new-typed"}, "user", "passwd", "-config", s.config, "alice@example.org")
	if code != 0 || !strings.Contains(shown, "password changed") || strings.Contains(shown, "new-typed") {
		t.Fatalf("passwd: exit %d; the terminal showed:\n%s", code, shown)
	}
	imapSubjects(t, s.addrs["imap"], "alice@example.org", "new-typed", "INBOX")

	// A pipe: one line, no prompt.
	out, errOut, code := s.immp(t, "piped-pw\n", nil, "user", "add", "-config", s.config, "bob@example.org")
	if code != 0 || strings.Contains(out+errOut, "password for") || strings.Contains(out+errOut, "piped-pw") {
		t.Fatalf("user add from a pipe: exit %d\n%s%s", code, out, errOut)
	}
	imapSubjects(t, s.addrs["imap"], "bob@example.org", "piped-pw", "INBOX")

	// -password-file: its first line.
	file := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(file, []byte("from-file\nignored\n"), 0o600)
	out, errOut, code = s.immp(t, "", nil, "user", "add", "-config", s.config, "-password-file", file, "carol@example.org")
	if code != 0 || strings.Contains(out+errOut, "from-file") {
		t.Fatalf("-password-file: exit %d\n%s%s", code, out, errOut)
	}
	imapSubjects(t, s.addrs["imap"], "carol@example.org", "from-file", "INBOX")
	if strings.Contains(s.logs(), pw) || strings.Contains(s.logs(), "piped-pw") || strings.Contains(s.logs(), "from-file") {
		t.Errorf("a password is in the server log:\n%s", s.logs())
	}
}
