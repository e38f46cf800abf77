// Package address maps a recipient address to the account and subinbox it
// names, and canonicalises sender addresses for the spam guard. It is pure:
// strings in, typed values out, no I/O.
//
// Mapping (draft 2.2.2, 5.1; profile 9):
//
//	alice@example.org             -> account alice@example.org, INBOX
//	work/alice@example.org        -> subinbox "work"         (INBOX/work)
//	office/work/alice@example.org -> subinbox "office/work"  (INBOX/work/office)
//	alice+work@example.org        -> subinbox "work"         (with PlusSubinbox)
//	office/alice+work@example.org -> subinbox "office/work"  (with PlusSubinbox)
//
// The subinbox is returned in address form (leaf first, profile 5); ""
// means INBOX. The rules, and the decisions this package takes where the
// draft and the profile are silent:
//
//   - One pair of enclosing angle brackets is accepted and removed
//     ("<alice@example.org>"), as is an RFC 5321 4.1.2 source route
//     ("<@relay.example:alice@example.org>", RFC 5321 C: ignored).
//   - The local part is either a Dot-string or an RFC 5321 Quoted-string.
//     A quoted local part is unquoted first and then read by the same
//     rules, so "\"my box/alice\"@example.org" files into subinbox
//     "my box" (quoting is the only way to put a space in a subinbox
//     name of an address).
//   - The local part is split at "/": the last piece is the account's
//     local part, the pieces before it are the subinbox, leaf first.
//   - With PlusSubinbox, a "+detail" in the last piece (from its first
//     "+") names one more component on the root side: "P/alice+D" is the
//     same as "P/D/alice". The detail is a single component: a "/" after
//     the "+" cannot be told apart from the prefix form and is read as
//     one ("alice+office/work" is subinbox "alice+office" of account
//     "work"). An empty detail ("alice+@...") is INBOX.
//   - A subinbox that is just "INBOX" (any case) is INBOX itself
//     ("inbox/alice", "alice+inbox"); INBOX as one of several components
//     is refused, as the mailbox layer refuses such a name.
//   - Subinbox components follow profile 5: non-empty UTF-8, at most 255
//     octets, no control characters, not "." or "..". So no address can
//     name a folder outside the account's INBOX tree.
//   - The account's local part is matched case-insensitively (lower-cased
//     in Target.Account), must be non-empty, at most 64 octets (RFC 5321
//     4.5.3.1.1) and, when not quoted, a Dot-string (no leading, trailing
//     or doubled dot). The subinbox keeps its case; the mailbox layer
//     looks it up case-insensitively (profile 5).
//   - The domain is compared case-insensitively with Mapper.Domains, a
//     trailing dot ignored on either side; any other domain is
//     ErrNotLocal.
//   - The whole address is at most 320 octets (MaxAddressLen); control
//     characters and invalid UTF-8 are refused anywhere.
//
// Errors are *Error values wrapping ErrInvalid or ErrNotLocal; test them
// with errors.Is. Their text carries a reason for logs, never the address.
//
// Senders: ParseSender canonicalises a reverse-path for comparison with
// spam guard entries (profile 7): brackets and source route removed, a
// quoted local part that needs no quoting unquoted, trailing dot of the
// domain removed, everything lower-cased, "" and "<>" (the null sender of
// bounces, RFC 5321 4.5.5) kept as "".
package address
