// Package imap is the IMAP server of immp: go-imap v2's imapserver speaks
// the protocol (RFC 3501, RFC 9051), this package is its backend over the
// mailbox layer (package maildir). An IMAP user sees exactly the folders,
// messages and flags that SMTP delivery and IMMP manage, at once.
//
// Capabilities: IMAP4rev1, IMAP4rev2, IDLE, MOVE, UIDPLUS, NAMESPACE,
// SPECIAL-USE, CHILDREN, LIST-EXTENDED, LIST-STATUS, STATUS=SIZE, LITERAL+,
// ESEARCH, SEARCHRES, UNSELECT, ENABLE, APPENDLIMIT, SASL-IR, AUTH=PLAIN,
// STARTTLS. Separator "/", one personal namespace with the empty prefix;
// subinboxes are INBOX's descendants ("INBOX/work/office", profile 5).
//
// What go-imap leaves to the backend, and how it is done here:
//
//   - A folder's state (UIDs, flags, keywords, \Recent) is the mailbox
//     layer's, the one copy in the process (maildir/doc.go). A selection
//     (select.go) registers a maildir.Watcher and keeps only what its
//     client was told: sequence numbers, expunges it may not hear yet
//     (none during FETCH, STORE, SEARCH: RFC 9051 7.5.1), its \Recent
//     set and the keywords it saw in FLAGS. After every command the
//     watcher is synced and its queue turned into EXISTS, EXPUNGE, FETCH
//     FLAGS and FLAGS, before the tagged OK: a change acknowledged before
//     a command started (a delivery's 250, another session's OK) reaches
//     the client in that command's response (TestReadYourWrites).
//   - A keyword used for the first time is announced with FLAGS before
//     any FETCH that carries it; PERMANENTFLAGS has \* (RFC 9051 7.1).
//   - EXAMINE is read-only in the backend (RFC 9051 6.3.3): STORE, EXPUNGE,
//     UID EXPUNGE, MOVE, and APPEND or COPY into the examined folder are
//     refused with NO [READ-ONLY]; CLOSE succeeds and expunges nothing
//     (RFC 9051 6.4.1); a non-PEEK body FETCH does not set \Seen.
//   - \Recent (RFC 3501 2.3.2) is held by exactly one session: the first
//     read-write selection after the message arrived, or the oldest one
//     that has the folder selected when it arrives (the mailbox layer
//     keeps the mark). Messages already present when the process first
//     opened a folder count as recent only if their internal date is
//     after the server started. SEARCH RECENT, NEW and OLD use it; STATUS
//     RECENT counts the unclaimed ones.
//   - SELECT reads the mailbox layer's in-memory state, never a message
//     file. ENVELOPE and BODYSTRUCTURE are parsed once per message and
//     kept in a bounded LRU cache (a UID with its UIDVALIDITY names one
//     unchanging message).
//   - MOVE into the selected folder (RFC 6851) gives the messages new
//     UIDs: COPYUID, then EXPUNGE and EXISTS.
//   - APPEND and COPY that would take the account over its storage quota
//     are NO [OVERQUOTA] (RFC 5530) and store nothing; MOVE, EXPUNGE and
//     DELETE never are, so a user over quota can make room (the mailbox
//     layer decides: maildir/quota.go). No QUOTA extension (RFC 9208).
//   - Deleting the account (here or with the CLI in another process)
//     ends its sessions with BYE.
//   - A rename of a selected folder leaves the selection working (the
//     layer's handle and events follow it); a deletion makes further
//     commands on it answer NO [NONEXISTENT].
//   - Cleartext LOGIN/AUTHENTICATE is offered only to loopback clients
//     unless Options.AllowInsecureAuth; elsewhere the client must use
//     STARTTLS or the implicit-TLS listener. Unknown user and wrong password
//     get the same NO [AUTHENTICATIONFAILED]; repeated failures from one
//     address are slowed down (internal/throttle).
//   - Accept failures for want of descriptors (EMFILE, ENFILE) are
//     retried with a pause of 5 ms doubling to 1 s (internal/netutil).
//     Past MaxConns connections on a listener a client gets "* BYE
//     [UNAVAILABLE] Too many connections, try again later", past
//     MaxConnsPerIP from its address (IMAP and IMAPS together) "* BYE
//     [LIMIT] ..." (RFC 9051 7.1.5, RFC 5530), and is closed; on the
//     implicit-TLS port it is closed without a word.
//
// Folder CREATE, DELETE and RENAME go through the same mailbox-layer
// operations as IMMP (draft 5.6, profile 6), so a subinbox made here is a
// delivery target at once. SUBSCRIBE state is the mailbox layer's (Dovecot's
// "subscriptions" file).
package imap
