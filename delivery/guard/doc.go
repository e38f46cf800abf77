// Package guard gives the spam guard's verdict (draft 6.4, 6.5.1; profile
// 7, 8, 9): may this sender mail this recipient? It is called in process
// by the Receiver-SMTP at RCPT time and by the IMMP server for
// VERIFYINSPAMGUARDAGENT.
//
// Place. It lives under delivery because delivery needs it and protocol
// packages point down to delivery and storage only: it imports the
// mailbox layer (maildir) and delivery/address, never a protocol package
// (smtp, imap, immp and below); internal/layering checks that.
//
// Semantics. The recipient is reduced to its account by an
// address.Mapper (subinbox prefix or +detail removed); an address that is
// not local, not valid, or names no account is NoSuchAccount. The null
// sender ("" or "<>", RFC 5321 4.5.5) is never blocked. Otherwise the
// sender, canonicalised by address.ParseSender (brackets and source route
// dropped, needless quotes removed, trailing dot of the domain dropped,
// lower-cased), is Blocked when any entry of any of the account's agents
// matches it as a whole: entries are addresses or patterns in which "*"
// matches any run of characters and "?" one character, compared
// case-insensitively (Match). A non-nil error means "cannot decide now".
//
// Speed. The entries stay in the mailbox layer's SQLite database; this
// package keeps, per account, an immutable in-memory index built from
// Store.AllEntries on first use: exact addresses in a hash set, "*@D" and
// "*@*.D" in hash sets looked up with the sender's domain tails, other
// patterns filed under one rare 4-gram (or 3-gram) of their literal text,
// so a verdict costs a handful of hash lookups whatever the list size; only
// patterns with no three literal octets in a row are tried for every
// sender. Patterns are matched segment by segment without backtracking.
// Recipients already seen are remembered with their account, so repeated
// recipients skip the address mapping. Caches of unknown accounts and of
// recipients are bounded (a sender chooses them).
//
// Freshness. The cache (accounts, unknown accounts, indexes) belongs to
// one value of Store.GuardVersion, which moves with every change to
// accounts, agents or entries, in any process. The version is read at
// most every Options.MaxStaleness (default 200 ms), so a change made
// elsewhere is seen within that bound plus one version read; a change made
// in this process is seen at once if the changer calls Invalidate. When the
// version moves, the whole cache is dropped and indexes are rebuilt on
// their next use.
package guard
