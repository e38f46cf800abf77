package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/immptest"
)

// call sends a request to the server's API and returns the status and
// body; out, when not nil, receives the JSON.
func call(t testing.TB, srv *immptest.Server, method, path, body string, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusNoContent {
		var e struct {
			Error  string `json:"error"`
			Status int    `json:"status"`
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Status != resp.StatusCode || e.Error == "" {
			t.Fatalf("%s %s: error answer %d is not JSON {error, status}: %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, string(b)
}

func mustCall(t testing.TB, srv *immptest.Server, method, path, body string, want int, out any) string {
	t.Helper()
	st, b := call(t, srv, method, path, body, out)
	if st != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, st, b, want)
	}
	return b
}

type list struct {
	Total    int                `json:"total"`
	Start    int                `json:"start"`
	Messages []immptest.Message `json:"messages"`
}

func subjects(l list) string {
	var s []string
	for _, m := range l.Messages {
		s = append(s, m.Subject)
	}
	return strings.Join(s, ",")
}

func simple(from, to, subject, body string) string {
	return fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d@test>\r\n\r\n%s\r\n",
		from, to, subject, time.Now().Format(time.RFC1123Z), time.Now().UnixNano(), body)
}

// smtpTxn runs one transaction and returns the first error reply.
func smtpTxn(addr, from string, to []string, msg string) error {
	return immptest.SendMail(addr, from, to, msg)
}

// submit logs in on submission and sends.
func submit(addr, user, pass, from string, to []string, msg string) error {
	return immptest.SubmitMail(addr, user, pass, from, to, msg)
}

// sseReader reads Server-Sent Events.
type sseReader struct {
	br   *bufio.Reader
	body io.Closer
}

type sseEvent struct{ id, event, data string }

func (r *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	for {
		line, err := r.br.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if ev.event != "" || ev.data != "" {
				return ev, nil
			}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data += line[6:]
		}
	}
}

// openEvents opens the stream and returns once the server confirmed the
// subscription (its first comment line).
func openEvents(t testing.TB, srv *immptest.Server, query string) *sseReader {
	t.Helper()
	// A stream that never sends what a test waits for ends its next()
	// with an error after this, instead of hanging the test.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/events"+query, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := &sseReader{br: bufio.NewReader(resp.Body), body: resp.Body}
	line, err := r.br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, ": immp events") {
		t.Fatalf("first line %q, %v", line, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return r
}
