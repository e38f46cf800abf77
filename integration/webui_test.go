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
	"github.com/chromedp/chromedp/kb"
	"github.com/emersion/go-smtp"
)

// The web interface (package webui) in a real headless browser against the
// built binary: Debian's chromium driven over the DevTools protocol. Every
// test starts its own immp (test-bed profile) and its own browser.
//
// IMMP_WEBUI_SCREENSHOTS=DIR saves a PNG of each view there, for a person
// to look at.

// testbedServer starts immp with the test-bed profile, which turns the
// HTTP API and the web interface on.
func testbedServer(t *testing.T) *server {
	return startServer(t, serverOptions{autoCreate: true, extra: "[testbed]\nenabled = true\ncapture = true\n"})
}

// browser is one headless chromium with one tab.
type browser struct {
	t   *testing.T
	ctx context.Context // the tab
}

// newBrowser starts a private chromium (fresh profile, nothing fetched
// from outside: the flags turn off every background request) with a
// window of w x h CSS pixels.
func newBrowser(t *testing.T, w, h int) *browser {
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
	return &browser{t: t, ctx: ctx}
}

// do runs steps with a bound on the time they may take.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression in the page (awaiting a promise).
func eval[T any](b *browser, expr string) T {
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
func waitFor(t *testing.T, ctx context.Context, what, expr string) {
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
	state, _ := chromedp.Run(c, chromedp.Evaluate[string](pageState))
	t.Fatalf("timed out waiting for %s (%s; last error %v); page: %s", what, expr, last, state)
}

// pageState sums up the page for a failure message.
const pageState = `JSON.stringify({
	focus: document.activeElement && (document.activeElement.id || document.activeElement.tagName),
	search: document.getElementById("search")?.value,
	list: [...document.querySelectorAll("#list .item")].map(e => (e.getAttribute("aria-selected") === "true" ? "*" : "") + e.querySelector(".subj").textContent),
	count: document.getElementById("count")?.textContent,
	view: document.getElementById("v-subject")?.textContent,
	toast: document.getElementById("toast")?.textContent,
	body: document.body.className,
})`

func (b *browser) waitFor(what, expr string) { b.t.Helper(); waitFor(b.t, b.ctx, what, expr) }

// keys sends key presses to whatever has the focus, as a person would.
func (b *browser) keys(k string) { b.t.Helper(); b.do(chromedp.KeyEvent(k)) }

func (b *browser) screenshot(name string) {
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

// frameEval evaluates expr inside the message's HTML frame. The frame is
// sandboxed without allow-same-origin, so the page's own script cannot
// reach into it and Chrome runs it as a separate "iframe" target: attach
// to it. It polls until expr is true in some srcdoc frame.
func (b *browser) frameWait(what, expr string) {
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
type hits struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *hits) get(p string) int { h.mu.Lock(); defer h.mu.Unlock(); return h.n[p] }

func remoteServer(t *testing.T) (*httptest.Server, *hits) {
	h := &hits{n: map[string]int{}}
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

// sendMail sends one message over SMTP to the server's Receiver-SMTP.
func sendMail(t *testing.T, s *server, rcpt, msg string) {
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

// htmlMessage is multipart/mixed: a text and an HTML alternative, and a
// text attachment. The HTML refers to remote's pixel and tries script
// three ways; none of them may reach remote.
func htmlMessage(to, subject, remote string) string {
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
		`<script>fetch("` + remote + `/script")</script>` +
		`<img src="x" onerror="fetch('` + remote + `/onerror')">` +
		`<a id="jslink" href="javascript:fetch('` + remote + `/js')">click</a>` +
		"</body></html>\r\n" +
		"--alt--\r\n" +
		"--outer\r\nContent-Type: text/plain; name=report.txt\r\nContent-Disposition: attachment; filename=report.txt\r\n\r\n" +
		"attachment body\r\n" +
		"--outer--\r\n"
}

// apiList is GET /api/v1/messages over plain HTTP (not through the page).
func apiList(t *testing.T, s *server) (total int, subjects []string) {
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

func apiStatus(t *testing.T, s *server, path string) int {
	t.Helper()
	resp, err := httpClient.Get("http://" + s.addrs["http"] + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// listHas is a page expression: the message list shows subject.
func listHas(subject string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#list .subj")].some(e => e.textContent === %q)`, subject)
}

// visible is a page expression: the element is laid out and shown.
func visible(sel string) string {
	return fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; const r = e.getBoundingClientRect(); return getComputedStyle(e).display !== "none" && r.width > 0 && r.height > 0; })()`, sel)
}

// TestWebUI: open the page, see a message delivered over SMTP appear
// without a reload, open it (text, HTML in the sandboxed frame with its
// remote image not loaded until asked, headers, raw, attachment), delete
// it, and check over the API that it is gone.
func TestWebUI(t *testing.T) {
	s := testbedServer(t)
	remote, hit := remoteServer(t)
	b := newBrowser(t, 1280, 900)
	base := "http://" + s.addrs["http"] + "/"

	b.do(chromedp.Navigate(base))
	b.waitFor("the event stream to connect", `document.getElementById("live").classList.contains("on")`)
	b.waitFor("the empty list", visible("#empty"))
	// A marker that a reload would lose.
	b.do(chromedp.Evaluate[chromedp.Void](`window.immpTestMarker = 42`))

	const subject = "Order 1234 has shipped"
	sendMail(t, s, "alice@example.org", htmlMessage("alice@example.org", subject, remote.URL))
	b.waitFor("the new message in the list", listHas(subject))
	if eval[int](b, `window.immpTestMarker`) != 42 {
		t.Fatal("the page reloaded to show the message; it must update live")
	}
	b.waitFor("the account in the sidebar", `[...document.querySelectorAll("#accounts .node-name")].some(e => e.textContent === "alice@example.org")`)
	b.screenshot("desktop-list")

	id := eval[string](b, `document.querySelector("#list .item").dataset.id`)
	b.do(chromedp.Click(chromedp.CSS("#list .item")))
	b.waitFor("the message view", visible("#view")+` && document.getElementById("v-subject").textContent === `+fmt.Sprintf("%q", subject))
	if from := eval[string](b, `document.getElementById("v-from").textContent`); from != "Shop Robot <shop@sender.test>" {
		t.Errorf("From shows %q", from)
	}

	// The HTML part: rendered in the sandboxed frame, scripts stripped and
	// blocked, the remote image not fetched.
	if sb := eval[string](b, `document.getElementById("html-frame").getAttribute("sandbox")`); strings.Contains(sb, "allow-scripts") || strings.Contains(sb, "allow-same-origin") {
		t.Fatalf("frame sandbox %q lets the message run script or reach the page", sb)
	}
	b.waitFor("the HTML tab", visible("#html-frame")+` && document.getElementById("tab-html").getAttribute("aria-selected") === "true"`)
	b.frameWait("the HTML body to render", `document.getElementById("greeting")?.textContent === "Hello from HTML" && getComputedStyle(document.getElementById("greeting")).color === "rgb(34, 68, 102)"`)
	b.frameWait("the remote image to settle unloaded", `(() => { const i = document.getElementById("pixel"); return i && i.complete && i.naturalWidth === 0; })()`)
	b.frameWait("the script to be gone", `document.scripts.length === 0 && !document.querySelector("[onerror]") && !document.getElementById("jslink").hasAttribute("href")`)
	b.waitFor("the remote-image notice", visible("#remote-bar"))
	time.Sleep(300 * time.Millisecond)
	for _, p := range []string{"/pixel.gif", "/script", "/onerror", "/js"} {
		if n := hit.get(p); n != 0 {
			t.Errorf("the message's %s was fetched %d times with remote content blocked", p, n)
		}
	}
	b.screenshot("desktop-message")

	// Asked for, the remote image loads: the check above could see a load.
	b.do(chromedp.Click(chromedp.ID("remote-allow")))
	b.frameWait("the remote image to load", `(() => { const i = document.getElementById("pixel"); return i && i.complete && i.naturalWidth === 1; })()`)
	if hit.get("/pixel.gif") == 0 {
		t.Error("remote images allowed, but the pixel was not fetched")
	}
	if n := hit.get("/script") + hit.get("/onerror"); n != 0 {
		t.Errorf("script ran in the frame (%d requests)", n)
	}

	// Text, headers, raw source.
	b.do(chromedp.Click(chromedp.ID("tab-text")))
	b.waitFor("the text part", visible("#v-text")+fmt.Sprintf(` && document.getElementById("v-text").textContent.includes(%q)`, "Plain text body of "+subject))
	b.do(chromedp.Click(chromedp.ID("tab-headers")))
	b.waitFor("the headers", fmt.Sprintf(`[...document.querySelectorAll("#v-headers tr")].some(r => r.cells[0].textContent.toLowerCase() === "subject" && r.cells[1].textContent === %q)`, subject))
	b.do(chromedp.Click(chromedp.ID("tab-raw")))
	b.waitFor("the raw source", `document.getElementById("v-raw").textContent.includes("Content-Type: multipart/mixed; boundary=outer")`)

	// The attachment, downloaded from the link the page shows.
	if name := eval[string](b, `document.querySelector("#att-list a").textContent`); name != "report.txt" {
		t.Errorf("attachment link %q, want report.txt", name)
	}
	if body := eval[string](b, `fetch(document.querySelector("#att-list a").href).then(r => r.text())`); body != "attachment body" {
		t.Errorf("attachment downloads as %q", body)
	}

	// Delete, and it is gone from the page and from the API.
	b.do(chromedp.Click(chromedp.ID("delete-one")))
	b.waitFor("the message to leave the list", `!(`+listHas(subject)+`) && document.getElementById("count").textContent === "0 messages"`)
	if total, subjects := apiList(t, s); total != 0 {
		t.Errorf("after delete the API still lists %d: %q", total, subjects)
	}
	if code := apiStatus(t, s, "/api/v1/messages/"+id); code != http.StatusNotFound {
		t.Errorf("GET the deleted message: %d, want 404", code)
	}
	if eval[int](b, `window.immpTestMarker`) != 42 {
		t.Fatal("the page reloaded")
	}
}

// TestWebUIPhone: on a phone-sized screen the list and the message are
// separate views, nothing scrolls sideways, and the sidebar opens on
// demand.
func TestWebUIPhone(t *testing.T) {
	s := testbedServer(t)
	remote, _ := remoteServer(t)
	b := newBrowser(t, 390, 844)
	sendMail(t, s, "bob@example.org", htmlMessage("bob@example.org", "Phone check", remote.URL))
	b.do(chromedp.Navigate("http://" + s.addrs["http"] + "/"))
	b.waitFor("the message in the list", listHas("Phone check"))

	noSideScroll := `document.documentElement.scrollWidth <= window.innerWidth`
	if !eval[bool](b, visible("#list-pane")) || eval[bool](b, visible("#view-pane")) || eval[bool](b, visible("#nav")) {
		t.Fatal("on a phone the list view must show the list alone")
	}
	if !eval[bool](b, noSideScroll) {
		t.Errorf("the list view scrolls sideways: %d > %d", eval[int](b, `document.documentElement.scrollWidth`), eval[int](b, `window.innerWidth`))
	}
	b.screenshot("phone-list")

	b.do(chromedp.Click(chromedp.CSS("#list .item")))
	b.waitFor("the message view alone", visible("#view")+` && !(`+visible("#list-pane")+`) && `+visible("#back"))
	b.frameWait("the HTML body", `document.getElementById("greeting")?.textContent === "Hello from HTML"`)
	if !eval[bool](b, noSideScroll) {
		t.Errorf("the message view scrolls sideways")
	}
	if w := eval[float64](b, `document.getElementById("html-frame").getBoundingClientRect().right`); w > 390 {
		t.Errorf("the HTML frame reaches x=%v on a 390px screen", w)
	}
	b.screenshot("phone-message")

	b.do(chromedp.Click(chromedp.ID("back")))
	b.waitFor("the list again", visible("#list-pane")+` && !(`+visible("#view-pane")+`)`)
	b.do(chromedp.Click(chromedp.ID("nav-toggle")))
	b.waitFor("the sidebar", visible("#nav")+` && !(`+visible("#list-pane")+`) && document.getElementById("nav-toggle").getAttribute("aria-expanded") === "true"`)
	b.waitFor("the account in the sidebar", `[...document.querySelectorAll("#accounts .node-name")].some(e => e.textContent === "bob@example.org")`)
	b.screenshot("phone-nav")
	// Choosing an account goes back to its list.
	b.do(chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#accounts .node")].find(e => e.dataset.account === "bob@example.org" && !e.dataset.folder).click()`))
	b.waitFor("the account's list", visible("#list-pane")+` && document.getElementById("list-title").textContent === "bob@example.org" && `+listHas("Phone check"))
}

// TestWebUIKeyboard: everything on the main path with the keyboard alone:
// move with j/k, open with Enter, delete with Delete, search with /, and
// a visible focus all along.
func TestWebUIKeyboard(t *testing.T) {
	s := testbedServer(t)
	remote, _ := remoteServer(t)
	b := newBrowser(t, 1280, 900)
	for _, subj := range []string{"kbd one", "kbd two", "kbd three"} {
		sendMail(t, s, "carol@example.org", htmlMessage("carol@example.org", subj, remote.URL))
		time.Sleep(20 * time.Millisecond) // distinct arrival times: a stable newest-first order
	}
	b.do(chromedp.Navigate("http://" + s.addrs["http"] + "/"))
	b.waitFor("three messages", `document.querySelectorAll("#list .item").length === 3`)

	// ARIA: the list is a listbox whose active option is announced.
	if role := eval[string](b, `document.getElementById("list").getAttribute("role")`); role != "listbox" {
		t.Errorf("list role %q", role)
	}
	selected := `document.querySelector('#list [aria-selected="true"] .subj')?.textContent`
	subjects := eval[[]string](b, `[...document.querySelectorAll("#list .subj")].map(e => e.textContent)`)

	b.keys("j")
	b.waitFor("j to select the second message", selected+fmt.Sprintf(` === %q`, subjects[1]))
	b.keys("j")
	b.keys("k")
	b.waitFor("k to go back up", selected+fmt.Sprintf(` === %q`, subjects[1]))
	if active := eval[string](b, `document.getElementById("list").getAttribute("aria-activedescendant")`); active == "" {
		t.Error("the listbox names no active option")
	}
	b.keys(kb.ArrowDown)
	b.waitFor("ArrowDown to select the third", selected+fmt.Sprintf(` === %q`, subjects[2]))
	b.keys(kb.ArrowUp)
	b.waitFor("ArrowUp to select the second", selected+fmt.Sprintf(` === %q`, subjects[1]))

	b.keys(kb.Enter)
	b.waitFor("Enter to open it", visible("#view")+fmt.Sprintf(` && document.getElementById("v-subject").textContent === %q`, subjects[1]))
	b.waitFor("the focus on the message", `document.activeElement.id === "view-pane"`)
	b.keys("2")
	b.waitFor("2 to show the text part", visible("#v-text")+` && document.activeElement.id === "tab-text"`)
	if o := eval[string](b, `getComputedStyle(document.activeElement).outlineStyle`); o == "none" {
		t.Error("the focused tab shows no focus outline")
	}
	b.screenshot("keyboard-message")

	b.keys(kb.Delete)
	b.waitFor("Delete to remove it", `document.querySelectorAll("#list .item").length === 2 && !(`+listHas(subjects[1])+`)`)
	if total, left := apiList(t, s); total != 2 || strings.Contains(strings.Join(left, "|"), subjects[1]) {
		t.Errorf("after Delete the API lists %d: %q", total, left)
	}

	b.keys("/")
	b.waitFor("/ to focus the search box", `document.activeElement.id === "search"`)
	b.keys("three" + kb.Enter)
	b.waitFor("the search to narrow the list", `document.querySelectorAll("#list .item").length === 1 && `+listHas("kbd three"))
	b.waitFor("the focus back on the list", `document.activeElement.id === "list"`)
	if o := eval[string](b, `getComputedStyle(document.querySelector('#list [aria-selected="true"]')).outlineStyle`); o == "none" {
		t.Error("the selected message shows no focus outline while the list has the focus")
	}
	b.screenshot("keyboard-search")

	b.keys("?")
	b.waitFor("? to open the shortcuts", `document.getElementById("help-dialog").open`)
	b.keys(kb.Escape)
	b.waitFor("Escape to close them", `!document.getElementById("help-dialog").open`)
}

// TestWebUIOffOutsideTestbed: with a config file that turns on neither the
// test-bed profile nor a token, / serves nothing, like the API.
func TestWebUIOffOutsideTestbed(t *testing.T) {
	s := startServer(t, serverOptions{})
	for _, p := range []string{"/", "/app.js"} {
		if code := apiStatus(t, s, p); code != http.StatusNotFound {
			t.Errorf("GET %s without the test bed: %d, want 404", p, code)
		}
	}
	s2 := testbedServer(t)
	resp, err := httpClient.Get("http://" + s2.addrs["http"] + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("GET / in the test bed: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
}
