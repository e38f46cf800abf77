package integration

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serverUser is the Unix user the ownership test runs "the server" as.
const serverUser = "immp-test"

// otherUser returns the uid and gid of serverUser, creating the user with
// useradd when it is missing. It needs root: without it the test is
// skipped, except under CI=true where it fails.
func otherUser(t *testing.T) (uint32, uint32) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the ownership test needs root under CI (it runs commands as two Unix users)")
		}
		t.Skip("needs root to run commands as two Unix users")
	}
	u, err := user.Lookup(serverUser)
	if err != nil {
		useradd := needTool(t, "useradd")
		if out, err := exec.Command(useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", serverUser).CombinedOutput(); err != nil {
			if u, err = user.Lookup(serverUser); err != nil { // created meanwhile by a parallel run
				t.Fatalf("useradd: %v\n%s", err, out)
			}
		}
		if u, err = user.Lookup(serverUser); err != nil {
			t.Fatal(err)
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uint32(uid), uint32(gid)
}

// runAs runs the binary as uid:gid (or as this process when uid is
// negative) and returns stdout, stderr and the exit code.
func runAs(t *testing.T, uid, gid int, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdin = strings.NewReader("pw-owner\n")
	cmd.Env = withoutEnv(os.Environ(), "IMMP_CONFIG")
	if uid >= 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestOwnership: root running a writing verb against a data directory that
// belongs to the server's user is refused with the command to use; as that
// user it works and every file is the user's; doctor finds a file that
// root left behind, and is content once it is given back.
func TestOwnership(t *testing.T) {
	t.Parallel()
	uid, gid := otherUser(t)
	// A tree the other user can reach: the binary's directory and ours.
	if err := os.Chmod(filepath.Dir(binary), 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "immp-owner-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "immp.toml")
	os.WriteFile(cfg, []byte("hostname = \"mx.example.org\"\ndata_dir = \""+data+"\"\ndomains = [\"example.org\"]\n"), 0o644)
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(data, int(uid), int(gid)); err != nil {
		t.Fatal(err)
	}

	_, errOut, code := runAs(t, -1, -1, "user", "add", "-config", cfg, "alice@example.org")
	want := "immp user: the data directory " + data + " belongs to " + serverUser + " (uid " + strconv.Itoa(int(uid)) +
		"), but this command runs as root (uid 0): files it created would not be writable by the server. " +
		"Run it as the owner: \"sudo -u " + serverUser + " immp ...\", or in the container \"docker exec -u " + serverUser + " CONTAINER immp ...\"\n"
	if code != 2 || errOut != want {
		t.Fatalf("root: exit %d, stderr:\n%s\nwant 2 and:\n%s", code, errOut, want)
	}
	if entries, _ := os.ReadDir(data); len(entries) != 0 {
		t.Fatalf("the refused command left files: %v", entries)
	}

	if _, errOut, code := runAs(t, int(uid), int(gid), "user", "add", "-config", cfg, "alice@example.org"); code != 0 {
		t.Fatalf("as %s: exit %d\n%s", serverUser, code, errOut)
	}
	out, errOut, code := runAs(t, int(uid), int(gid), "doctor", "-config", cfg)
	if code != 0 || !strings.Contains(out, "every file belongs to "+serverUser) {
		t.Fatalf("doctor on a sound directory: exit %d\n%s%s", code, out, errOut)
	}
	var files int
	filepath.Walk(data, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			files++
			if st := fi.Sys().(*syscall.Stat_t); st.Uid != uid {
				t.Errorf("%s belongs to uid %d", p, st.Uid)
			}
		}
		return nil
	})
	if files < 3 {
		t.Fatalf("only %d files in the data directory", files)
	}

	// What an older root command left behind: a folder owned by root, and
	// a file its owner cannot write.
	bad := filepath.Join(data, "mail", "example.org", "alice", "Maildir", ".INBOX.work")
	if err := os.MkdirAll(bad, 0o700); err != nil {
		t.Fatal(err)
	}
	ro := filepath.Join(data, "readonly")
	os.WriteFile(ro, nil, 0o400)
	os.Chown(ro, int(uid), int(gid))
	out, _, code = runAs(t, int(uid), int(gid), "doctor", "-config", cfg)
	for _, w := range []string{
		bad + ": owned by root (uid 0), not by " + serverUser,
		ro + ": mode -r--------: its owner needs -rw------- at least",
		"2 problem(s).", "chown -R " + serverUser + " " + data + " && chmod -R u+rwX " + data,
	} {
		if !strings.Contains(out, w) {
			t.Errorf("doctor output lacks %q:\n%s", w, out)
		}
	}
	if code != 1 {
		t.Errorf("doctor with problems: exit %d, want 1", code)
	}
	// Root may run doctor (it writes nothing) and is told whose it is.
	if out, _, _ := runAs(t, -1, -1, "doctor", "-config", cfg); !strings.Contains(out, "note: running as root (uid 0); the data directory belongs to "+serverUser) {
		t.Errorf("doctor as root:\n%s", out)
	}
	exec.Command("chown", "-R", serverUser, data).Run()
	exec.Command("chmod", "-R", "u+rwX", data).Run()
	if out, _, code := runAs(t, int(uid), int(gid), "doctor", "-config", cfg); code != 0 {
		t.Errorf("doctor after the repair: exit %d\n%s", code, out)
	}
}
