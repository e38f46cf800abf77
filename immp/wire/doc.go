// Package wire is the IMMP codec (draft-sabarish-immp-00 sections 2.3, 4;
// the project's IMMP profile sections 1 and 2): framing of client commands
// with their limits, a pure command parser, a response writer, and a pure
// response parser for clients.
//
// Nothing here touches the mailbox layer or knows connection state; the
// server and the client build on it.
//
// # Framing and limits (profile 1)
//
// Reader.ReadCommand reads one command: its first line and, for every
// literal announced at the end of a line, the literal's octets and the line
// that follows. Lines end in CRLF; a bare LF is accepted. Limits:
//
//   - The text of one command (all its lines, literal data excluded) is at
//     most Limits.MaxLine octets (8 KiB). A longer line is not kept: what
//     exceeds the limit is discarded as it streams in, up to the end of the
//     command, and ReadCommand returns a *LimitError (answer BAD; the
//     connection stays usable).
//   - The literal data of one command is at most Limits.MaxLiteral octets
//     in total (64 KiB). For a synchronizing literal {n} over the limit no
//     "+" is sent: the client must then abandon the command (RFC 9051
//     7.5), so nothing more is read. For a non-synchronizing literal {n+}
//     (LITERAL+, RFC 7888) the client sends the octets anyway: they are
//     read and discarded in small chunks, never stored; a {n+} larger than
//     Limits.MaxSkip (100 MiB) is not worth waiting for and ReadCommand
//     returns ErrTooLarge, after which the server sends "* BYE" and closes.
//     The time a discard may take is bounded by the server's read deadline.
//   - A literal announcement inside a quoted string is not one: the reader
//     tracks quoting as it scans each line, as the parser does.
//
// # Syntax accepted (profile 2)
//
// Tags are ASTRING-CHARs except "+" (RFC 9051 9). Atoms, quoted strings
// with \" and \\ escapes (UTF-8 allowed, RFC 9051), literals {n} and {n+},
// NIL, parenthesized lists nested at most MaxDepth deep. Command names and
// keywords are case-insensitive. The draft's own examples put two spaces
// between arguments, a space before ")" and a trailing space at the end of
// a line; the parser therefore accepts runs of spaces between tokens,
// inside parentheses and at the end of the line. The two VERIFY commands
// may come without a tag (draft 6.5, profile 8): a line whose first word
// is VERIFYINSPAMGUARDAGENT or VERIFYSUBINBOX and that parses as that
// command with its two arguments is untagged; otherwise its first word is
// a tag.
//
// ParseCommand checks each command's grammar, so a Command that parses has
// exactly the arguments its name requires (see Command).
package wire
