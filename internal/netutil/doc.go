// Package netutil is what every listener of immp shares (SMTP, submission,
// IMAP, IMAPS, IMMP, IMMPS, HTTP): an accept loop that outlives running
// out of file descriptors, and the connection caps.
//
// Listener wraps a net.Listener:
//
//   - Accept retries temporary failures (EMFILE, ENFILE, ENOBUFS, ENOMEM,
//     ECONNABORTED, ...; see Temporary) after a pause of 5 ms, doubling up
//     to 1 s, as net/http's Server.Serve does, instead of handing them to
//     the server, which would stop serving for good. While the process has
//     no descriptor left, the kernel keeps new connections in the listen
//     queue; they are accepted once descriptors are free again. Close ends
//     a pause at once.
//   - At most MaxConns connections are open at once on the listener, and
//     at most PerIP's cap from one client address (the per-address limiter
//     may be shared by the listeners of one server). A connection over a
//     cap is never handed to the server: it is told so in its protocol's
//     words (Busy, TooMany: SMTP "421 4.7.0", IMAP and IMMP "* BYE", HTTP
//     503) and closed. Saying so takes a goroutine and the descriptor for
//     up to RefuseTimeout; at most MaxRefusing refusals are in progress,
//     past that a connection is closed without a word, so a flood cannot
//     turn refusals into the exhaustion they prevent.
//
// Invariants (tested in listener_test.go):
//   - Accept returns only admitted connections, and each admitted
//     connection gives its slots back exactly once, on its first Close,
//     however many layers (TLS, counters) close it.
//   - A temporary accept failure never reaches the caller; any other
//     failure (the listener closed) does, at once.
//   - Refusals and accept failures are logged at most once per
//     LogEvery per listener, with the number left unsaid, so a flood
//     cannot flood the log.
//
// No package-level mutable state.
package netutil
