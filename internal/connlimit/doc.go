// Package connlimit caps the connections one client IP address may hold
// open at once, for the IMAP and IMMP servers (the SMTP server counts its
// own, since go-smtp hands it each connection). A client over the cap is
// told so in its protocol's words and disconnected before any session
// state is built, so one address cannot starve the others of file
// descriptors or memory.
//
// Invariant: every admitted connection releases its slot exactly once, on
// its first Close, however many layers (TLS, counters) close it.
package connlimit
