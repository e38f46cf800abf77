package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/immp-mail/immp/outbound"
)

const queueUsage = `Usage (flag: -config FILE):
  immp queue list [-config FILE]          queued messages: ID, age, size, sender, recipients and their state
  immp queue show [-config FILE] ID       one message: envelope, each recipient's last reply, the message
  immp queue flush [-config FILE]         try every queued message now
  immp queue delete [-config FILE] ID     remove a message without a bounce

The queue is <data_dir>/queue. These work while the server runs: list and
show read the files, which it replaces atomically; flush and delete leave
a request in <data_dir>/queue/ctl that the running server carries out
within a second (without a running server they change the files).
`

func cmdQueue(e cliEnv, args []string) int {
	verb, rest, code, done := subVerb(e, "queue", queueUsage, args, []string{"list", "show", "flush", "delete"})
	if done {
		return code
	}
	synopsis := map[string]string{
		"list": "immp queue list [-config FILE]", "show": "immp queue show [-config FILE] ID",
		"flush": "immp queue flush [-config FILE]", "delete": "immp queue delete [-config FILE] ID",
	}[verb]
	fs := newFlags(e, "queue "+verb, synopsis)
	cfgPath := configFlag(e, fs)
	if code, done := parseFlags(e, fs, rest); done {
		return code
	}
	wantArgs := 0
	if verb == "show" || verb == "delete" {
		wantArgs = 1
	}
	if fs.NArg() != wantArgs {
		return e.usageError(fs, "queue %s takes %d argument(s), got %d", verb, wantArgs, fs.NArg())
	}
	cfg, ok := loadConfig(e, *cfgPath)
	if !ok {
		return exitUsage
	}
	dir := filepath.Join(cfg.DataDir, "queue")
	switch verb {
	case "list":
		ents, err := outbound.List(dir)
		if err != nil {
			e.errorf("queue list: %v", err)
			return exitFail
		}
		if len(ents) == 0 {
			fmt.Fprintln(e.stdout, "queue is empty")
			return exitOK
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tAGE\tSIZE\tSENDER\tRECIPIENTS")
		for _, m := range ents {
			var rs []string
			for _, r := range m.Rcpts {
				rs = append(rs, r.Addr+" ("+r.Status+")")
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t<%s>\t%s\n", m.ID, time.Since(m.Created).Round(time.Second), m.Size, m.Sender, strings.Join(rs, ", "))
		}
		tw.Flush()
		fmt.Fprintf(e.stdout, "%d message(s)\n", len(ents))
	case "show":
		m, msg, err := outbound.Show(dir, fs.Arg(0))
		if errors.Is(err, outbound.ErrNotFound) {
			e.errorf("queue show: no queued message %q (see \"immp queue list\")", fs.Arg(0))
			return exitFail
		}
		if err != nil {
			e.errorf("queue show: %v", err)
			return exitFail
		}
		fmt.Fprintf(e.stdout, "id: %s\nsender: <%s>\nqueued: %s (%s ago)\nsize: %d\n", m.ID, m.Sender,
			m.Created.Format(time.RFC3339), time.Since(m.Created).Round(time.Second), m.Size)
		for _, r := range m.Rcpts {
			fmt.Fprintf(e.stdout, "recipient: <%s> %s attempts=%d", r.Addr, r.Status, r.Attempts)
			if !r.Next.IsZero() && r.Status == outbound.StatusQueued {
				fmt.Fprintf(e.stdout, " next=%s", r.Next.Format(time.RFC3339))
			}
			if r.LastReply != "" {
				fmt.Fprintf(e.stdout, " last=%s (%s)", r.LastHost, r.LastReply)
			}
			fmt.Fprintln(e.stdout)
		}
		fmt.Fprintln(e.stdout)
		e.stdout.Write(msg)
	case "flush":
		running, err := outbound.Flush(dir, 10*time.Second)
		if err != nil {
			e.errorf("queue flush: %v", err)
			return exitFail
		}
		if running {
			fmt.Fprintln(e.stdout, "flush requested: the server is trying every queued message now")
		} else {
			fmt.Fprintln(e.stdout, "no server running: every queued message will be tried when it starts")
		}
	case "delete":
		_, err := outbound.Delete(dir, fs.Arg(0), 10*time.Second)
		if errors.Is(err, outbound.ErrNotFound) {
			e.errorf("queue delete: no queued message %q (see \"immp queue list\")", fs.Arg(0))
			return exitFail
		}
		if err != nil {
			e.errorf("queue delete: %v", err)
			return exitFail
		}
		fmt.Fprintf(e.stdout, "deleted %s\n", fs.Arg(0))
	}
	return exitOK
}
