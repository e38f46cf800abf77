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
//   - One shared state per open folder per process (mailbox.go) holds the
//     folder's UIDs, flags, sizes and dates in memory, and one
//     imapserver.MailboxTracker. It is fed only by the mailbox layer's
//     change events (maildir.Store.Subscribe), whoever made the change: this
//     session, another session, IMMP or SMTP delivery. Events are applied
//     idempotently by UID, so sequence numbers and EXPUNGE responses stay
//     consistent across sessions. After its own change a session waits for
//     the matching event (a barrier), so its own EXISTS/EXPUNGE/FETCH
//     responses come with the command's completion.
//   - EXAMINE is read-only in the backend (RFC 9051 6.3.3): STORE, EXPUNGE,
//     UID EXPUNGE, MOVE, and APPEND or COPY into the examined folder are
//     refused with NO [READ-ONLY]; CLOSE succeeds and expunges nothing
//     (RFC 9051 6.4.1); a non-PEEK body FETCH does not set \Seen.
//   - \Recent (RFC 3501 2.3.2) is kept in memory per process: a message is
//     recent in exactly one session, the first read-write session that
//     selects the folder after the message arrived, or that has it selected
//     when it arrives. Messages already present when the process first
//     opened a folder count as recent only if their internal date is after
//     the server started.
//   - SELECT reads the folder's index from the mailbox layer only, never a
//     message file, and nothing at all while the folder's state is alive:
//     it outlives its last session by Options.FolderLinger, kept current by
//     events. ENVELOPE and BODYSTRUCTURE are parsed once per message and
//     kept in a bounded LRU cache (a UID with its UIDVALIDITY names one
//     unchanging message).
//   - A rename of a selected folder leaves the selection working (the
//     layer's handle and events follow it); a deletion makes further
//     commands on it answer NO [NONEXISTENT].
//   - Cleartext LOGIN/AUTHENTICATE is offered only to loopback clients
//     unless Options.AllowInsecureAuth; elsewhere the client must use
//     STARTTLS or the implicit-TLS listener. Unknown user and wrong password
//     get the same NO [AUTHENTICATIONFAILED]; repeated failures from one
//     address or against one account are slowed down (internal/throttle);
//     a login that cannot be checked now (the address's turn or every
//     password hashing slot taken) is NO [UNAVAILABLE].
//
// Folder CREATE, DELETE and RENAME go through the same mailbox-layer
// operations as IMMP (draft 5.6, profile 6), so a subinbox made here is a
// delivery target at once. SUBSCRIBE state is the mailbox layer's (Dovecot's
// "subscriptions" file).
package imap
