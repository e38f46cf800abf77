package recovery

import (
	"bytes"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/immp-mail/immp/internal/syncbuf"
)

// TestHandler: a panicking handler is logged once at Error with its
// stack, its connection is dropped, and the server answers the next
// request.
func TestHandler(t *testing.T) {
	logs := &syncbuf.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("/boom", func(http.ResponseWriter, *http.Request) { panic("injected fault") })
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "fine") })
	srv := httptest.NewUnstartedServer(Handler(log, mux))
	var netLog bytes.Buffer
	srv.Config.ErrorLog = slogLogger(&netLog)
	srv.Start()
	defer srv.Close()

	if _, err := http.Get(srv.URL + "/boom"); err == nil {
		t.Error("a panicking handler got an answer; want the connection dropped")
	}
	resp, err := http.Get(srv.URL + "/ok")
	if err != nil {
		t.Fatalf("server down after a panic: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "fine" {
		t.Errorf("got %q", body)
	}
	out := logs.String()
	if strings.Count(out, `"level":"ERROR"`) != 1 || !strings.Contains(out, "injected fault") ||
		!strings.Contains(out, "recovery_test.go") {
		t.Errorf("want one Error record with the panic and its stack, got:\n%s", out)
	}
	if netLog.Len() != 0 {
		t.Errorf("net/http logged the panic again: %s", netLog.String())
	}
}

func slogLogger(w io.Writer) *log.Logger { return log.New(w, "", 0) }
