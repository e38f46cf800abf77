package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/immp-mail/immp/bench/internal/benchutil"
)

// The private Postfix instance: everything under one temporary directory,
// loopback only, virtual(8) delivering user@bench.example to a Maildir.
const postfixMain = `compatibility_level = 3.6
queue_directory = {{BASE}}/queue
data_directory = {{BASE}}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.localhost
mydomain = localhost
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
message_size_limit = 26214400
virtual_mailbox_domains = bench.example
virtual_mailbox_base = {{BASE}}/vmail
virtual_mailbox_maps = texthash:{{BASE}}/etc/vmailbox
virtual_uid_maps = static:{{UID}}
virtual_gid_maps = static:{{UID}}
virtual_minimum_uid = 1
maillog_file_prefixes = {{BASE}}
maillog_file = {{BASE}}/postfix.log
`

// masterCF turns the system master.cf into the instance's: the smtpd
// listener on our loopback port, and no chroot (the instance has no
// chroot jail prepared).
func masterCF(port int) (string, error) {
	b, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		return "", err
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 8 && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t") {
			if f[1] == "inet" {
				if f[0] != "smtp" {
					continue // no other listeners
				}
				f[0] = fmt.Sprintf("127.0.0.1:%d", port)
			}
			f[4] = "n"
			line = strings.Join(f, " ")
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n"), nil
}

func runPostfix(c config, size, conc int) (result, error) {
	if os.Geteuid() != 0 {
		return result{}, fmt.Errorf("a private Postfix instance needs root")
	}
	base, err := c.runDir("smtpbench-postfix-")
	if err != nil {
		return result{}, err
	}
	os.Chmod(base, 0o755)
	port, err := benchutil.FreePort()
	if err != nil {
		return result{}, err
	}
	const uid = 65534 // nobody: virtual(8) refuses to deliver as root
	for _, d := range []string{"etc", "queue", "data", "vmail"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			return result{}, err
		}
	}
	if err := os.Chown(filepath.Join(base, "vmail"), uid, uid); err != nil {
		return result{}, err
	}
	// data_directory belongs to mail_owner (postfix(1) checks it).
	if u, err := user.Lookup("postfix"); err == nil {
		pu, _ := strconv.Atoi(u.Uid)
		pg, _ := strconv.Atoi(u.Gid)
		os.Chown(filepath.Join(base, "data"), pu, pg)
	}
	mainCF := strings.NewReplacer("{{BASE}}", base, "{{UID}}", strconv.Itoa(uid)).Replace(postfixMain)
	if err := os.WriteFile(filepath.Join(base, "etc", "main.cf"), []byte(mainCF), 0o644); err != nil {
		return result{}, err
	}
	mcf, err := masterCF(port)
	if err != nil {
		return result{}, err
	}
	if err := os.WriteFile(filepath.Join(base, "etc", "master.cf"), []byte(mcf), 0o644); err != nil {
		return result{}, err
	}
	if err := os.WriteFile(filepath.Join(base, "etc", "vmailbox"),
		[]byte("user@bench.example bench.example/user/\n"), 0o644); err != nil {
		return result{}, err
	}
	etc := filepath.Join(base, "etc")
	pf := func(args ...string) error {
		cmd := exec.Command(c.postfix, append([]string{"-c", etc}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("postfix %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := pf("start"); err != nil {
		return result{}, err
	}
	defer pf("stop")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := benchutil.WaitSMTP(addr, 30*time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(base, "postfix.log"))
		return result{}, fmt.Errorf("%v; log:\n%s", err, log)
	}
	return load(c, addr, filepath.Join(base, "vmail", "bench.example", "user"), size, conc)
}
