// Package admin is the account administration page for people who prefer
// a browser to a shell: list accounts with their storage use, add and
// remove accounts, reset passwords, see the outbound queue's size where
// the server has one. It is served at /admin/ on the [http] listener
// only when [http] admin_password_file is set.
//
// It follows the rules of "immp user add|del|passwd" (cmd/immp/user.go):
// the same maildir.Store calls, maildir.NewAccountAddress for new
// accounts (no '+'), the address's domain among the configured domains,
// a non-empty password, quotas as config sizes ("1GiB", "unlimited",
// "default").
//
// Security model (the page is plain HTTP on a trusted network or behind
// an HTTPS proxy):
//   - Login with the admin password; a session is a random 256-bit cookie
//     (HttpOnly, SameSite=Strict, Path=/admin/, Secure behind TLS) held
//     in memory for SessionTTL; logging out, a restart or a new password
//     (SIGHUP) ends every session.
//   - Failed logins are slowed down per client address (internal/throttle).
//   - CSRF: every form carries the session's random token, and every POST
//     whose token does not match is refused with 403 before anything is
//     changed; a POST whose Origin is another site is refused as well.
//   - Responses carry a strict Content-Security-Policy (no script at all,
//     styles from /admin/static only, no framing) and Cache-Control:
//     no-store; templates are html/template (contextual escaping).
//
// Invariants:
//   - No state-changing request succeeds without a valid session and its
//     CSRF token.
//   - Deleting an account (and its mail) needs its address typed again.
//   - Request bodies are bounded in size (MaxFormBytes) and in time
//     (FormTimeout; then the connection is closed): TestSlowForm.
package admin
