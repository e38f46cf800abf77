// Package mimeparse reads the structure of an Internet message (RFC 5322)
// and its MIME parts (RFC 2045, RFC 2046) for the IMAP server: the part
// tree behind BODYSTRUCTURE and BODY[section] (RFC 9051 6.4.5, 7.5.2),
// address lists for ENVELOPE, MIME parameters (RFC 2231), and transfer
// and header decoding for SEARCH and BINARY (RFC 3516). Everything here
// is a pure function of its input; nothing fails: malformed input gives
// a degraded but well-formed result.
//
// The parsers follow Dovecot's (lib-mail: message-parser,
// message-address, rfc822-parser, rfc2231-parser) so that immp and a
// Dovecot pointed at the same Maildir describe a message alike: a
// boundary matches as a prefix of a line, innermost multipart first and
// the longest match winning; a multipart without a boundary parameter
// has no parts; a part with no Content-Type in multipart/digest is
// message/rfc822; a comment after a bare addr-spec is its display name;
// groups give start and end markers; broken addresses get
// MISSING_MAILBOX / MISSING_DOMAIN / SYNTAX_ERROR rather than vanish.
// One deliberate difference: a syntactically invalid Content-Type is
// text/plain, as RFC 2045 5.2 says, where Dovecot keeps its fragments.
//
// # Cost of a hostile message
//
// Parse makes one pass over the message, never copies a body and never
// recurses into a body it has already read: a part is a set of offsets.
// Its limits are Dovecot's defaults, chosen because they are what the
// Dovecot side of a shared Maildir applies, and because real mail stays
// far below them (MIME nesting rarely passes 5, part counts rarely pass
// a few hundred):
//
//   - DefaultMaxDepth = 100 nested multipart and message/rfc822 parts
//     (MESSAGE_PARSER_DEFAULT_MAX_NESTED_MIME_PARTS). A container deeper
//     than that is a leaf, written as application/octet-stream.
//   - DefaultMaxParts = 10000 parts in all
//     (MESSAGE_PARSER_DEFAULT_MAX_TOTAL_MIME_PARTS). Past it no boundary
//     is recognized: the rest of the message is the body of the part
//     being read.
//   - MaxBoundary = 80 octets of a boundary are used, MaxParams = 128
//     parameters of a field, DefaultMaxAddresses = 10000 addresses per
//     message's envelopes (the latter is immp's: Dovecot has none, and a
//     header of "a,a,a,..." would otherwise cost some 50 bytes of
//     ENVELOPE per 2 octets of message).
//
// So Parse's time is O(n·d) for a message of n octets with at most d
// boundaries open at once (d ≤ 100; only lines that start with "--" are
// compared), and its memory O(parts) ≤ 10000 small structs plus the
// parsed parameters, which are bounded by n. The IMAP layer turns the
// tree into go-imap structures whose size is bounded the same way, and
// sizes them for its cache.
//
// Invariants (tested): every Part satisfies Start ≤ HeaderEnd ≤
// BodyStart ≤ End ≤ len(msg) and children lie inside their parent's
// body in order; a Message part has exactly one child, which starts at
// its BodyStart; depth and part count never pass the limits.
package mimeparse
