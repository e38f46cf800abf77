package integration

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// logSession drives every protocol once through real clients: SMTP
// refusals of several classes and a delivery (swaks), IMAP with a failed
// and a good login (curl), IMMP (the CLI), HTTP (a 404), then stops the
// server and returns its log.
func logSession(t *testing.T, format string) string {
	t.Helper()
	curl := needTool(t, "curl")
	sw := needTool(t, "swaks")
	s := startServer(t, serverOptions{extra: "[log]\nformat = \"" + format + "\"\n",
		tables: map[string]string{"smtp": "max_message_bytes = \"2KiB\"\n"}})
	s.addUser(t, "alice@example.org", "pw-alice")
	runAllowFail(t, sw, "--server", s.addrs["smtp"], "--from", "x@shop.test", "--to", "nobody@example.org", "--quit-after", "RCPT")
	runAllowFail(t, sw, "--server", s.addrs["smtp"], "--from", "x@shop.test", "--to", "alice@elsewhere.test", "--quit-after", "RCPT")
	runAllowFail(t, sw, "--server", s.addrs["smtp"], "--from", "x@shop.test", "--to", "alice@example.org", "--body", strings.Repeat("big ", 1024))
	runAllowFail(t, sw, "--server", s.addrs["submission"], "--from", "alice@example.org", "--to", "alice@example.org",
		"--auth", "PLAIN", "--auth-user", "alice@example.org", "--auth-password", "wrong")
	swaks(t, s.addrs["smtp"], "friend@good.test", "alice@example.org", "hello")
	runAllowFail(t, curl, "-s", "--user", "alice@example.org:wrong", "imap://"+s.addrs["imap"]+"/INBOX")
	run(t, "", curl, "-s", "--user", "alice@example.org:pw-alice", "imap://"+s.addrs["imap"]+"/INBOX;UID=1")
	if out, errOut, code := s.immp(t, "", []string{"IMMP_PASSWORD=pw-alice"}, "subinbox", "list", "-config", s.config, "-user", "alice"); code != 0 {
		t.Fatalf("subinbox list: %d\n%s%s", code, out, errOut)
	}
	runAllowFail(t, curl, "-s", "http://"+s.addrs["http"]+"/nothing-here")
	s.stop()
	return s.logs()
}

// logfmt parses one line of slog's text handler into its keys and values.
func logfmt(line string) (map[string]string, bool) {
	kv := map[string]string{}
	for line != "" {
		eq := strings.IndexByte(line, '=')
		if eq <= 0 {
			return nil, false
		}
		key, rest := line[:eq], line[eq+1:]
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := 1
			for end < len(rest) && rest[end] != '"' {
				if rest[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(rest) {
				return nil, false
			}
			v, err := strconv.Unquote(rest[:end+1])
			if err != nil {
				return nil, false
			}
			val, rest = v, rest[end+1:]
		} else {
			sp := strings.IndexByte(rest, ' ')
			if sp < 0 {
				sp = len(rest)
			}
			val, rest = rest[:sp], rest[sp:]
		}
		if _, dup := kv[key]; dup {
			return nil, false // a key twice: JSON would carry it twice too
		}
		kv[key] = val
		line = strings.TrimPrefix(rest, " ")
	}
	return kv, true
}

// connection lines and the keys each must carry (docs/logging.md).
var connLines = map[string][]string{
	"smtp rejected":    {"proto", "session", "remote", "cmd", "reason", "status", "reply"},
	"smtp transaction": {"proto", "session", "remote", "txn", "from", "rcpts", "size", "dur_ms", "outcome"},
	"imap command":     {"proto", "session", "remote", "cmd", "status", "dur_ms"},
	"immp command":     {"proto", "session", "remote", "cmd", "status", "dur_ms", "tag"},
	"http request":     {"proto", "session", "remote", "cmd", "path", "status", "dur_ms"},
}

// keySets collects, per message of connLines, the union of keys seen, and
// every SMTP refusal's reason.
func keySets(t *testing.T, lines []map[string]any) (map[string]map[string]bool, map[string]bool) {
	sets := map[string]map[string]bool{}
	reasons := map[string]bool{}
	for _, l := range lines {
		msg, _ := l["msg"].(string)
		if _, ok := connLines[msg]; !ok {
			continue
		}
		if sets[msg] == nil {
			sets[msg] = map[string]bool{}
		}
		for k := range l {
			sets[msg][k] = true
		}
		for _, k := range connLines[msg] {
			if _, ok := l[k]; !ok {
				t.Errorf("%q line without %s: %v", msg, k, l)
			}
		}
		if msg == "smtp rejected" {
			reasons[l["reason"].(string)] = true
		}
	}
	return sets, reasons
}

// TestLogKeysSameInTextAndJSON: the same session logged as JSON and as
// text gives the same keys for every kind of connection line, each with
// the keys of docs/logging.md, and only keys that it documents; the JSON
// log is JSON from its first line (no banner), the text one has the banner.
func TestLogKeysSameInTextAndJSON(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/logging.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| ([^|]+) \\|").FindAllStringSubmatch(string(doc), -1) {
		for _, k := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(m[1], -1) {
			documented[k[1]] = true
		}
	}

	var jsonLines, textLines []map[string]any
	jsonLog := logSession(t, "json")
	for _, line := range strings.Split(strings.TrimSpace(jsonLog), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("a line of the JSON log is not JSON: %q", line)
		}
		jsonLines = append(jsonLines, m)
	}
	textLog := logSession(t, "text")
	banner := 0
	for _, line := range strings.Split(strings.TrimSpace(textLog), "\n") {
		if !strings.HasPrefix(line, "time=") {
			banner++
			continue
		}
		kv, ok := logfmt(line)
		if !ok {
			t.Fatalf("cannot parse text log line %q", line)
		}
		m := map[string]any{}
		for k, v := range kv {
			m[k] = v
		}
		textLines = append(textLines, m)
	}
	if banner == 0 {
		t.Errorf("no banner in the text log:\n%s", textLog)
	}
	js, jsReasons := keySets(t, jsonLines)
	tx, txReasons := keySets(t, textLines)
	for msg := range connLines {
		if js[msg] == nil {
			t.Errorf("no %q line in the JSON log", msg)
			continue
		}
		a, b := sorted(js[msg]), sorted(tx[msg])
		if strings.Join(a, " ") != strings.Join(b, " ") {
			t.Errorf("%q keys differ:\njson: %v\ntext: %v", msg, a, b)
		}
		for _, k := range a {
			if !documented[k] {
				t.Errorf("%q has key %s, which docs/logging.md does not document", msg, k)
			}
		}
	}
	for _, r := range []string{"no_such_user", "relay", "size", "auth"} {
		if !jsReasons[r] || !txReasons[r] {
			t.Errorf("no refusal with reason=%s (json %v, text %v)", r, jsReasons, txReasons)
		}
	}
}

func sorted(set map[string]bool) []string {
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestServeBanner: serve prints one banner with its bound addresses, data
// directory, accounts mode and HTTP URL.
func TestServeBanner(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	// stderr reaches the buffer through a pipe: wait for the line logged
	// after the banner.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.logs(), "immp ready") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	log := s.logs()
	want := []string{
		" serving example.org as mx.test (config: " + s.config + ")\n",
		"  smtp        " + s.addrs["smtp"] + "\n",
		"  submission  " + s.addrs["submission"] + "\n",
		"  imap        " + s.addrs["imap"] + "\n",
		"  immp        " + s.addrs["immp"] + "\n",
		"  http        http://" + s.addrs["http"] + "/  (/healthz, /readyz, /metrics)\n",
		"  data        " + s.dataDir + "\n",
		"  accounts    only those made with \"immp user add ADDRESS\" (run as this user)\n",
	}
	for _, w := range want {
		if strings.Count(log, w) != 1 {
			t.Errorf("the banner lacks %q (or has it twice):\n%s", w, log)
		}
	}
	if strings.Contains(log, "web UI") {
		t.Errorf("a web UI is announced where it is off:\n%s", log)
	}
	// With the test-bed profile on, the web UI is served and announced.
	tb := startServer(t, serverOptions{extra: "[testbed]\nenabled = true\n"})
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(tb.logs(), "immp ready") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if w := "  web UI      http://" + tb.addrs["http"] + "/  (HTTP API under /api/v1/)\n"; !strings.Contains(tb.logs(), w) {
		t.Errorf("the test-bed banner lacks %q:\n%s", w, tb.logs())
	}
}
