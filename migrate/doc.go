// Package migrate brings existing mail into immp: a Maildir or Maildir++
// tree (Dovecot's, Courier's, offlineimap's, ...) and mbox files (RFC
// 4155, mboxrd and mboxo quoting). It writes only through the mailbox
// layer's API (maildir.Folder.Append and, to keep a Dovecot tree's UIDs,
// maildir.Folder.AppendWithUIDs), never into the Maildir behind the
// store, so it runs while the server serves the account: sessions see
// new messages arrive, nothing else.
//
// # Folder names
//
// A Maildir++ directory ".a.b" is the folder "a/b" (Dovecot with
// separator "/"), in modified UTF-7 (RFC 3501 5.1.3) with listescape's
// "\2e"-style escapes; ".INBOX.x" is the subinbox "INBOX/x"; the root is
// INBOX. A directory whose name immp cannot hold is reported and
// skipped.
//
// # Flags and dates
//
// Maildir info letters D F R S T become \Draft \Flagged \Answered \Seen
// \Deleted; a-z the keywords the source folder's dovecot-keywords names
// (P, "passed", has no IMAP flag and is dropped). INTERNALDATE is the
// file's mtime. In an mbox: Status R is \Seen, X-Status A F T D are
// \Answered \Flagged \Draft \Deleted, X-Keywords lists keywords, and
// INTERNALDATE is the date of the "From " line (the file's mtime when it
// has none).
//
// # UIDs
//
// When a source folder has a dovecot-uidlist and the immp folder has
// never numbered a message (new, or like a fresh account's INBOX), its
// messages are stored in one commit with Dovecot's UIDs and UIDVALIDITY
// and the next UID Dovecot would give, so IMAP clients keep their
// caches. Otherwise (the folder holds or held mail) they get new UIDs
// after the folder's own, and the summary says so for that folder: two
// numberings cannot be merged under one UIDVALIDITY. Files the source
// had not numbered get new UIDs after the kept ones.
//
// # Idempotence
//
// A message is the same as one already in the folder when the SHA-256 of
// its header block, its size and its INTERNALDATE (to the second) are
// equal, all taken with CRLF line ends as the store keeps them. The
// folder's messages are counted by that key first; each source message
// whose key is left in the count is a duplicate and uses one up. So a
// second run imports nothing, an interrupted run goes on where it
// stopped, and a source holding the same message twice gives it twice.
// No record is kept beside the mail: deleting an imported message and
// importing again brings it back.
//
// # Failures
//
// What cannot be read (a file that vanished or is not a regular file, a
// name go-maildir cannot parse, text before an mbox's first "From "
// line, a message over MaxMessageSize, an unreadable dovecot-uidlist)
// and what the store refuses (quota, an invalid keyword) is reported
// with its reason in the summary; everything else is imported.
package migrate
