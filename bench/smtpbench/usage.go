package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// usage is what a run cost the machine, besides time: CPU of the whole
// machine (the server, smtp-source and the kernel's own threads: the
// load is the same for both servers, so the difference is the server's),
// and the requests the device holding the run directory completed. They
// vary far less between runs on a noisy machine than the rates do.
type usage struct {
	busy, total uint64 // jiffies from /proc/stat
	writes      uint64 // write requests completed (/sys/dev/block/M:m/stat)
	flushes     uint64 // cache flushes completed
	devOK       bool
}

// readUsage samples the counters; dir names a path on the device to count.
func readUsage(dir string) usage {
	var u usage
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		for i, v := range f[1:] {
			n, _ := strconv.ParseUint(v, 10, 64)
			if i >= 8 { // guest and guest_nice are already in user and nice
				break
			}
			u.total += n
			if i != 3 && i != 4 { // idle, iowait
				u.busy += n
			}
		}
	}
	var st unix.Stat_t
	for unix.Stat(dir, &st) != nil { // the Maildir may not exist yet
		parent := filepath.Dir(dir)
		if parent == dir {
			return u
		}
		dir = parent
	}
	b, err := os.ReadFile(fmt.Sprintf("/sys/dev/block/%d:%d/stat", unix.Major(st.Dev), unix.Minor(st.Dev)))
	if err != nil {
		return u
	}
	f := strings.Fields(string(b))
	if len(f) >= 17 { // Documentation/block/stat.rst: field 5 writes, 16 flushes
		u.writes, _ = strconv.ParseUint(f[4], 10, 64)
		u.flushes, _ = strconv.ParseUint(f[15], 10, 64)
		u.devOK = true
	}
	return u
}

// perMessage is the cost of n messages between two samples: CPU
// milliseconds of the whole machine, device writes and flushes.
type perMessage struct{ cpuMs, writes, flushes float64 }

func (u usage) since(before usage, n int) perMessage {
	hz := 100.0 // USER_HZ, what /proc/stat counts in on Linux
	p := perMessage{cpuMs: float64(u.busy-before.busy) / hz * 1000 / float64(n)}
	if u.devOK && before.devOK {
		p.writes = float64(u.writes-before.writes) / float64(n)
		p.flushes = float64(u.flushes-before.flushes) / float64(n)
	}
	return p
}

func (p perMessage) String() string {
	return fmt.Sprintf("%.2f ms CPU, %.1f writes, %.2f flushes per message", p.cpuMs, p.writes, p.flushes)
}
