// Package client is a Go client for IMMP (draft-sabarish-immp-00 as fixed
// by the project's IMMP profile): connect in cleartext, with STARTTLS or
// with implicit TLS; log in with LOGIN or AUTHENTICATE PLAIN (SASL-IR when
// offered); and run every command of the draft. Strings go out quoted when
// they are printable ASCII and short, and as literals otherwise (LITERAL+
// when the server offers it, else waiting for the "+" continuation).
//
// A command that does not complete with OK returns an *Error carrying the
// status (NO or BAD), the response code (NONEXISTENT, BLOCKED, ...) and
// the server's text, so callers branch on codes, never on text.
//
// A Client runs one command at a time; it is safe for concurrent use, the
// commands being serialized. When a command's context ends, the connection
// is closed (its state would be unknown) and later commands fail.
package client
