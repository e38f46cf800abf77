// Package fallback is the client side of draft 5.6: subinbox management
// that tries IMMP first and, when the IMMP server refuses the connection,
// does the same over IMAP.
//
// Over IMAP, subinboxes are INBOX's descendant folders (profile 5): names
// are translated between address form ("office/work", leaf first) and the
// absolute IMAP name ("INBOX/work/office"). CREATE, DELETE and RENAME map
// one to one; MOVE is one RENAME to the new parent; LIST reads
// LIST "" "INBOX/*" and applies IMMP LIST (profile 6) locally with
// internal/foldername's ListSubinboxes, the function the IMMP server
// answers with, so the answers are the ones the IMMP server gives (a test
// runs the same queries through both). REPLACE is refused
// with ErrNeedsIMMP: its point is that mail to the old subinbox is filed
// into the new one from then on, which IMAP cannot express, and doing only
// the message move would silently change where that mail goes.
//
// Only a refused connection (ECONNREFUSED) triggers the fallback; any other
// IMMP failure (timeout, TLS, authentication) is reported as it is, so a
// wrong password is never retried against a second server.
//
// The package is a client: it speaks IMMP (immp/client) and IMAP
// (go-imap's imapclient) and uses internal/foldername for names, never
// the mailbox layer (maildir) or a server package; internal/layering
// checks that.
package fallback
