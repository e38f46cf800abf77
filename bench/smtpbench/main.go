// Command smtpbench measures how fast the built immp binary accepts and
// durably files mail, and how fast Postfix does the same on the same
// machine under the same load.
//
// Load: Postfix's smtp-source, N messages of a given payload size to one
// local mailbox, at several concurrencies (sessions in parallel). The clock
// runs from the start of smtp-source until N messages are present in the
// recipient's Maildir (new/ and cur/): for immp a 250 already means
// durable, for Postfix a 250 means queued, and its virtual delivery agent
// then files the message; both are timed to the same point. Each cell is
// the median of several runs, each on a fresh data directory.
//
// Besides the rates it reports what each message cost, as medians: CPU
// time of the whole machine, and the write requests and cache flushes of
// the device that holds the run directories. On a shared machine these
// move far less from run to run than the rates do.
//
// The run directories are removed only when the whole benchmark is over
// (-keep keeps them): freeing thousands of files between runs would make
// the next run pay for it. On ext4 without a journal, for instance, a new
// inode skips every inode freed in the last one to six minutes, one at a
// time, so a run right after a removal of 5,000 files allocated inodes
// several times slower. -dir puts the runs on another file system (say a
// journaled one mounted for the purpose).
//
// immp runs as `immp serve -config FILE` with a generated config (loopback
// listener, domain bench.example, accounts created on delivery); -config
// gives a template instead, with {{DATA}} and {{ADDR}} replaced. Postfix runs
// as a private instance (its own config, queue and data directories in a
// temporary directory, loopback only, a free port, virtual(8) delivery to
// a Maildir); it needs root, as Postfix does.
//
// Usage:
//
//	go build -o /tmp/immp ./cmd/immp
//	go run ./bench/smtpbench -immp /tmp/immp [-n 5000] [-sizes 4096,65536] [-conc 1,8,32] [-runs 3] [-dir DIR] [-keep]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/immp-mail/immp/bench/internal/benchutil"
)

type config struct {
	immp, immpConfig, smtpSource, postfix string
	n, runs                               int
	sizes, conc                           []int
	timeout                               time.Duration
	keep, skipPostfix, skipImmp           bool
	dir                                   string    // where run directories go ("": the system's temporary directory)
	made                                  *[]string // run directories, removed at the end
}

// runDir makes a fresh directory for one run, removed at exit.
func (c config) runDir(prefix string) (string, error) {
	dir, err := os.MkdirTemp(c.dir, prefix)
	if err == nil {
		*c.made = append(*c.made, dir)
	}
	return dir, err
}

// cleanup removes the run directories (unless -keep).
func (c config) cleanup() {
	if c.keep {
		if len(*c.made) > 0 {
			fmt.Fprintf(os.Stderr, "kept %d run directories in %s\n", len(*c.made), filepath.Dir((*c.made)[0]))
		}
		return
	}
	for _, d := range *c.made {
		os.RemoveAll(d)
	}
	*c.made = nil
}

func main() {
	var c config
	var sizes, conc string
	flag.StringVar(&c.immp, "immp", "", "path of the built immp binary (required unless -skip-immp)")
	flag.StringVar(&c.immpConfig, "config", "", "immp config template ({{DATA}}, {{ADDR}} replaced); default: generated")
	flag.StringVar(&c.smtpSource, "smtp-source", "/usr/sbin/smtp-source", "Postfix's smtp-source")
	flag.StringVar(&c.postfix, "postfix", "/usr/sbin/postfix", "Postfix's postfix command")
	flag.IntVar(&c.n, "n", 5000, "messages per run")
	flag.IntVar(&c.runs, "runs", 3, "runs per cell (the median is reported)")
	flag.StringVar(&sizes, "sizes", "4096,65536", "payload sizes in bytes")
	flag.StringVar(&conc, "conc", "1,8,32", "concurrencies (parallel SMTP sessions)")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Minute, "give up on one run after this long")
	flag.BoolVar(&c.keep, "keep", false, "keep the run directories")
	flag.StringVar(&c.dir, "dir", "", "make the run directories here (default: the system's temporary directory)")
	flag.BoolVar(&c.skipPostfix, "skip-postfix", false, "measure immp only")
	flag.BoolVar(&c.skipImmp, "skip-immp", false, "measure Postfix only")
	flag.Parse()
	c.made = new([]string)
	defer c.cleanup()
	var err error
	if c.sizes, err = ints(sizes); err != nil {
		fatal(err)
	}
	if c.conc, err = ints(conc); err != nil {
		fatal(err)
	}
	if c.immp == "" && !c.skipImmp {
		fatal(errors.New("-immp is required"))
	}
	if _, err := exec.LookPath(c.smtpSource); err != nil {
		fatal(fmt.Errorf("smtp-source not found (Debian package postfix): %w", err))
	}
	type cell struct{ immp, postfix []result }
	results := map[[2]int]*cell{}
	for _, size := range c.sizes {
		for _, cc := range c.conc {
			r := &cell{}
			results[[2]int{size, cc}] = r
			servers := []struct {
				name string
				skip bool
				run  func(config, int, int) (result, error)
				out  *[]result
			}{
				{"immp", c.skipImmp, runImmp, &r.immp},
				{"postfix", c.skipPostfix, runPostfix, &r.postfix},
			}
			for run := 0; run < c.runs; run++ {
				for _, sv := range servers {
					if sv.skip {
						continue
					}
					res, err := sv.run(c, size, cc)
					if err != nil {
						c.cleanup()
						fatal(fmt.Errorf("%s size=%d c=%d: %w", sv.name, size, cc, err))
					}
					*sv.out = append(*sv.out, res)
					fmt.Fprintf(os.Stderr, "%-7s size=%-6d c=%-3d run %d: %8.1f msg/s (%v)\n", sv.name, size, cc, run+1, res.rate, res.cost)
				}
			}
		}
	}
	fmt.Printf("messages per run: %d; median of %d runs; msg/s until all are in the Maildir\n\n", c.n, c.runs)
	fmt.Println("| payload | concurrency | immp msg/s | Postfix msg/s | immp / Postfix |")
	fmt.Println("|--------:|------------:|-----------:|--------------:|---------------:|")
	for _, size := range c.sizes {
		for _, cc := range c.conc {
			r := results[[2]int{size, cc}]
			im, pf := medianOf(r.immp, rate), medianOf(r.postfix, rate)
			ratio := "-"
			if pf > 0 && im > 0 {
				ratio = fmt.Sprintf("%.2fx", im/pf)
			}
			fmt.Printf("| %d KB | %d | %.1f | %.1f | %s |\n", size/1024, cc, im, pf, ratio)
		}
	}
	fmt.Println("\nPer message, medians: CPU of the whole machine (ms), and the data device's write requests and cache flushes")
	fmt.Println()
	fmt.Println("| payload | concurrency | immp CPU | Postfix CPU | immp writes | Postfix writes | immp flushes | Postfix flushes |")
	fmt.Println("|--------:|------------:|---------:|------------:|------------:|---------------:|-------------:|----------------:|")
	for _, size := range c.sizes {
		for _, cc := range c.conc {
			r := results[[2]int{size, cc}]
			fmt.Printf("| %d KB | %d | %.2f | %.2f | %.1f | %.1f | %.2f | %.2f |\n", size/1024, cc,
				medianOf(r.immp, cpuMs), medianOf(r.postfix, cpuMs),
				medianOf(r.immp, writes), medianOf(r.postfix, writes),
				medianOf(r.immp, flushes), medianOf(r.postfix, flushes))
		}
	}
}

func rate(r result) float64    { return r.rate }
func cpuMs(r result) float64   { return r.cost.cpuMs }
func writes(r result) float64  { return r.cost.writes }
func flushes(r result) float64 { return r.cost.flushes }

// medianOf is the median of one figure over the runs.
func medianOf(rs []result, f func(result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return benchutil.Median(v)
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "smtpbench:", err)
	os.Exit(1)
}

// count returns how many messages are in a Maildir (new/ and cur/).
func count(maildir string) int {
	n := 0
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(maildir, sub))
		if err == nil {
			n += len(ents)
		}
	}
	return n
}

// load runs smtp-source against addr and waits until want messages are
// in maildir; it returns messages per second.
func load(c config, addr, maildir string, size, conc int) (result, error) {
	args := []string{"-s", strconv.Itoa(conc), "-m", strconv.Itoa(c.n), "-l", strconv.Itoa(size),
		"-f", "sender@source.example", "-t", "user@bench.example", "-M", "source.example", addr}
	before := readUsage(maildir)
	start := time.Now()
	cmd := exec.Command(c.smtpSource, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("smtp-source %s: %v: %s", strings.Join(args, " "), err, out)
	}
	deadline := start.Add(c.timeout)
	for count(maildir) < c.n {
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("only %d of %d messages in %s after %v", count(maildir), c.n, maildir, c.timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	el := time.Since(start)
	cost := readUsage(maildir).since(before, c.n)
	if got := count(maildir); got != c.n {
		return result{}, fmt.Errorf("%d messages in the Maildir, sent %d", got, c.n)
	}
	return result{rate: float64(c.n) / el.Seconds(), cost: cost}, nil
}

// result is one run: messages per second and what each cost.
type result struct {
	rate float64
	cost perMessage
}

const immpConfig = `hostname = "bench.localhost"
data_dir = "{{DATA}}"
domains = ["bench.example"]

[smtp]
listen = "{{ADDR}}"

[accounts]
auto_create = true
`

func runImmp(c config, size, conc int) (result, error) {
	dir, err := c.runDir("smtpbench-immp-")
	if err != nil {
		return result{}, err
	}
	port, err := benchutil.FreePort()
	if err != nil {
		return result{}, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	tmpl := immpConfig
	if c.immpConfig != "" {
		b, err := os.ReadFile(c.immpConfig)
		if err != nil {
			return result{}, err
		}
		tmpl = string(b)
	}
	data := filepath.Join(dir, "data")
	cfg := strings.NewReplacer("{{DATA}}", data, "{{ADDR}}", addr).Replace(tmpl)
	cfgFile := filepath.Join(dir, "immp.toml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		return result{}, err
	}
	logf, err := os.Create(filepath.Join(dir, "immp.log"))
	if err != nil {
		return result{}, err
	}
	defer logf.Close()
	cmd := exec.Command(c.immp, "serve", "-config", cfgFile)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()
	if err := benchutil.WaitSMTP(addr, 30*time.Second); err != nil {
		b, _ := os.ReadFile(logf.Name())
		return result{}, fmt.Errorf("%v; immp log:\n%s", err, b)
	}
	maildir := filepath.Join(data, "mail", "bench.example", "user", "Maildir")
	return load(c, addr, maildir, size, conc)
}
