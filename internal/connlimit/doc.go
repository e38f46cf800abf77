// Package connlimit caps the connections one client IP address may hold
// open at once. Every listener applies it through internal/netutil (one
// Limiter per server, shared by its listeners: IMAP and IMAPS count
// together). A client over the cap is told so in its protocol's words
// and disconnected before any session state is built, so one address
// cannot starve the others of file descriptors or memory.
//
// Invariant: every admitted connection releases its slot exactly once, on
// its first Close, however many layers (TLS, counters) close it; and it
// can still be half-closed (CloseWrite) when the connection below can,
// which the lingering close of every server above depends on.
package connlimit
