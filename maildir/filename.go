package maildir

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Maildir file names (cr.yp.to/proto/maildir.html, Dovecot 2.3):
//
//	<sec>.M<usec>P<pid>Q<n>.<host>,S=<size>,W=<vsize>[:2,<info>]
//
// The part before ":" is the base name, which dovecot-uidlist records.
// S= is the file's size, W= its size with CRLF line ends (what IMAP
// reports); info holds the flags: the system letters D F P R S T and then
// keyword letters a-z, each at most once, in ASCII order.

// systemFlags maps IMAP system flags to Maildir info letters (RFC 9051
// 2.3.2). 'P' (passed) has no IMAP flag; it is kept as found.
var systemFlags = []struct {
	flag   string
	letter byte
}{
	{`\Draft`, 'D'}, {`\Flagged`, 'F'}, {`\Answered`, 'R'}, {`\Seen`, 'S'}, {`\Deleted`, 'T'},
}

func flagLetter(flag string) (byte, bool) {
	for _, f := range systemFlags {
		if strings.EqualFold(f.flag, flag) {
			return f.letter, true
		}
	}
	return 0, false
}

// splitName splits a file name into base and info ("" if none).
func splitName(name string) (base, info string, hasInfo bool) {
	if i := strings.Index(name, ":2,"); i >= 0 {
		return name[:i], name[i+3:], true
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		return name[:i], "", false
	}
	return name, "", false
}

// sizesFromBase reads ",S=" and ",W=" from a base name; -1 when absent.
func sizesFromBase(base string) (psize, vsize int64) {
	psize, vsize = -1, -1
	for _, field := range strings.Split(base, ",")[1:] {
		if v, ok := strings.CutPrefix(field, "S="); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				psize = n
			}
		} else if v, ok := strings.CutPrefix(field, "W="); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				vsize = n
			}
		}
	}
	return psize, vsize
}

// normInfo sorts and de-duplicates info letters.
func normInfo(info string) string {
	b := []byte(info)
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	out := b[:0]
	for i, c := range b {
		if i > 0 && c == b[i-1] {
			continue
		}
		out = append(out, c)
	}
	return string(out)
}

func hasLetter(info string, c byte) bool { return strings.IndexByte(info, c) >= 0 }

// newBaseName returns a unique base name for a message of the given sizes.
func (s *Store) newBaseName(now time.Time, psize, vsize int64) string {
	n := s.seq.Add(1)
	return fmt.Sprintf("%d.M%dP%dQ%d.%s,S=%d,W=%d", now.Unix(), now.Nanosecond()/1000, s.pid, n, s.hostname, psize, vsize)
}

// maildirHostname returns the host name with "/" and ":" escaped as the
// Maildir specification asks ("\057", "\072"); "." too, so the base name
// keeps its three dot-separated parts.
func maildirHostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	r := strings.NewReplacer("/", `\057`, ":", `\072`, ",", `\054`, ".", `\056`)
	return r.Replace(h)
}
