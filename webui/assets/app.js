// immp web UI. Plain script, no framework, no build step: it talks only to
// the HTTP API under api/v1/ (relative, so the UI also works behind a
// reverse proxy under a prefix) and never puts message data into the page
// as markup: everything from a message goes in through textContent, except
// the HTML part, which goes sanitised into a sandboxed iframe (sanitize.js).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const PAGE = 50;
  const MAX_LIMIT = 1000; // the API's largest page (docs/api.md)
  const RAW_SHOW = 2 << 20; // raw source shown inline up to 2 MiB

  const state = {
    account: "", folder: "", q: "",
    messages: [], total: 0, sel: -1,
    open: null,          // the message shown (full JSON)
    remoteOK: new Set(), // message ids whose remote images the reader allowed
    token: sessionStorage.getItem("immp-token") || "",
    tab: "",
  };

  // ---- API -------------------------------------------------------------

  class APIError extends Error {
    constructor(status, msg) { super(msg); this.status = status; }
  }

  function headers(extra) {
    const h = Object.assign({ Accept: "application/json" }, extra || {});
    if (state.token) h.Authorization = "Bearer " + state.token;
    return h;
  }

  async function api(path, opts) {
    opts = opts || {};
    const r = await fetch("api/v1/" + path, { method: opts.method || "GET", headers: headers(), signal: opts.signal });
    if (r.status === 401) {
      askToken();
      throw new APIError(401, "the API needs a token");
    }
    if (!r.ok) {
      let msg = r.status + " " + r.statusText;
      try {
        const j = await r.json();
        if (j && j.error) msg = typeof j.error === "string" ? j.error : (j.error.message || msg);
      } catch (e) { /* not JSON */ }
      throw new APIError(r.status, msg);
    }
    return r;
  }
  const apiJSON = async (path, opts) => (await api(path, opts)).json();

  function qs(params) {
    const p = new URLSearchParams();
    for (const k in params) if (params[k] !== "" && params[k] !== undefined && params[k] !== null) p.set(k, params[k]);
    const s = p.toString();
    return s ? "?" + s : "";
  }

  // ---- shapes: accept the documented JSON and small variations ---------

  function addr(a) {
    if (!a) return "";
    if (typeof a === "string") return a;
    const email = a.address || a.email || a.addr || "";
    return a.name ? a.name + " <" + email + ">" : email;
  }
  // sender: M has "from" (the address) and "from_name" (decoded).
  const sender = (m) => m.from_name ? m.from_name + " <" + addr(m.from) + ">" : addr(m.from);
  const senderShort = (m) => m.from_name || addr(m.from);
  const addrList = (v) => (Array.isArray(v) ? v.map(addr) : v ? [addr(v)] : []).join(", ");

  function headerRows(h) {
    if (!h) return [];
    if (Array.isArray(h)) {
      return h.map((x) => Array.isArray(x) ? [x[0], x[1]] : [x.name || x.key, x.value]);
    }
    const rows = [];
    for (const k of Object.keys(h)) {
      for (const v of Array.isArray(h[k]) ? h[k] : [h[k]]) rows.push([k, v]);
    }
    return rows;
  }

  function attachments(m) {
    return (m.attachments || []).map((a, i) => ({
      name: a.filename || a.name || "attachment-" + (a.index !== undefined ? a.index : i),
      type: a.content_type || a.type || "application/octet-stream",
      size: a.size,
      cid: (a.content_id || a.cid || "").replace(/^<|>$/g, ""),
      url: a.url ? a.url.replace(/^\//, "") : "api/v1/messages/" + encodeURIComponent(m.id) + "/attachments/" + (a.index !== undefined ? a.index : (a.id !== undefined ? a.id : i)),
    }));
  }

  function normAccounts(j) {
    const list = Array.isArray(j) ? j : (j.accounts || []);
    return list.map((a) => typeof a === "string" ? { name: a, folders: null } : {
      name: a.address || a.name || a.account,
      folders: a.folders ? a.folders.map(normFolder) : null,
    });
  }
  function normFolder(f) {
    return typeof f === "string" ? { name: f } : { name: f.name || f.folder, total: f.total !== undefined ? f.total : f.messages, unseen: f.unseen };
  }

  // ---- formatting ------------------------------------------------------

  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const dayFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
  const yearFmt = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
  const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });
  function shortDate(s) {
    const d = new Date(s);
    if (isNaN(d)) return "";
    const now = new Date();
    if (d.toDateString() === now.toDateString()) return timeFmt.format(d);
    return d.getFullYear() === now.getFullYear() ? dayFmt.format(d) : yearFmt.format(d);
  }
  const longDate = (s) => { const d = new Date(s); return isNaN(d) ? String(s || "") : fullFmt.format(d); };
  function size(n) {
    if (n === undefined || n === null) return "";
    if (n < 1024) return n + " B";
    if (n < 1 << 20) return (n / 1024).toFixed(1) + " KiB";
    return (n / (1 << 20)).toFixed(1) + " MiB";
  }
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  let toastTimer = 0;
  function toast(msg) {
    const t = $("toast");
    t.textContent = msg;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 4000);
  }
  const fail = (e) => { if (!(e instanceof APIError && e.status === 401) && e.name !== "AbortError") toast(e.message || String(e)); };

  // ---- layout (narrow screens show one pane at a time) ------------------

  const narrow = () => window.matchMedia("(max-width: 700px)").matches;
  function show(view) {
    document.body.classList.remove("view-list", "view-message", "view-nav");
    document.body.classList.add("view-" + view);
    $("nav-toggle").setAttribute("aria-expanded", String(view === "nav"));
  }

  // ---- accounts and folders --------------------------------------------

  async function loadTree() {
    let accounts;
    try {
      accounts = normAccounts(await apiJSON("accounts"));
    } catch (e) { fail(e); return; }
    await Promise.all(accounts.map(async (a) => {
      if (a.folders) return;
      try {
        const j = await apiJSON("accounts/" + encodeURIComponent(a.name) + "/folders");
        a.folders = (Array.isArray(j) ? j : j.folders || []).map(normFolder);
      } catch (e) { a.folders = []; }
    }));
    renderTree(accounts);
  }

  function treeButton(label, account, folder, count) {
    const b = el("button", "node");
    b.type = "button";
    b.dataset.account = account;
    b.dataset.folder = folder;
    b.appendChild(el("span", "node-name", label));
    if (count) b.appendChild(el("span", "badge", String(count)));
    if (state.account === account && state.folder === folder) b.setAttribute("aria-current", "true");
    b.addEventListener("click", () => select(account, folder, label));
    return b;
  }

  // The tree is redrawn only when it changed, for the reason the list
  // keeps its rows (renderList): a tap must not fall between two drawings.
  let treeKey = "";
  function renderTree(accounts) {
    const key = JSON.stringify(accounts.map((a) => [a.name, (a.folders || []).map((f) => [f.name, f.unseen || 0])]));
    if (key === treeKey) return;
    treeKey = key;
    const root = $("accounts");
    root.replaceChildren();
    const all = el("li");
    all.appendChild(treeButton("All mail", "", ""));
    root.appendChild(all);
    for (const a of accounts) {
      const li = el("li", "account");
      const unseen = (a.folders || []).reduce((n, f) => n + (f.unseen || 0), 0);
      li.appendChild(treeButton(a.name, a.name, "", unseen));
      if (a.folders && a.folders.length) {
        const ul = el("ul");
        ul.setAttribute("aria-label", "Folders of " + a.name);
        for (const f of a.folders) {
          const fl = el("li");
          fl.appendChild(treeButton(f.name, a.name, f.name, f.unseen));
          ul.appendChild(fl);
        }
        li.appendChild(ul);
      }
      root.appendChild(li);
    }
  }

  function select(account, folder, label) {
    state.account = account;
    state.folder = folder;
    $("list-title").textContent = account ? (folder ? label + " \u2014 " + account : account) : "All mail";
    for (const b of $("accounts").querySelectorAll("button.node")) {
      if (b.dataset.account === account && b.dataset.folder === folder) b.setAttribute("aria-current", "true");
      else b.removeAttribute("aria-current");
    }
    closeView();
    loadList(false);
    show("list");
    $("list").focus();
  }

  // ---- message list ----------------------------------------------------

  let listAbort = null;
  async function loadList(more, keep) {
    if (listAbort) listAbort.abort();
    const ctl = new AbortController();
    listAbort = ctl;
    const start = more ? state.messages.length : 0;
    const limit = keep ? Math.min(MAX_LIMIT, Math.max(PAGE, state.messages.length)) : PAGE;
    let j;
    try {
      j = await apiJSON("messages" + qs({ account: state.account, folder: state.folder, q: state.q, limit: limit, start: start }), { signal: ctl.signal });
    } catch (e) { fail(e); return; }
    if (listAbort !== ctl) return;
    listAbort = null;
    const selID = state.sel >= 0 && state.messages[state.sel] ? state.messages[state.sel].id : null;
    state.messages = more ? state.messages.concat(j.messages || []) : (j.messages || []);
    state.total = j.total || 0;
    let sel = state.messages.findIndex((m) => m.id === selID);
    if (sel < 0 && state.messages.length) sel = more ? state.sel : (keep && state.sel >= 0 ? Math.min(state.sel, state.messages.length - 1) : 0);
    renderList(sel);
  }

  const seenOf = (m) => m.seen !== undefined ? m.seen : (m.flags || []).includes("\\Seen");
  const rowKey = (m) => JSON.stringify([senderShort(m), sender(m), shortDate(m.date), m.date || "", m.subject || "", addrList(m.to), m.folder || "", seenOf(m)]);

  function listRow(m, key) {
    const li = el("li", "item");
    li.dataset.id = m.id;
    li.dataset.key = key;
    li.setAttribute("role", "option");
    if (!seenOf(m)) li.classList.add("unseen");
    const top = el("div", "row");
    top.appendChild(el("span", "from", senderShort(m) || "(no sender)"));
    top.lastChild.title = sender(m);
    const t = el("time", "date", shortDate(m.date));
    t.dateTime = m.date || "";
    top.appendChild(t);
    li.appendChild(top);
    li.appendChild(el("div", "subj", m.subject || "(no subject)"));
    li.appendChild(el("div", "meta", "to " + addrList(m.to) + (m.folder && m.folder !== "INBOX" ? " \u00b7 " + m.folder : "")));
    li.addEventListener("click", () => {
      const i = state.messages.findIndex((x) => String(x.id) === li.dataset.id);
      if (i >= 0) { setSel(i); openSel(); }
    });
    return li;
  }

  // Rows are kept per message and touched only when what they show
  // changed. A refresh comes with every event and every 15 s; one that
  // rebuilt the list would swallow a tap whose press and release straddle
  // it (the click goes to no row), and would reset hover and focus.
  function renderList(sel) {
    const ul = $("list");
    const kept = new Map();
    for (const li of ul.children) kept.set(li.dataset.id, li);
    state.messages.forEach((m, i) => {
      const key = rowKey(m);
      let li = kept.get(String(m.id));
      if (!li || li.dataset.key !== key) li = listRow(m, key);
      li.id = "msg-" + i;
      const at = ul.children[i];
      if (at !== li) ul.insertBefore(li, at || null);
    });
    // Rows 0..n-1 are now the messages in order; the rest are gone ones.
    while (ul.children.length > state.messages.length) ul.lastElementChild.remove();
    const n = state.total;
    $("count").textContent = n === 1 ? "1 message" : n + " messages";
    $("empty").hidden = state.messages.length > 0;
    $("more").hidden = state.messages.length >= state.total;
    setSel(sel, true);
    if (state.open) markOpen(state.open.id);
  }

  function setSel(i, quiet) {
    const ul = $("list");
    const prev = ul.querySelector('[aria-selected="true"]');
    if (prev) prev.setAttribute("aria-selected", "false");
    state.sel = i;
    if (i < 0 || i >= state.messages.length) {
      ul.removeAttribute("aria-activedescendant");
      state.sel = -1;
      return;
    }
    const li = $("msg-" + i);
    li.setAttribute("aria-selected", "true");
    ul.setAttribute("aria-activedescendant", li.id);
    if (!quiet) li.scrollIntoView({ block: "nearest" });
  }

  function markOpen(id) {
    for (const li of $("list").children) li.classList.toggle("open", li.dataset.id === String(id));
  }

  function move(d) {
    if (!state.messages.length) return;
    const i = Math.max(0, Math.min(state.messages.length - 1, (state.sel < 0 ? -1 : state.sel) + d));
    setSel(i);
    if (state.open && !narrow()) openSel(true);
  }

  // ---- message view ----------------------------------------------------

  let viewAbort = null;
  async function openSel(keepFocus) {
    const m = state.messages[state.sel];
    if (!m) return;
    if (viewAbort) viewAbort.abort();
    const ctl = new AbortController();
    viewAbort = ctl;
    let full;
    try {
      full = await apiJSON("messages/" + encodeURIComponent(m.id), { signal: ctl.signal });
    } catch (e) {
      if (e instanceof APIError && e.status === 404) { toast("That message is gone."); loadList(false, true); }
      else fail(e);
      return;
    }
    if (viewAbort !== ctl) return;
    renderView(full);
    show("message");
    if (!keepFocus || narrow()) $("view-pane").focus();
  }

  function renderView(m) {
    state.open = m;
    markOpen(m.id);
    $("placeholder").hidden = true;
    $("view").hidden = false;
    $("v-subject").textContent = m.subject || "(no subject)";
    $("v-from").textContent = sender(m);
    $("v-to").textContent = addrList(m.to);
    $("v-date").textContent = longDate(m.date);
    $("v-folder").textContent = (m.account || "") + " / " + (m.folder || "");
    $("v-size").textContent = size(m.size);
    $("raw-link").href = "api/v1/messages/" + encodeURIComponent(m.id) + "/raw?download=1";
    $("raw-link").setAttribute("download", (m.id + "").replace(/[^\w.-]/g, "_") + ".eml");

    const atts = attachments(m);
    const al = $("att-list");
    al.replaceChildren();
    for (const a of atts) {
      const li = el("li");
      const link = el("a", "attachment", a.name);
      link.href = a.url;
      link.setAttribute("download", a.name);
      link.addEventListener("click", (ev) => { if (state.token) { ev.preventDefault(); download(a.url, a.name); } });
      li.appendChild(link);
      li.appendChild(el("span", "muted", " " + a.type + (a.size !== undefined ? ", " + size(a.size) : "")));
      al.appendChild(li);
    }
    $("attachments").hidden = atts.length === 0;

    const rows = $("v-headers");
    rows.replaceChildren();
    for (const [k, v] of headerRows(m.headers)) {
      const tr = el("tr");
      tr.appendChild(el("th", "", k));
      tr.appendChild(el("td", "", v));
      rows.appendChild(tr);
    }
    $("v-text").textContent = m.text || "";
    $("v-raw").textContent = "";
    $("v-raw").dataset.id = "";
    $("tab-html").hidden = !m.html;
    renderHTML();
    tab(m.html ? "html" : "text");
  }

  // Inline images (cid:) are fetched by the page, which may (same origin,
  // with the token if any), and handed to the frame as data: URLs: the
  // frame, sandboxed with an opaque origin, loads nothing from anywhere.
  const INLINE_TYPES = /^image\/(png|gif|jpeg|webp|bmp)$/i;
  const INLINE_MAX = 5 << 20;
  async function inlineImages(m) {
    if (m.inline) return m.inline;
    const wanted = new Set();
    for (const x of m.html.matchAll(/cid:([^"'\s>)]+)/gi)) {
      try { wanted.add(decodeURIComponent(x[1])); } catch (e) { /* malformed */ }
    }
    const out = {};
    await Promise.all(attachments(m).filter((a) => a.cid && wanted.has(a.cid) && INLINE_TYPES.test(a.type) && !(a.size > INLINE_MAX)).map(async (a) => {
      try {
        const r = await fetch(a.url, { headers: headers() });
        if (!r.ok) return;
        const blob = await r.blob();
        if (blob.size > INLINE_MAX) return;
        const url = await new Promise((res, rej) => {
          const fr = new FileReader();
          fr.onload = () => res(fr.result);
          fr.onerror = () => rej(fr.error);
          fr.readAsDataURL(new Blob([blob], { type: a.type.toLowerCase() }));
        });
        out[a.cid] = url;
      } catch (e) { /* shown as a missing image */ }
    }));
    m.inline = out;
    return out;
  }

  async function renderHTML() {
    const m = state.open;
    const frame = $("html-frame");
    if (!m || !m.html) { frame.srcdoc = ""; $("remote-bar").hidden = true; return; }
    const cid = await inlineImages(m);
    if (state.open !== m) return;
    const allow = state.remoteOK.has(m.id);
    const out = window.immpSanitize(m.html, { allowRemote: allow, cid: cid });
    frame.srcdoc = out.html;
    $("remote-bar").hidden = allow || out.remote === 0;
    $("remote-note").textContent = out.remote === 1 ? "1 remote image blocked." : out.remote + " remote images blocked.";
  }

  async function download(url, name) {
    try {
      const r = await fetch(url, { headers: headers() });
      if (!r.ok) throw new Error(r.status + " " + r.statusText);
      const u = URL.createObjectURL(await r.blob());
      const a = el("a");
      a.href = u;
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(u), 10000);
    } catch (e) { fail(e); }
  }

  const TABS = ["html", "text", "headers", "raw"];
  function tab(name, focus) {
    if (name === "html" && (!state.open || !state.open.html)) return;
    state.tab = name;
    for (const t of TABS) {
      const b = $("tab-" + t);
      const on = t === name;
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
      $("panel-" + t).hidden = !on;
    }
    if (focus) $("tab-" + name).focus();
    if (name === "raw") loadRaw();
  }

  async function loadRaw() {
    const m = state.open;
    const pre = $("v-raw");
    if (!m || pre.dataset.id === String(m.id)) return;
    pre.dataset.id = String(m.id);
    pre.textContent = "Loading\u2026";
    try {
      const text = await (await api("messages/" + encodeURIComponent(m.id) + "/raw")).text();
      if (state.open !== m) return;
      pre.textContent = text.length > RAW_SHOW ? text.slice(0, RAW_SHOW) + "\n\n[\u2026 cut at 2 MiB: use Download .eml for the rest]" : text;
    } catch (e) { pre.textContent = ""; pre.dataset.id = ""; fail(e); }
  }

  function closeView() {
    if (viewAbort) viewAbort.abort();
    state.open = null;
    $("view").hidden = true;
    $("placeholder").hidden = false;
    $("html-frame").srcdoc = "";
    markOpen(null);
  }

  function back() {
    closeView();
    show("list");
    $("list").focus();
  }

  async function deleteCurrent() {
    const m = state.open || state.messages[state.sel];
    if (!m) return;
    try {
      await api("messages/" + encodeURIComponent(m.id), { method: "DELETE" });
    } catch (e) {
      if (!(e instanceof APIError && e.status === 404)) { fail(e); return; }
    }
    const wasOpen = !!state.open;
    const i = state.messages.findIndex((x) => x.id === m.id);
    if (i >= 0) {
      state.messages.splice(i, 1);
      state.total = Math.max(0, state.total - 1);
    }
    closeView();
    renderList(Math.min(i >= 0 ? i : state.sel, state.messages.length - 1));
    toast("Message deleted.");
    if (wasOpen && !narrow() && state.sel >= 0) openSel(true);
    else { show("list"); $("list").focus(); }
    loadTree();
  }

  async function deleteAll() {
    const d = $("confirm-dialog");
    $("confirm-text").textContent = state.account
      ? "Every message of " + state.account + " will be deleted."
      : "Every message of every account will be deleted.";
    d.returnValue = "";
    d.showModal();
    await new Promise((res) => d.addEventListener("close", res, { once: true }));
    if (d.returnValue !== "ok") return;
    try {
      await api("messages" + qs({ account: state.account }), { method: "DELETE" });
    } catch (e) { fail(e); return; }
    closeView();
    toast("Messages deleted.");
    await loadList(false);
    loadTree();
    $("list").focus();
  }

  // ---- token -----------------------------------------------------------

  let asking = false;
  function askToken() {
    if (asking) return;
    asking = true;
    const d = $("token-dialog");
    d.showModal();
    d.addEventListener("close", () => {
      asking = false;
      const v = $("token-input").value.trim();
      if (!v) return;
      state.token = v;
      sessionStorage.setItem("immp-token", v);
      start();
    }, { once: true });
  }

  // ---- live updates: Server-Sent Events over fetch (so that a bearer
  // token can be sent, which EventSource cannot) --------------------------

  // At most one reload per 100 ms, however fast mail arrives (a burst
  // still shows up while it lasts).
  let reloadTimer = 0;
  function changed() {
    if (reloadTimer) return;
    reloadTimer = setTimeout(() => { reloadTimer = 0; loadList(false, true); loadTree(); }, 100);
  }

  let liveCtl = null;
  async function live() {
    if (liveCtl) liveCtl.abort();
    const ctl = new AbortController();
    liveCtl = ctl;
    const status = $("live");
    let backoff = 500;
    while (liveCtl === ctl) {
      try {
        const r = await fetch("api/v1/events", { headers: headers({ Accept: "text/event-stream" }), signal: ctl.signal, cache: "no-store" });
        if (r.status === 401) { askToken(); return; }
        if (!r.ok || !r.body) throw new Error(r.status + " " + r.statusText);
        status.textContent = "live";
        status.className = "live on";
        backoff = 500;
        changed(); // catch up on whatever happened while disconnected
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let cut;
          while ((cut = buf.search(/\r?\n\r?\n/)) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut).replace(/^\r?\n\r?\n/, "");
            // SSE (WHATWG HTML 9.2): lines starting with ":" are comments
            // (keep-alives); any event with data means the mail changed.
            if (block.split(/\r?\n/).some((l) => l.startsWith("data:") || l.startsWith("event:"))) changed();
          }
        }
      } catch (e) {
        if (ctl.signal.aborted) return;
      }
      status.textContent = "offline";
      status.className = "live off";
      await new Promise((res) => setTimeout(res, backoff));
      backoff = Math.min(backoff * 2, 10000);
    }
  }

  // ---- keyboard --------------------------------------------------------

  function typing(t) {
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }

  // The character of a shortcut that moved the focus into a text field
  // must not land in it: a keypress can follow even a cancelled keydown
  // (synthetic input, some input methods).
  let swallow = null;
  document.addEventListener("keypress", (ev) => {
    if (swallow !== null && ev.key === swallow) ev.preventDefault();
    swallow = null;
  }, true);
  document.addEventListener("keyup", () => { swallow = null; }, true);

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (document.querySelector("dialog[open]")) return;
    const t = ev.target;
    if (typing(t)) {
      if (ev.key === "Escape" && t.id === "search") { t.blur(); $("list").focus(); ev.preventDefault(); }
      if ((ev.key === "ArrowDown") && t.id === "search") { $("list").focus(); ev.preventDefault(); }
      return;
    }
    const onControl = t && (t.tagName === "BUTTON" || t.tagName === "A");
    const inTabs = t && t.getAttribute && t.getAttribute("role") === "tab";
    switch (ev.key) {
      case "/": $("search").focus(); $("search").select(); swallow = "/"; break;
      case "j": move(1); break;
      case "k": move(-1); break;
      case "ArrowDown": if (t !== $("list") && t !== document.body) return; move(1); break;
      case "ArrowUp": if (t !== $("list") && t !== document.body) return; move(-1); break;
      case "Home": if (t !== $("list")) return; setSel(0); break;
      case "End": if (t !== $("list")) return; setSel(state.messages.length - 1); break;
      case "ArrowRight": case "ArrowLeft":
        if (!inTabs) return;
        { const vis = TABS.filter((x) => !$("tab-" + x).hidden);
          const i = vis.indexOf(state.tab);
          tab(vis[(i + (ev.key === "ArrowRight" ? 1 : vis.length - 1)) % vis.length], true); }
        break;
      case "Enter": case "o": if (ev.key === "Enter" && onControl) return; openSel(); break;
      case "Delete": case "#": deleteCurrent(); break;
      case "Escape": case "u": if (state.open || !document.body.classList.contains("view-list")) back(); else return; break;
      case "1": case "2": case "3": case "4": if (!state.open) return; tab(TABS[Number(ev.key) - 1], true); break;
      case "?": $("help-dialog").showModal(); break;
      default: return;
    }
    ev.preventDefault();
  });

  // ---- wiring ----------------------------------------------------------

  let searchTimer = 0;
  $("search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { state.q = $("search").value.trim(); closeView(); loadList(false); }, 250);
  });
  $("search-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearTimeout(searchTimer);
    state.q = $("search").value.trim();
    closeView();
    loadList(false);
    $("list").focus();
  });
  $("more").addEventListener("click", () => loadList(true));
  $("back").addEventListener("click", back);
  $("delete-one").addEventListener("click", deleteCurrent);
  $("delete-all").addEventListener("click", deleteAll);
  $("help-button").addEventListener("click", () => $("help-dialog").showModal());
  $("nav-toggle").addEventListener("click", () => show(document.body.classList.contains("view-nav") ? "list" : "nav"));
  $("remote-allow").addEventListener("click", () => {
    if (!state.open) return;
    state.remoteOK.add(state.open.id);
    renderHTML();
    $("html-frame").focus();
  });
  for (const t of TABS) $("tab-" + t).addEventListener("click", () => tab(t));
  $("list").addEventListener("focus", () => { if (state.sel < 0 && state.messages.length) setSel(0); });
  $("raw-link").addEventListener("click", (ev) => { if (state.token && state.open) { ev.preventDefault(); download($("raw-link").href, $("raw-link").getAttribute("download")); } });

  function start() {
    loadTree();
    loadList(false);
    live();
  }
  start();

  // The event stream tells of arrivals, deletions, flag changes and
  // folders made, renamed or deleted; a refresh now and then catches up
  // after events a slow page lost ("event: lost") or a stream held by a
  // proxy.
  setInterval(() => { if (!document.hidden && !document.querySelector("dialog[open]")) changed(); }, 15000);
})();
