// Command outbound measures how fast the built immp binary relays mail:
// messages per second from submission (smtp-source into immp's port 25,
// from a trusted network) to arrival at Postfix's smtp-sink, with
// [outbound] relay pointing at the sink; and, in the same run, the same
// load through a private Postfix whose relayhost is the same sink.
//
// Each run sends N messages of SIZE octets over CONC sessions; the clock
// runs from the start of smtp-source until the sink has counted N more
// messages (smtp-sink -c). Runs alternate between immp and Postfix, each
// on the instance started once at the beginning (fresh queues, both
// empty between runs); the report is the median of each and their ratio.
//
// Both hold the messages durably before answering 250 (immp fsyncs its
// queue file and directory; Postfix its queue file) and both relay with
// up to 20 connections to the next hop (Postfix's
// default_destination_concurrency_limit; immp's max_conns_per_domain set
// to the same), reusing connections.
//
// Usage (as root: Postfix and smtp-sink need it):
//
//	go build -o ./immp ./cmd/immp
//	go run ./bench/outbound -immp ./immp [-n 2000] [-size 4096] [-conc 16] [-runs 3]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/immp-mail/immp/bench/internal/benchutil"
)

func main() {
	immp := flag.String("immp", "", "the immp binary to run (required)")
	n := flag.Int("n", 2000, "messages per run")
	size := flag.Int("size", 4096, "message size in octets")
	conc := flag.Int("conc", 16, "smtp-source sessions in parallel")
	runs := flag.Int("runs", 3, "runs of each")
	keep := flag.Bool("keep", false, "keep the run directory")
	flag.Parse()
	if *immp == "" {
		fatal(fmt.Errorf("-immp is required"))
	}
	base, err := os.MkdirTemp("", "outbound-bench-")
	if err != nil {
		fatal(err)
	}
	os.Chmod(base, 0o755)
	var cleanups []func()
	done := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		if !*keep {
			os.RemoveAll(base)
		}
	}
	fail := func(err error) { done(); fatal(err) }

	sink, err := startSink()
	if err != nil {
		fail(err)
	}
	cleanups = append(cleanups, sink.stop)
	immpAddr, stopImmp, err := startImmp(*immp, base, sink.addr)
	if err != nil {
		fail(err)
	}
	cleanups = append(cleanups, stopImmp)
	pfAddr, stopPostfix, err := startPostfix(base, sink.addr)
	if err != nil {
		fail(err)
	}
	cleanups = append(cleanups, stopPostfix)

	var ri, rp []float64
	for r := 0; r < *runs; r++ {
		for _, target := range []struct {
			name, addr string
			out        *[]float64
		}{{"immp", immpAddr, &ri}, {"postfix", pfAddr, &rp}} {
			rate, err := load(sink, target.addr, *n, *size, *conc)
			if err != nil {
				fail(fmt.Errorf("%s: %w", target.name, err))
			}
			fmt.Printf("run %d %-7s %7.0f msg/s\n", r+1, target.name, rate)
			*target.out = append(*target.out, rate)
		}
	}
	mi, mp := benchutil.Median(ri), benchutil.Median(rp)
	fmt.Printf("\nsubmission -> smtp-sink, n=%d size=%d conc=%d, median of %d runs:\n", *n, *size, *conc, *runs)
	fmt.Printf("  immp     %7.0f msg/s\n  postfix  %7.0f msg/s\n  ratio immp/postfix %.2f\n", mi, mp, mi/mp)
	done()
}

// sink is smtp-sink -c, whose counters are read from its output.
type sink struct {
	addr string
	cmd  *exec.Cmd
	mu   sync.Mutex
	mesg int
}

func startSink() (*sink, error) {
	bin, err := exec.LookPath("smtp-sink")
	if err != nil {
		bin = "/usr/sbin/smtp-sink"
	}
	port, err := benchutil.FreePort()
	if err != nil {
		return nil, err
	}
	s := &sink{addr: fmt.Sprintf("127.0.0.1:%d", port)}
	s.cmd = exec.Command(bin, "-c", "-u", "nobody", s.addr, "1024")
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go s.read(out)
	return s, benchutil.WaitSMTP(s.addr, 10*time.Second)
}

// read follows "sess=N quit=N mesg=N" records, separated by CR.
func (s *sink) read(r io.Reader) {
	br := bufio.NewReader(r)
	for {
		rec, err := br.ReadString('\r')
		if i := strings.Index(rec, "mesg="); i >= 0 {
			if v, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(rec[i+5:], "\r"))); err == nil {
				s.mu.Lock()
				s.mesg = v
				s.mu.Unlock()
			}
		}
		if err != nil {
			return
		}
	}
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mesg
}

func (s *sink) stop() { s.cmd.Process.Kill(); s.cmd.Wait() }

// load runs smtp-source against addr and waits for n more messages at
// the sink; it returns messages per second.
func load(s *sink, addr string, n, size, conc int) (float64, error) {
	src, err := exec.LookPath("smtp-source")
	if err != nil {
		src = "/usr/sbin/smtp-source"
	}
	before := s.count()
	args := []string{"-s", strconv.Itoa(conc), "-m", strconv.Itoa(n), "-l", strconv.Itoa(size),
		"-f", "sender@bench.local", "-t", "user@remote.example", "-M", "bench.local", addr}
	start := time.Now()
	if out, err := exec.Command(src, args...).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("smtp-source %s: %v: %s", strings.Join(args, " "), err, out)
	}
	deadline := start.Add(5 * time.Minute)
	for s.count() < before+n {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("only %d of %d messages at the sink after 5m", s.count()-before, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

const immpConfig = `hostname = "bench.localhost"
data_dir = %q
domains = ["bench.local"]

[smtp]
listen = %q
trusted_networks = ["127.0.0.0/8"]

[outbound]
enabled = true
relay = %q
max_conns_per_domain = 20
`

func startImmp(bin, base, sinkAddr string) (string, func(), error) {
	port, err := benchutil.FreePort()
	if err != nil {
		return "", nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dir := filepath.Join(base, "immp")
	os.MkdirAll(dir, 0o700)
	cfg := filepath.Join(dir, "immp.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(immpConfig, filepath.Join(dir, "data"), addr, sinkAddr)), 0o600); err != nil {
		return "", nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "immp.log"))
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "serve", "-config", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { cmd.Process.Signal(os.Interrupt); cmd.Wait(); logf.Close() }
	if err := benchutil.WaitSMTP(addr, 30*time.Second); err != nil {
		stop()
		return "", nil, err
	}
	return addr, stop, nil
}

const postfixMain = `compatibility_level = 3.6
queue_directory = {{BASE}}/queue
data_directory = {{BASE}}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.bench.localhost
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
relayhost = [{{SINKHOST}}]:{{SINKPORT}}
smtp_tls_security_level = none
smtp_dns_support_level = disabled
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
alias_maps =
alias_database =
biff = no
maillog_file_prefixes = {{BASE}}
maillog_file = {{BASE}}/postfix.log
`

func startPostfix(base, sinkAddr string) (string, func(), error) {
	bin, err := exec.LookPath("postfix")
	if err != nil {
		bin = "/usr/sbin/postfix"
	}
	dir := filepath.Join(base, "postfix")
	for _, d := range []string{"etc", "queue", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return "", nil, err
		}
	}
	os.Chmod(base, 0o755)
	if u, err := user.Lookup("postfix"); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		os.Chown(filepath.Join(dir, "data"), uid, gid)
	}
	port, err := benchutil.FreePort()
	if err != nil {
		return "", nil, err
	}
	host, sport, _ := net.SplitHostPort(sinkAddr)
	main := strings.NewReplacer("{{BASE}}", dir, "{{SINKHOST}}", host, "{{SINKPORT}}", sport).Replace(postfixMain)
	if err := os.WriteFile(filepath.Join(dir, "etc", "main.cf"), []byte(main), 0o644); err != nil {
		return "", nil, err
	}
	master, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		return "", nil, err
	}
	var lines []string
	for _, line := range strings.Split(string(master), "\n") {
		if strings.HasPrefix(line, "smtp ") && strings.Contains(line, "inet") {
			line = fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd", port)
		}
		lines = append(lines, line)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "master.cf"), []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		return "", nil, err
	}
	etc := filepath.Join(dir, "etc")
	if out, err := exec.Command(bin, "-c", etc, "start").CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("postfix start: %v: %s", err, out)
	}
	stop := func() { exec.Command(bin, "-c", etc, "stop").Run() }
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := benchutil.WaitSMTP(addr, 30*time.Second); err != nil {
		stop()
		return "", nil, err
	}
	return addr, stop, nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "outbound bench:", err)
	os.Exit(1)
}
