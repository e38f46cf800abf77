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
//   - Every TLS listener asks one certificate source at each handshake
//     (tlssource.go): cert/key files (reloaded on change within 30s and
//     at once on Options.Reload, i.e. SIGHUP), self-signed, or ACME
//     (acme.go: certmagic, storage data_dir/acme, renewed in the
//     background, the self-signed certificate served until the first one
//     arrives; stored certificates are loaded during Start, so a restart
//     serves them from the first handshake, with or without the CA). A TLS-ALPN-01 handshake (only "acme-tls/1" offered) gets
//     the challenge certificate; any other keeps a config without ALPN.
//   - The admin page (/admin/) exists only with http.admin_password_file;
//     client autoconfiguration only with http.autoconfig (tlsops.go).
package server
