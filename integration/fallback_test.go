package integration

import (
	"slices"
	"strings"
	"testing"
)

// TestSubinboxFallbackToIMAP runs the server without its IMMP listener, so
// the CLI's IMMP connection is refused and it falls back to IMAP (draft
// 5.6, profile 10); mail to the subinboxes made that way is filed there.
func TestSubinboxFallbackToIMAP(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{noIMMP: true})
	s.addUser(t, "alice@example.org", "pw-fallback")
	env := []string{"IMMP_PASSWORD=pw-fallback"}
	sub := func(args ...string) (string, string) {
		t.Helper()
		full := append([]string{"subinbox", args[0], "-immp", s.addrs["immp"], "-imap", s.addrs["imap"], "-user", "alice@example.org"}, args[1:]...)
		out, errOut, code := s.immp(t, "", env, full...)
		if code != 0 {
			t.Fatalf("immp %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(full, " "), code, out, errOut)
		}
		if !strings.Contains(strings.ToLower(errOut), "imap") {
			t.Errorf("immp %s did not say it fell back to IMAP; stderr: %q", strings.Join(full, " "), errOut)
		}
		return out, errOut
	}
	sub("create", "work")
	sub("create", "office/work")
	sub("create", "tmp/work")
	sub("rename", "tmp/work", "projects/work")
	out, _ := sub("list")
	got := strings.Fields(out)
	want := []string{"office/work", "projects/work", "work"}
	if strings.Join(slices.Sorted(slices.Values(got)), " ") != strings.Join(want, " ") {
		t.Errorf("list printed %q, want %q", got, want)
	}

	swaks(t, s.addrs["smtp"], "bob@remote.test", "office/work/alice@example.org", "filed by fallback")
	swaks(t, s.addrs["smtp"], "bob@remote.test", "projects/work/alice@example.org", "renamed by fallback")
	for folder, subject := range map[string]string{"INBOX/work/office": "filed by fallback", "INBOX/work/projects": "renamed by fallback"} {
		n, subjects := imapSubjects(t, s.addrs["imap"], "alice@example.org", "pw-fallback", folder)
		if n != 1 || subjects[0] != subject {
			t.Errorf("%s: %d messages %q, want %q", folder, n, subjects, subject)
		}
	}
}

// TestCurlListsFolders lists folders with curl's IMAP client.
func TestCurlListsFolders(t *testing.T) {
	t.Parallel()
	curl := needTool(t, "curl")
	s := startServer(t, serverOptions{})
	s.addUser(t, "dave@example.org", "pw-dave")
	out, errOut, code := s.immp(t, "", []string{"IMMP_PASSWORD=pw-dave"}, "subinbox", "create",
		"-immp", s.addrs["immp"], "-imap", s.addrs["imap"], "-user", "dave@example.org", "receipts")
	if code != 0 {
		t.Fatalf("subinbox create: exit %d\n%s%s", code, out, errOut)
	}
	list := run(t, "", curl, "-sS", "--max-time", "20", "--user", "dave@example.org:pw-dave", "imap://"+s.addrs["imap"]+"/")
	for _, want := range []string{"INBOX", "INBOX/receipts", "Sent", "Drafts", "Trash", "Junk", "Archive"} {
		if !containsFolder(list, want) {
			t.Errorf("curl's LIST lacks %q:\n%s", want, list)
		}
	}
}

func containsFolder(list, name string) bool {
	for _, line := range strings.Split(list, "\n") {
		f := strings.TrimSpace(line)
		if strings.HasSuffix(f, " "+name) || strings.HasSuffix(f, " \""+name+"\"") {
			return true
		}
	}
	return false
}
