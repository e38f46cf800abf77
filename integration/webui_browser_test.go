package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-smtp"
)

// The web interface (package webui) in a real headless browser against the
// built binary: Debian's chromium driven over the DevTools protocol. Every
// test starts its own immp (test-bed profile) and its own browser.
//
// IMMP_WEBUI_SCREENSHOTS=DIR saves a PNG of each view there, for a person
// to look at.

// uiServer starts immp with the test-bed profile, which turns the
// HTTP API and the web interface on.
func uiServer(t *testing.T) *server {
	return startServer(t, serverOptions{autoCreate: true, extra: "[testbed]\nenabled = true\ncapture = true\n"})
}

// browser is one headless chromium with one tab.
type uiBrowser struct {
	t   *testing.T
	ctx context.Context // the tab
}

// newUIBrowser starts a private chromium (fresh profile, nothing fetched
// from outside: the flags turn off every background request) with a
// window of w x h CSS pixels.
func newUIBrowser(t *testing.T, w, h int) *uiBrowser {
	t.Helper()
	bin := needTool(t, "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox, // as root the renderer sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), // small /dev/shm in containers
		chromedp.WindowSize(w, h),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); acancel() })
	// The first Do starts the browser; no timeout on it, or the timeout
	// would end the browser (chromedp binds the browser to that context).
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(w), int64(h))); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return &uiBrowser{t: t, ctx: ctx}
}

// do runs steps with a bound on the time they may take.
func (b *uiBrowser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression in the page (awaiting a promise).
func uiEval[T any](b *uiBrowser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor polls a boolean expression in ctx until it is true.
func uiWaitFor(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := chromedp.Run(c, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	state, _ := chromedp.Run(c, chromedp.Evaluate[string](uiPageState))
	t.Fatalf("timed out waiting for %s (%s; last error %v); page: %s", what, expr, last, state)
}

// uiPageState sums up the page for a failure message.
const uiPageState = `JSON.stringify({
	focus: document.activeElement && (document.activeElement.id || document.activeElement.tagName),
	search: document.getElementById("search")?.value,
	list: [...document.querySelectorAll("#list .item")].map(e => (e.getAttribute("aria-selected") === "true" ? "*" : "") + e.querySelector(".subj").textContent),
	count: document.getElementById("count")?.textContent,
	view: document.getElementById("v-subject")?.textContent,
	toast: document.getElementById("toast")?.textContent,
	body: document.body.className,
})`

func (b *uiBrowser) waitFor(what, expr string) { b.t.Helper(); uiWaitFor(b.t, b.ctx, what, expr) }

// keys sends key presses to whatever has the focus, as a person would.
func (b *uiBrowser) keys(k string) { b.t.Helper(); b.do(chromedp.KeyEvent(k)) }

func (b *uiBrowser) screenshot(name string) {
	dir := os.Getenv("IMMP_WEBUI_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// frameWait evaluates expr inside the message's HTML frame. The frame is
// sandboxed without allow-same-origin, so the page's own script cannot
// reach into it and Chrome runs it as a separate "iframe" target: attach
// to it. It polls until expr is true in some srcdoc frame.
func (b *uiBrowser) frameWait(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		infos, err := chromedp.Targets(b.ctx)
		if err != nil {
			b.t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type != "iframe" || info.URL != "about:srcdoc" {
				continue
			}
			fctx, fcancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel())
			c, cancel := context.WithTimeout(fctx, 3*time.Second)
			ok, err := chromedp.Run(c, chromedp.Evaluate[bool](expr))
			cancel()
			fcancel()
			if err == nil && ok {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("timed out waiting in the HTML frame for %s (%s)", what, expr)
}

// hits counts the requests a loopback web server got, by path: the
// "remote" server that a message's images and scripts point at.
type uiHits struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *uiHits) get(p string) int { h.mu.Lock(); defer h.mu.Unlock(); return h.n[p] }

func uiRemote(t *testing.T) (*httptest.Server, *uiHits) {
	h := &uiHits{n: map[string]int{}}
	// A 1x1 transparent GIF.
	gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.n[r.URL.Path]++
		h.mu.Unlock()
		w.Header().Set("Content-Type", "image/gif")
		w.Write(gif)
	}))
	t.Cleanup(srv.Close)
	return srv, h
}

// uiSend sends one message over SMTP to the server's Receiver-SMTP.
func uiSend(t *testing.T, s *server, rcpt, msg string) {
	t.Helper()
	c, err := smtp.Dial(s.addrs["smtp"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("shop@sender.test", []string{rcpt}, strings.NewReader(msg)); err != nil {
		t.Fatalf("sending to %s: %v", rcpt, err)
	}
	c.Quit()
}

// uiMessage is multipart/mixed: a text and an HTML alternative, and a
// text attachment and an inline image. The HTML shows the inline image
// (cid:), refers to remote's pixel and tries script three ways; none of
// them may reach remote.
func uiMessage(to, subject, remote string) string {
	return "From: Shop Robot <shop@sender.test>\r\n" +
		"To: " + to + "\r\n" +
		"Subject: " + subject + "\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=outer\r\n\r\n" +
		"--outer\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n" +
		"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Plain text body of " + subject + ".\r\n" +
		"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
		"<html><head><style>p{color:#246}</style></head><body>" +
		`<p id="greeting">Hello from <b>HTML</b></p>` +
		`<img id="pixel" src="` + remote + `/pixel.gif" alt="tracker">` +
		`<img id="inline" src="cid:logo@sender.test" alt="logo">` +
		`<script>fetch("` + remote + `/script")</script>` +
		`<img src="x" onerror="fetch('` + remote + `/onerror')">` +
		`<a id="jslink" href="javascript:fetch('` + remote + `/js')">click</a>` +
		"</body></html>\r\n" +
		"--alt--\r\n" +
		"--outer\r\nContent-Type: text/plain; name=report.txt\r\nContent-Disposition: attachment; filename=report.txt\r\n\r\n" +
		"attachment body\r\n" +
		"--outer\r\nContent-Type: image/png\r\nContent-ID: <logo@sender.test>\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		inlinePNG + "\r\n" +
		"--outer--\r\n"
}

// inlinePNG is a 16x16 PNG, base64: the message's inline (cid:) image.
const inlinePNG = "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAFklEQVR4nGO4YGBAEmIY1TCqYfhqAAA+XjAQexaBIwAAAABJRU5ErkJggg=="

// uiAPIList is GET /api/v1/messages over plain HTTP (not through the page).
func uiAPIList(t *testing.T, s *server) (total int, subjects []string) {
	t.Helper()
	resp, err := httpClient.Get("http://" + s.addrs["http"] + "/api/v1/messages")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Total    int `json:"total"`
		Messages []struct {
			Subject string `json:"subject"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	for _, m := range v.Messages {
		subjects = append(subjects, m.Subject)
	}
	return v.Total, subjects
}

func uiAPIStatus(t *testing.T, s *server, path string) int {
	t.Helper()
	resp, err := httpClient.Get("http://" + s.addrs["http"] + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// uiListHas is a page expression: the message list shows subject.
func uiListHas(subject string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#list .subj")].some(e => e.textContent === %q)`, subject)
}

// visible is a page expression: the element is laid out and shown.
func uiVisible(sel string) string {
	return fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; const r = e.getBoundingClientRect(); return getComputedStyle(e).display !== "none" && r.width > 0 && r.height > 0; })()`, sel)
}
