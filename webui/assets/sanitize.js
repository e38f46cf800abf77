// immp web UI: the HTML sanitiser. A message's HTML part is parsed inert
// (DOMParser runs no script and loads nothing), reduced to an allowlist of
// elements and attributes, and wrapped in a document whose own
// Content-Security-Policy blocks every remote load unless the reader asked
// for remote images. The result goes into a sandboxed iframe's srcdoc
// (no allow-scripts, no allow-same-origin): the sanitiser and the frame
// policy are two separate walls, each enough on its own to stop script.
"use strict";
(function () {
  // Elements dropped together with everything inside them.
  const DROP = new Set(["script", "iframe", "frame", "frameset", "object", "embed", "applet",
    "noscript", "template", "link", "meta", "base", "form", "input", "button", "select",
    "textarea", "option", "svg", "math", "audio", "video", "source", "track", "canvas",
    "portal", "param", "dialog", "title"]);
  // Elements kept; anything else is replaced by its children.
  const KEEP = new Set(["a", "abbr", "address", "article", "aside", "b", "bdi", "bdo", "big",
    "blockquote", "br", "caption", "center", "cite", "code", "col", "colgroup", "dd", "del",
    "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "font", "footer",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "i", "img", "ins", "kbd", "li",
    "main", "mark", "nav", "ol", "p", "pre", "q", "s", "samp", "section", "small", "span",
    "strike", "strong", "style", "sub", "summary", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "time", "tr", "tt", "u", "ul", "var", "wbr"]);
  const ATTRS = new Set(["align", "alt", "bgcolor", "border", "cellpadding", "cellspacing",
    "class", "color", "cols", "colspan", "dir", "face", "height", "hspace", "id", "lang",
    "rows", "rowspan", "size", "span", "start", "style", "summary", "title", "type", "valign",
    "vspace", "width", "href", "src", "background", "datetime", "open", "reversed", "scope"]);
  const REMOTE_CSS = /url\(\s*['"]?\s*(?:https?:)?\/\//i;

  // cidURL is the data: URL the caller gave for a Content-ID, if any.
  function cidURL(cid, id) {
    let key;
    try { key = decodeURIComponent(id); } catch (e) { return null; }
    const u = Object.prototype.hasOwnProperty.call(cid, key) ? cid[key] : null;
    return typeof u === "string" && /^data:image\/(png|gif|jpeg|webp|bmp);base64,/i.test(u) ? u : null;
  }

  function safeHref(v) {
    const s = v.trim();
    if (s.startsWith("#")) return s;
    return /^(https?:|mailto:)/i.test(s) ? s : null;
  }

  // sanitize returns {html, remote}: the document for srcdoc and the count
  // of remote resources it refers to (images, CSS backgrounds).
  // cid maps a Content-ID (without <>) to a data: URL for inline images.
  function sanitize(input, opts) {
    opts = opts || {};
    const cid = opts.cid || {};
    const doc = new DOMParser().parseFromString(String(input), "text/html");
    let remote = 0;
    const styles = [];

    function walk(node) {
      for (const child of Array.from(node.childNodes)) {
        if (child.nodeType === Node.COMMENT_NODE || child.nodeType === Node.PROCESSING_INSTRUCTION_NODE) {
          child.remove();
          continue;
        }
        if (child.nodeType !== Node.ELEMENT_NODE) continue;
        const name = child.localName;
        if (DROP.has(name) || child.namespaceURI !== "http://www.w3.org/1999/xhtml") {
          child.remove();
          continue;
        }
        if (!KEEP.has(name)) {
          walk(child);
          child.replaceWith(...Array.from(child.childNodes));
          continue;
        }
        if (name === "style") {
          const css = child.textContent;
          if (REMOTE_CSS.test(css)) remote++;
          // A style element's text is serialised raw: "</style" would end it
          // early when srcdoc is parsed again.
          styles.push(css.replace(/@import[^;]*;?/gi, "").replace(/<\/?style/gi, ""));
          child.remove();
          continue;
        }
        for (const a of Array.from(child.attributes)) {
          const an = a.name.toLowerCase();
          if (!ATTRS.has(an)) {
            child.removeAttribute(a.name);
            continue;
          }
          if (an === "href") {
            const h = safeHref(a.value);
            if (h === null) child.removeAttribute(a.name);
          } else if (an === "src" || an === "background") {
            const v = a.value.trim();
            const inline = /^cid:/i.test(v) ? cidURL(cid, v.slice(4)) : null;
            if (inline) {
              child.setAttribute(a.name, inline);
            } else if (/^(https?:)?\/\//i.test(v)) {
              remote++;
            } else if (!/^data:image\/(png|gif|jpeg|webp|bmp);/i.test(v)) {
              child.removeAttribute(a.name);
            }
          } else if (an === "style" && REMOTE_CSS.test(a.value)) {
            remote++;
          }
        }
        if (name === "a") {
          child.setAttribute("target", "_blank");
          child.setAttribute("rel", "noopener noreferrer");
        }
        walk(child);
      }
    }
    walk(doc.head);
    walk(doc.body);

    const img = opts.allowRemote ? "data: http: https:" : "data:";
    const csp = "default-src 'none'; style-src 'unsafe-inline'; img-src " + img +
      "; font-src data:; form-action 'none'; base-uri 'none'";
    const out = document.implementation.createHTMLDocument("");
    const head = out.head;
    head.replaceChildren(); // the policy must come first: it covers only what follows it
    const meta = (attrs) => {
      const m = out.createElement("meta");
      for (const k in attrs) m.setAttribute(k, attrs[k]);
      head.appendChild(m);
    };
    meta({ "http-equiv": "Content-Security-Policy", content: csp });
    meta({ name: "referrer", content: "no-referrer" });
    const base = out.createElement("style");
    base.textContent = "html{color-scheme:light}body{margin:12px;font:15px/1.45 system-ui,sans-serif;overflow-wrap:anywhere;background:#fff;color:#111}img{max-width:100%;height:auto}";
    head.appendChild(base);
    for (const css of styles) {
      const s = out.createElement("style");
      s.textContent = css;
      head.appendChild(s);
    }
    for (const n of Array.from(doc.body.childNodes)) out.body.appendChild(out.importNode(n, true));
    return { html: "<!doctype html>" + out.documentElement.outerHTML, remote: remote };
  }

  window.immpSanitize = sanitize;
})();
