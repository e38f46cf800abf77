// Package foldername holds the rules for folder and subinbox names and for
// LIST, in one place for every protocol: the IMMP server, the IMAP server,
// the IMAP fallback client (draft 5.6) and the mailbox layer all use it,
// so that they accept the same names and answer every LIST query alike.
//
// It is a leaf: it imports the standard library only, so both the mailbox
// layer below and the protocol packages above can use it, and a client
// (immp/fallback) can apply the server's rules without the storage code.
//
// # Names (profile 5)
//
// INBOX is the root; subinboxes are its descendants. A subinbox name is
// in address form, leaf first ("office/work"), or absolute, root first
// and beginning with INBOX in any case ("INBOX/work/office", also its IMAP
// name). Components are non-empty UTF-8, at most 255 octets, without "/"
// or control characters, never "." or ".."; a subinbox component is never
// INBOX. A trailing "/" is ignored. Names are case-preserving; inside
// INBOX they are looked up and matched ignoring case (Fold is the key of
// strings.EqualFold), outside it exactly (RFC 9051 5.1). ParseSubinbox,
// SubinboxName, Canonical and MoveNames apply these rules; nothing else
// may (the mailbox layer keeps only where folders go on disk and what
// parents must exist).
//
// # Modified UTF-7 (RFC 3501 5.1.3)
//
// EncodeMUTF7 and DecodeMUTF7 convert names to and from the spelling used
// on the IMAP wire and on disk. DecodeMUTF7 refuses everything RFC 3501
// forbids (unterminated or adjacent shifts, non-zero padding bits, shifted
// printable ASCII, lone surrogates), so every name has one spelling.
//
// # LIST
//
// Join reads a reference and a pattern as one pattern, the reference
// followed by the pattern as written (a level of the hierarchy is named
// with its trailing "/"), as Dovecot reads them; Match compares it
// with an absolute name in O(len(pattern) x len(name)) whatever the
// wildcards ("*" anything, "%" anything but "/"). ListSubinboxes is IMMP
// LIST (profile 6) over a list of folder names: absolute or address form,
// the reference's spelling echoed, children flagged, sorted by the name
// sent. The IMAP server selects with Join and Match and adds what only
// IMAP has (attributes, subscriptions, LIST-EXTENDED).
//
// Invariants, each with a test: Match agrees with the backtracking
// definition (FuzzMatch); every ListSubinboxes answer names a listed
// folder, in the form the query asked for, matching the pattern
// (FuzzListSubinboxes); Fold(a) == Fold(b) exactly when strings.EqualFold
// (TestFoldAgreesWithEqualFold); whatever DecodeMUTF7 accepts encodes
// back to the same octets, and every UTF-8 name survives EncodeMUTF7 and
// DecodeMUTF7 (FuzzMUTF7).
package foldername
