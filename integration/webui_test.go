package integration

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestWebUI: open the page, see a message delivered over SMTP appear
// without a reload, open it (text, HTML in the sandboxed frame with its
// remote image not loaded until asked, headers, raw, attachment), delete
// it, and check over the API that it is gone; then delete all.
func TestWebUI(t *testing.T) {
	s := uiServer(t)
	remote, hit := uiRemote(t)
	b := newUIBrowser(t, 1280, 900)
	base := "http://" + s.addrs["http"] + "/"

	b.do(chromedp.Navigate(base))
	b.waitFor("the event stream to connect", `document.getElementById("live").classList.contains("on")`)
	b.waitFor("the empty list", uiVisible("#empty"))
	// A marker that a reload would lose.
	b.do(chromedp.Evaluate[chromedp.Void](`window.immpTestMarker = 42`))

	const subject = "Order 1234 has shipped"
	uiSend(t, s, "alice@example.org", uiMessage("alice@example.org", subject, remote.URL))
	b.waitFor("the new message in the list", uiListHas(subject))
	if uiEval[int](b, `window.immpTestMarker`) != 42 {
		t.Fatal("the page reloaded to show the message; it must update live")
	}
	b.waitFor("the account in the sidebar", `[...document.querySelectorAll("#accounts .node-name")].some(e => e.textContent === "alice@example.org")`)
	b.screenshot("desktop-list")

	id := uiEval[string](b, `document.querySelector("#list .item").dataset.id`)
	b.do(chromedp.Click(chromedp.CSS("#list .item")))
	b.waitFor("the message view", uiVisible("#view")+` && document.getElementById("v-subject").textContent === `+fmt.Sprintf("%q", subject))
	if from := uiEval[string](b, `document.getElementById("v-from").textContent`); from != "Shop Robot <shop@sender.test>" {
		t.Errorf("From shows %q", from)
	}

	// The HTML part: rendered in the sandboxed frame, scripts stripped and
	// blocked, the remote image not fetched.
	if sb := uiEval[string](b, `document.getElementById("html-frame").getAttribute("sandbox")`); strings.Contains(sb, "allow-scripts") || strings.Contains(sb, "allow-same-origin") {
		t.Fatalf("frame sandbox %q lets the message run script or reach the page", sb)
	}
	b.waitFor("the HTML tab", uiVisible("#html-frame")+` && document.getElementById("tab-html").getAttribute("aria-selected") === "true"`)
	b.frameWait("the HTML body to render", `document.getElementById("greeting")?.textContent === "Hello from HTML" && getComputedStyle(document.getElementById("greeting")).color === "rgb(34, 68, 102)"`)
	b.frameWait("the remote image to settle unloaded", `(() => { const i = document.getElementById("pixel"); return i && i.complete && i.naturalWidth === 0; })()`)
	b.frameWait("the inline (cid:) image to show", `(() => { const i = document.getElementById("inline"); return i && i.complete && i.naturalWidth === 16; })()`)
	b.frameWait("the script to be gone", `document.scripts.length === 0 && !document.querySelector("[onerror]") && !document.getElementById("jslink").hasAttribute("href")`)
	b.waitFor("the remote-image notice", uiVisible("#remote-bar"))
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
	b.waitFor("the text part", uiVisible("#v-text")+fmt.Sprintf(` && document.getElementById("v-text").textContent.includes(%q)`, "Plain text body of "+subject))
	b.do(chromedp.Click(chromedp.ID("tab-headers")))
	b.waitFor("the headers", fmt.Sprintf(`[...document.querySelectorAll("#v-headers tr")].some(r => r.cells[0].textContent.toLowerCase() === "subject" && r.cells[1].textContent === %q)`, subject))
	b.do(chromedp.Click(chromedp.ID("tab-raw")))
	b.waitFor("the raw source", `document.getElementById("v-raw").textContent.includes("Content-Type: multipart/mixed; boundary=outer")`)

	// The attachment, downloaded from the link the page shows.
	if name := uiEval[string](b, `document.querySelector("#att-list a").textContent`); name != "report.txt" {
		t.Errorf("attachment link %q, want report.txt", name)
	}
	if body := uiEval[string](b, `fetch(document.querySelector("#att-list a").href).then(r => r.text())`); body != "attachment body" {
		t.Errorf("attachment downloads as %q", body)
	}

	// Delete, and it is gone from the page and from the API.
	b.do(chromedp.Click(chromedp.ID("delete-one")))
	b.waitFor("the message to leave the list", `!(`+uiListHas(subject)+`) && document.getElementById("count").textContent === "0 messages"`)
	if total, subjects := uiAPIList(t, s); total != 0 {
		t.Errorf("after delete the API still lists %d: %q", total, subjects)
	}
	if code := uiAPIStatus(t, s, "/api/v1/messages/"+id); code != http.StatusNotFound {
		t.Errorf("GET the deleted message: %d, want 404", code)
	}

	// Delete all, after a confirmation.
	for _, subj := range []string{"first of two", "second of two"} {
		uiSend(t, s, "alice@example.org", uiMessage("alice@example.org", subj, remote.URL))
		b.waitFor("the message "+subj, uiListHas(subj))
	}
	b.do(chromedp.Click(chromedp.ID("delete-all")))
	b.waitFor("the confirmation", `document.getElementById("confirm-dialog").open`)
	b.do(chromedp.Click(chromedp.ID("confirm-ok")))
	b.waitFor("an empty list", `document.querySelectorAll("#list .item").length === 0 && `+uiVisible("#empty"))
	if total, subjects := uiAPIList(t, s); total != 0 {
		t.Errorf("after delete all the API still lists %d: %q", total, subjects)
	}
	if uiEval[int](b, `window.immpTestMarker`) != 42 {
		t.Fatal("the page reloaded")
	}

	// Deleted elsewhere (here through the API; IMAP would do the same):
	// the event stream tells the page at once, well before its 15 s
	// refresh.
	uiSend(t, s, "alice@example.org", uiMessage("alice@example.org", "deleted elsewhere", remote.URL))
	b.waitFor("the message to delete elsewhere", uiListHas("deleted elsewhere"))
	req, _ := http.NewRequest("DELETE", "http://"+s.addrs["http"]+"/api/v1/messages", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	start := time.Now()
	b.waitFor("the list to lose the message deleted elsewhere", `document.querySelectorAll("#list .item").length === 0`)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the page showed a deletion made elsewhere after %v: not live", d)
	}
}

// TestWebUIPhone: on a phone-sized screen the list and the message are
// separate views, nothing scrolls sideways, and the sidebar opens on
// demand.
func TestWebUIPhone(t *testing.T) {
	s := uiServer(t)
	remote, _ := uiRemote(t)
	b := newUIBrowser(t, 390, 844)
	uiSend(t, s, "bob@example.org", uiMessage("bob@example.org", "Phone check", remote.URL))
	b.do(chromedp.Navigate("http://" + s.addrs["http"] + "/"))
	b.waitFor("the message in the list", uiListHas("Phone check"))

	noSideScroll := `document.documentElement.scrollWidth <= window.innerWidth`
	if !uiEval[bool](b, uiVisible("#list-pane")) || uiEval[bool](b, uiVisible("#view-pane")) || uiEval[bool](b, uiVisible("#nav")) {
		t.Fatal("on a phone the list view must show the list alone")
	}
	if !uiEval[bool](b, noSideScroll) {
		t.Errorf("the list view scrolls sideways: %d > %d", uiEval[int](b, `document.documentElement.scrollWidth`), uiEval[int](b, `window.innerWidth`))
	}
	b.screenshot("phone-list")

	b.do(chromedp.Click(chromedp.CSS("#list .item")))
	b.waitFor("the message view alone", uiVisible("#view")+` && !(`+uiVisible("#list-pane")+`) && `+uiVisible("#back"))
	b.frameWait("the HTML body", `document.getElementById("greeting")?.textContent === "Hello from HTML"`)
	if !uiEval[bool](b, noSideScroll) {
		t.Errorf("the message view scrolls sideways")
	}
	if w := uiEval[float64](b, `document.getElementById("html-frame").getBoundingClientRect().right`); w > 390 {
		t.Errorf("the HTML frame reaches x=%v on a 390px screen", w)
	}
	b.screenshot("phone-message")

	b.do(chromedp.Click(chromedp.ID("back")))
	b.waitFor("the list again", uiVisible("#list-pane")+` && !(`+uiVisible("#view-pane")+`)`)
	b.do(chromedp.Click(chromedp.ID("nav-toggle")))
	b.waitFor("the sidebar", uiVisible("#nav")+` && !(`+uiVisible("#list-pane")+`) && document.getElementById("nav-toggle").getAttribute("aria-expanded") === "true"`)
	b.waitFor("the account in the sidebar", `[...document.querySelectorAll("#accounts .node-name")].some(e => e.textContent === "bob@example.org")`)
	b.screenshot("phone-nav")
	// Choosing an account goes back to its list.
	b.do(chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#accounts .node")].find(e => e.dataset.account === "bob@example.org" && !e.dataset.folder).click()`))
	b.waitFor("the account's list", uiVisible("#list-pane")+` && document.getElementById("list-title").textContent === "bob@example.org" && `+uiListHas("Phone check"))
}

// TestWebUIRefreshKeepsRows: a refresh (one comes with every event and
// every 15 s) leaves the rows it did not change in place, so a tap whose
// press and release straddle it still opens the message. The list once
// rebuilt every row on each refresh and such taps were lost.
func TestWebUIRefreshKeepsRows(t *testing.T) {
	s := uiServer(t)
	remote, _ := uiRemote(t)
	b := newUIBrowser(t, 1280, 900)
	uiSend(t, s, "dave@example.org", uiMessage("dave@example.org", "first row", remote.URL))
	b.do(chromedp.Navigate("http://" + s.addrs["http"] + "/"))
	b.waitFor("the event stream to connect", `document.getElementById("live").classList.contains("on")`)
	b.waitFor("the first message", uiListHas("first row"))
	// Tag the row's node: a rebuilt row would not carry the tag.
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#list .item").immpTag = "kept"`))

	uiSend(t, s, "dave@example.org", uiMessage("dave@example.org", "second row", remote.URL))
	b.waitFor("the second message", uiListHas("second row"))
	first := `[...document.querySelectorAll("#list .item")].find(e => e.querySelector(".subj").textContent === "first row")`
	if tag := uiEval[string](b, first+`?.immpTag ?? ""`); tag != "kept" {
		t.Errorf("the refresh rebuilt the unchanged row (tag %q)", tag)
	}
	// A row whose state changed is redrawn: another client marks it seen.
	id := uiEval[string](b, first+`.dataset.id`)
	req, _ := http.NewRequest(http.MethodPatch, "http://"+s.addrs["http"]+"/api/v1/messages/"+id, strings.NewReader(`{"seen": true}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH seen: %s", resp.Status)
	}
	b.waitFor("the row drawn as seen", `!`+first+`.classList.contains("unseen")`)
	// And a tap on a kept row opens it.
	b.do(chromedp.Click(chromedp.CSS(`#list .item:not(.unseen)`)))
	b.waitFor("the message view", uiVisible("#view")+` && document.getElementById("v-subject").textContent === "first row"`)
}

// TestWebUIFolderLive: a folder made over IMAP shows in the sidebar at
// once, from the event stream, not at the next periodic refresh (15 s).
func TestWebUIFolderLive(t *testing.T) {
	s := uiServer(t)
	b := newUIBrowser(t, 1280, 900)
	im := imapSession(t, s.addrs["imap"], "erin@example.org", "erin-password")
	b.do(chromedp.Navigate("http://" + s.addrs["http"] + "/"))
	b.waitFor("the event stream to connect", `document.getElementById("live").classList.contains("on")`)
	b.waitFor("the account in the sidebar", `[...document.querySelectorAll("#accounts .node-name")].some(e => e.textContent === "erin@example.org")`)
	time.Sleep(time.Second) // past the catch-up refresh that follows the stream's start
	start := time.Now()
	if err := im.Create("INBOX/receipts", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	b.waitFor("the folder in the sidebar", `[...document.querySelectorAll("#accounts .node")].some(e => e.dataset.account === "erin@example.org" && e.dataset.folder === "INBOX/receipts")`)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the folder showed after %v: the stream did not tell of it", d.Round(time.Millisecond))
	}
}

// TestWebUIKeyboard: everything on the main path with the keyboard alone:
// move with j/k, open with Enter, delete with Delete, search with /, and
// a visible focus all along.
func TestWebUIKeyboard(t *testing.T) {
	s := uiServer(t)
	remote, _ := uiRemote(t)
	b := newUIBrowser(t, 1280, 900)
	for _, subj := range []string{"kbd one", "kbd two", "kbd three"} {
		uiSend(t, s, "carol@example.org", uiMessage("carol@example.org", subj, remote.URL))
		time.Sleep(20 * time.Millisecond) // distinct arrival times: a stable newest-first order
	}
	b.do(chromedp.Navigate("http://" + s.addrs["http"] + "/"))
	b.waitFor("three messages", `document.querySelectorAll("#list .item").length === 3`)

	// ARIA: the list is a listbox whose active option is announced.
	if role := uiEval[string](b, `document.getElementById("list").getAttribute("role")`); role != "listbox" {
		t.Errorf("list role %q", role)
	}
	selected := `document.querySelector('#list [aria-selected="true"] .subj')?.textContent`
	subjects := uiEval[[]string](b, `[...document.querySelectorAll("#list .subj")].map(e => e.textContent)`)

	b.keys("j")
	b.waitFor("j to select the second message", selected+fmt.Sprintf(` === %q`, subjects[1]))
	b.keys("j")
	b.keys("k")
	b.waitFor("k to go back up", selected+fmt.Sprintf(` === %q`, subjects[1]))
	if active := uiEval[string](b, `document.getElementById("list").getAttribute("aria-activedescendant")`); active == "" {
		t.Error("the listbox names no active option")
	}
	b.keys(kb.ArrowDown)
	b.waitFor("ArrowDown to select the third", selected+fmt.Sprintf(` === %q`, subjects[2]))
	b.keys(kb.ArrowUp)
	b.waitFor("ArrowUp to select the second", selected+fmt.Sprintf(` === %q`, subjects[1]))

	b.keys(kb.Enter)
	b.waitFor("Enter to open it", uiVisible("#view")+fmt.Sprintf(` && document.getElementById("v-subject").textContent === %q`, subjects[1]))
	b.waitFor("the focus on the message", `document.activeElement.id === "view-pane"`)
	b.keys("2")
	b.waitFor("2 to show the text part", uiVisible("#v-text")+` && document.activeElement.id === "tab-text"`)
	if o := uiEval[string](b, `getComputedStyle(document.activeElement).outlineStyle`); o == "none" {
		t.Error("the focused tab shows no focus outline")
	}
	b.screenshot("keyboard-message")

	b.keys(kb.Delete)
	b.waitFor("Delete to remove it", `document.querySelectorAll("#list .item").length === 2 && !(`+uiListHas(subjects[1])+`)`)
	if total, left := uiAPIList(t, s); total != 2 || strings.Contains(strings.Join(left, "|"), subjects[1]) {
		t.Errorf("after Delete the API lists %d: %q", total, left)
	}

	b.keys("/")
	b.waitFor("/ to focus the search box", `document.activeElement.id === "search"`)
	b.keys("three" + kb.Enter)
	b.waitFor("the search to narrow the list", `document.querySelectorAll("#list .item").length === 1 && `+uiListHas("kbd three"))
	b.waitFor("the focus back on the list", `document.activeElement.id === "list"`)
	if o := uiEval[string](b, `getComputedStyle(document.querySelector('#list [aria-selected="true"]')).outlineStyle`); o == "none" {
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
		if code := uiAPIStatus(t, s, p); code != http.StatusNotFound {
			t.Errorf("GET %s without the test bed: %d, want 404", p, code)
		}
	}
	s2 := uiServer(t)
	resp, err := httpClient.Get("http://" + s2.addrs["http"] + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("GET / in the test bed: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
}

// TestWebUIToken: with [http] api_token_file the page asks for the token
// once, then lists, opens and streams with it (the event stream too, which
// is why the page reads it with fetch and not EventSource).
func TestWebUIToken(t *testing.T) {
	const token = "webui-test-token-0123456789"
	file := filepath.Join(t.TempDir(), "api-token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, serverOptions{autoCreate: true, tables: map[string]string{"http": fmt.Sprintf("api_token_file = %q\n", file)}})
	remote, _ := uiRemote(t)
	uiSend(t, s, "dave@example.org", uiMessage("dave@example.org", "Before the token", remote.URL))
	if code := uiAPIStatus(t, s, "/api/v1/messages"); code != http.StatusUnauthorized {
		t.Fatalf("the API without the token: %d, want 401", code)
	}
	b := newUIBrowser(t, 1280, 900)
	b.do(chromedp.Navigate("http://" + s.addrs["http"] + "/"))
	b.waitFor("the token dialog", `document.getElementById("token-dialog").open`)
	b.do(chromedp.SendKeys(chromedp.ID("token-input"), token+kb.Enter))
	b.waitFor("the list with the token", uiListHas("Before the token"))
	b.waitFor("the event stream with the token", `document.getElementById("live").classList.contains("on")`)
	uiSend(t, s, "dave@example.org", uiMessage("dave@example.org", "After the token", remote.URL))
	b.waitFor("the live update", uiListHas("After the token"))
	b.do(chromedp.Click(chromedp.CSS("#list .item")))
	b.do(chromedp.Click(chromedp.ID("tab-raw")))
	b.waitFor("the raw source with the token", `document.getElementById("v-raw").textContent.includes("Subject: After the token")`)
}
