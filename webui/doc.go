// Package webui is immp's web interface for the integration test bed
// (issue "The integration test bed", point 3): a page that lists the
// accounts and folders, shows a live message list, opens a message (text,
// sanitised HTML, headers, raw source, attachments), searches and deletes.
// It is served at / on the [http] listener, beside the JSON API under
// /api/v1/ that it uses for everything; it has no server-side logic of its
// own and reads no mailbox directly.
//
// The assets (assets/: index.html, app.css, app.js, sanitize.js,
// favicon.svg) are plain files embedded in the binary with embed.FS: no
// build step, no CDN, nothing fetched from elsewhere. They use relative
// URLs, so the UI also works behind a reverse proxy under a path prefix.
//
// Availability follows the API's: the server mounts the handler only where
// the API is on (the test-bed profile, or a configured bearer token, which
// the page then asks for and keeps in the tab's sessionStorage). The
// assets themselves hold no mail.
//
// Security model. Mail is hostile input; the page shows it as follows:
//   - Every field of a message enters the page through textContent, never
//     as markup; the page itself carries no inline script or style.
//   - The HTML part is parsed inert (DOMParser), reduced to an allowlist of
//     elements and attributes (sanitize.js), and placed in an iframe by
//     srcdoc with sandbox="allow-popups allow-popups-to-escape-sandbox":
//     no script, no same-origin access, no forms, links open outside. The
//     frame document carries its own Content-Security-Policy (meta)
//     "default-src 'none'; style-src 'unsafe-inline'; img-src data:", so a
//     remote image (a tracking pixel) is not fetched until the reader
//     presses "Load remote images", which re-renders with img-src http:
//     https:. Either wall alone stops script.
//   - The page's own policy (PolicyHeader) allows script and style only
//     from its own origin, with two deliberate widenings that exist only
//     because a srcdoc frame inherits the page's policy (CSP 3, "policy
//     container"): style-src 'unsafe-inline' (mail is styled inline) and
//     img-src http: https: (so that the reader's "load images" can work).
//     The frame's own policy narrows both again. script-src has no
//     'unsafe-inline' and no 'unsafe-eval', so injected markup cannot run.
//   - frame-ancestors 'none' (no clickjacking), form-action 'none',
//     base-uri 'none', connect-src 'self', object-src 'none'; nosniff and
//     Referrer-Policy: no-referrer on every answer.
//
// Invariants (tested in webui_test.go and, in a real browser, in
// integration/webui_test.go and webui_sanitize_test.go):
//   - The sanitiser's output, parsed again as srcdoc parses it, holds no
//     script, event handler, script URL, frame, form, base or meta element
//     but its own, and its frame policy is the first element of its head.
//   - Every answer of the handler carries PolicyHeader.
//   - The assets refer to nothing outside the origin (no http:, https: or
//     protocol-relative URL in any src, href or url()).
//   - Only the embedded files are served; anything else is 404.
package webui
