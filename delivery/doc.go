// Package delivery is the durable delivery orchestration the Receiver-SMTP
// (and submission) uses: it decides, per recipient at RCPT time, whether a
// message may be accepted, and after the data files one written copy into
// every accepted recipient's folder through the mailbox layer's delivery
// transaction.
//
// RCPT time (draft 2.2.2, profile 9): the address is mapped to an account
// and a subinbox (package address); a domain that is not local is a relay
// attempt and is refused (never an open relay); an unknown account is
// refused; the sender is checked against the recipient's spam guard in
// process; an account at or over its storage quota (or too full for the
// size MAIL declared) is refused for the time being (CheckQuota). Each outcome is a *Error carrying a Reason; the protocol package
// translates reasons to its wire codes in one place. Mail to postmaster@
// any local domain, and to a bare "postmaster", is accepted where no
// account of that name exists and goes to the postmaster route
// (postmaster.go; RFC 5321 4.5.1).
//
// Submission ownership (Owns): an address belongs to an account when it
// maps to it (any subinbox prefix or +detail, so REPLACEd subinbox names
// too: profile 9), and postmaster@ a local domain belongs to the account
// its mail goes to. No account has '+' in its name (maildir), so
// alice+x@ is always alice's.
//
// After the data: each recipient's subinbox is looked up again (REPLACE
// aliases included), since it may have been deleted or replaced while the
// message was in flight; if it no longer exists the copy goes to INBOX
// (draft 2.2.2: nothing is dropped). Return-Path, Received (RFC 5321 4.4)
// and, for a single-account transaction, Delivered-To are prepended; the
// message is written once and committed to every recipient in one
// transaction (the layer hard-links the copies), and Deliver returns only
// after that commit made every copy durable (profile 9). Any storage
// failure aborts the transaction: nothing is half delivered, and the caller
// answers with a temporary failure so the client retries. A message that
// does not fit in a recipient's storage quota is refused as a whole
// (ReasonOverQuota, permanent): one reply answers every recipient, and a
// partial delivery would drop the refused copy silently.
//
// Why Delivered-To and "for" only with one account: all recipients share
// one written file (hard links), so a header naming one recipient would be
// seen by the others and disclose Bcc recipients to each other.
//
// Capture ([testbed] capture, capture.go): every domain is local
// (address.Mapper.AnyDomain), so a recipient at any domain is accepted,
// before any relay decision, into an account made for it whatever
// auto_create says; guard and subinboxes apply as for local accounts;
// postmaster@ another domain is captured like any address.
//
// Package direction: protocol packages (smtp, immp, imap) import delivery
// and the mailbox layer, never the reverse. delivery and its subpackages
// (address, guard) import only the mailbox layer and internal helpers;
// internal/layering's test fails if one of them imports a protocol
// package.
package delivery
