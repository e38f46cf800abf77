// Package server assembles one immp process: it binds every configured
// listener, opens the mailbox layer and builds the SMTP, submission,
// IMAP, IMMP and HTTP servers over it (DESIGN "Layout"). cmd/immp's serve
// verb and the in-process test server both start it through Start, so a
// test runs exactly what a deployment runs.
//
// Invariants:
//   - Every listener is bound before the store is opened: a port in use
//     fails startup before anything on disk is touched (BindError).
//   - Run reports ready (/readyz 200) only once every listener serves and
//     the store is open, and not ready again from the moment shutdown
//     begins.
//   - Shutdown lets in-flight transactions finish within shutdown_grace
//     and closes the store last.
//   - With [outbound] enabled, the outbound queue's runner starts in
//     Start and stops with the servers (outbound.go); it holds the
//     queue's lock, so one process delivers from a data directory.
package server
