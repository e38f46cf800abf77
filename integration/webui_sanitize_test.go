package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestWebUISanitizer runs the page's HTML sanitiser (webui/assets/
// sanitize.js) in the browser over known ways to smuggle script or remote
// loads through HTML, including mutation tricks that only show when the
// output is parsed again (as srcdoc parses it). The frame's sandbox and
// policy would stop each of these too; this checks the first wall alone.
func TestWebUISanitizer(t *testing.T) {
	s := uiServer(t)
	b := newUIBrowser(t, 800, 600)
	b.do(chromedp.Navigate("http://" + s.addrs["http"] + "/"))
	b.waitFor("the sanitiser", `typeof window.immpSanitize === "function"`)

	cases := []struct {
		in     string
		remote int    // remote references counted
		keep   string // text that must survive, if any
	}{
		{`<p>plain <b>bold</b></p>`, 0, "plain bold"},
		{`<script>alert(1)</script>x`, 0, "x"},
		{`<img src=x onerror=alert(1)>`, 0, ""},
		{`<body onload=alert(1)><p onclick="alert(1)">y</p>`, 0, "y"},
		{`<a href="javascript:alert(1)">a</a>`, 0, "a"},
		{`<a href="  JaVaScRiPt:alert(1)">a</a>`, 0, "a"},
		{`<a href="java&#x09;script:alert(1)">a</a>`, 0, "a"},
		{`<a href="vbscript:msgbox(1)">a</a><a href="data:text/html,<script>alert(1)</script>">b</a>`, 0, "ab"},
		{`<iframe src="javascript:alert(1)"></iframe><object data="x"></object><embed src="x">`, 0, ""},
		{`<svg><script>alert(1)</script><image href="http://r.test/i.png"/></svg>`, 0, ""},
		{`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`, 0, ""},
		{`<noscript><p title="</noscript><img src=x onerror=alert(1)>">`, 0, ""},
		{`<style>p{color:red}</style><img src=x onerror=alert(1)>`, 0, ""},
		{`<style>a{}</stylex></style><p>z</p>`, 0, "z"},
		{`<style>@import url(http://r.test/a.css); p{background:url(http://r.test/b.png)}</style>`, 1, ""},
		{`<div style="background:url('http://r.test/c.png')">d</div>`, 1, "d"},
		{`<img src="http://r.test/p.gif"><img src="//r.test/q.gif"><table background="https://r.test/t.png"></table>`, 3, ""},
		{`<img srcset="http://r.test/s.png 1x">`, 0, ""},
		{`<meta http-equiv="refresh" content="0;url=javascript:alert(1)"><base href="http://r.test/">`, 0, ""},
		{`<form action="http://r.test/"><input name=q><button formaction="javascript:alert(1)">go</button></form>`, 0, ""},
		{`<template><script>alert(1)</script></template><x-custom onclick=alert(1)>c</x-custom>`, 0, "c"},
		{`<img src="data:image/svg+xml,<svg onload=alert(1)>"><img src="data:image/png;base64,iVBORw0KGgo=">`, 0, ""},
		{`<!-- <img src=x onerror=alert(1)> --><p>k</p>`, 0, "k"},
	}
	for _, tc := range cases {
		in, _ := json.Marshal(tc.in)
		// Sanitise, parse the result again as srcdoc would, and report what
		// could run or load.
		expr := fmt.Sprintf(`(() => {
			const out = immpSanitize(%s, {});
			const d = new DOMParser().parseFromString(out.html, "text/html");
			const bad = [];
			for (const e of d.querySelectorAll("*")) {
				const n = e.localName;
				if (["script", "iframe", "frame", "object", "embed", "svg", "math", "form", "input", "button", "base", "link", "template", "noscript"].includes(n)) bad.push("element " + n);
				if (n === "meta" && !(e.parentNode === d.head && (e.getAttribute("http-equiv") === "Content-Security-Policy" || e.getAttribute("name") === "referrer"))) bad.push("meta " + e.outerHTML);
				for (const a of e.attributes) {
					if (/^on/i.test(a.name)) bad.push("handler " + a.name);
					if (["href", "src", "background", "action", "formaction", "srcset"].includes(a.name) && /^\s*(javascript|vbscript|data:text)/i.test(a.value)) bad.push("url " + a.name + "=" + a.value);
					if (a.name === "srcset") bad.push("srcset");
					if (a.name === "src" && /^data:image\/svg/i.test(a.value)) bad.push("svg data image");
				}
			}
			for (const st of d.querySelectorAll("style")) if (/@import/i.test(st.textContent)) bad.push("@import");
			const csp = d.head.firstElementChild;
			if (!csp || csp.getAttribute("http-equiv") !== "Content-Security-Policy" || !/default-src 'none'/.test(csp.content) || /img-src[^;]*http/.test(csp.content)) bad.push("frame policy " + (csp && csp.outerHTML));
			return JSON.stringify({bad: bad, remote: out.remote, text: d.body.textContent});
		})()`, in)
		var got struct {
			Bad    []string `json:"bad"`
			Remote int      `json:"remote"`
			Text   string   `json:"text"`
		}
		if err := json.Unmarshal([]byte(uiEval[string](b, expr)), &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Bad) > 0 {
			t.Errorf("%s: the sanitised output keeps %q", tc.in, got.Bad)
		}
		if got.Remote != tc.remote {
			t.Errorf("%s: %d remote references counted, want %d", tc.in, got.Remote, tc.remote)
		}
		if tc.keep != "" && !strings.Contains(got.Text, tc.keep) {
			t.Errorf("%s: text %q lost %q", tc.in, got.Text, tc.keep)
		}
	}
}
