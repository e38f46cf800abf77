// Package imap is the IMAP server of immp: go-imap v2's imapserver speaks
// the protocol (RFC 3501, RFC 9051), this package is its backend over the
// mailbox layer (package maildir). An IMAP user sees exactly the folders,
// messages and flags that SMTP delivery and IMMP manage, at once.
//
// Capabilities: IMAP4rev1, IMAP4rev2, IDLE, MOVE, UIDPLUS, NAMESPACE,
// SPECIAL-USE, CHILDREN, LIST-EXTENDED, LIST-STATUS, STATUS=SIZE, LITERAL+,
// ESEARCH, SEARCHRES, UNSELECT, ENABLE, APPENDLIMIT, SASL-IR, AUTH=PLAIN,
// STARTTLS, CONDSTORE and QRESYNC (RFC 7162). Separator "/", one personal
// namespace with the empty prefix;
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
//   - A flag change of another session still queued when this session
//     changes the same message itself is not sent after the command's
//     answer (it would undo the newer flags at the client): the folder's
//     state shows the message changed since (TestCondStoreOwnChangeNotUndone).
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
//     kept in an LRU cache bounded in entries and in estimated bytes
//     (Options.CacheEntries, Options.CacheBytes; a UID with its
//     UIDVALIDITY names one unchanging message).
//   - MOVE into the selected folder (RFC 6851) gives the messages new
//     UIDs: COPYUID, then EXPUNGE and EXISTS.
//   - APPEND and COPY that would take the account over its storage quota
//     are NO [OVERQUOTA] (RFC 5530) and store nothing; MOVE, EXPUNGE and
//     DELETE never are, so a user over quota can make room (the mailbox
//     layer decides: maildir/quota.go). No QUOTA extension (RFC 9208).
//   - Deleting the account (here or with the CLI in another process)
//     ends its sessions with BYE.
//   - Message structure is immp's, not go-imap's (whose helpers re-read
//     every nested message/rfc822 body, panic on a multipart without
//     boundary and drop address groups): package internal/mimeparse
//     parses a message in one pass into a tree of offsets, with
//     Dovecot's limits (100 levels, 10000 parts; deeper containers are
//     application/octet-stream leaves), and structure.go builds ENVELOPE
//     and BODYSTRUCTURE from it as Dovecot writes them (group markers,
//     comment names, encoded-words left to the client, an empty
//     text/plain child for a multipart without parts), never a value
//     go-imap's writer panics on. BODY[section] and BINARY[section]
//     (RFC 3516, UNKNOWN-CTE for an unknown encoding) are cut from the
//     same tree (sections.go). A hostile message costs memory and time
//     linear in its size (see mimeparse); TestHostileMessagesMemory
//     bounds the heap while fetching 768 KB ones.
//   - SEARCH FROM/TO/CC/BCC match the field text and its normalized
//     address list, as Dovecot does (comments dropped, "Name <a@b>");
//     BODY and TEXT search text/* and message/* parts decoded (transfer
//     encoding, charset), TEXT also every header.
//   - CONDSTORE (condstore.go; RFC 7162 section 3.1): go-imap, as patched
//     in third_party/go-imap, parses and writes it and marks the session
//     CONDSTORE-aware after ENABLE CONDSTORE or an enabling command
//     (SELECT/EXAMINE (CONDSTORE), STATUS (HIGHESTMODSEQ), FETCH MODSEQ
//     or CHANGEDSINCE, SEARCH MODSEQ, STORE UNCHANGEDSINCE). The values
//     are the mailbox layer's modseqs, read from the folder's state with
//     the flags they belong to, or from a change's event; the session
//     keeps no copy. Once enabled, SELECT/EXAMINE report HIGHESTMODSEQ
//     (a folder selected before is told once, in the next response),
//     and every FETCH carrying FLAGS carries MODSEQ, also the updates
//     caused by other sessions and after STORE .SILENT (UID MODSEQ
//     alone). CHANGEDSINCE n returns the messages whose modseq is above
//     n. STORE UNCHANGEDSINCE n is tested and applied in one step under
//     the folder's lock (maildir.Folder.StoreFlagsIf); the messages that
//     fail are named in the tagged OK as [MODIFIED set] (sequence
//     numbers, UIDs for UID STORE). SEARCH MODSEQ n matches modseq >= n
//     (an entry name is answered with the message's modseq, there being
//     one per message), and the result carries the highest modseq of
//     the messages returned (of MIN and MAX when ESEARCH returns only
//     them). HIGHESTMODSEQ never goes back, also across a restart
//     (TestCondStoreRestart).
//   - QRESYNC (qresync.go; RFC 7162 section 3.2): ENABLE QRESYNC enables
//     CONDSTORE too (3.2.3). From then on every expunge this client
//     hears of (its own EXPUNGE, UID EXPUNGE, MOVE, another session's,
//     a delivery agent's) is one "* VANISHED uid-set", never EXPUNGE
//     (3.2.10), held back where EXPUNGE would be
//     (TestQResyncVanishedForExpunges). EXPUNGE and UID EXPUNGE end
//     with OK [HIGHESTMODSEQ n] (3.2.7), n read after the expunge, so
//     every change at or below it is written before the tagged OK
//     (TestQResyncExpungeHighestModSeq). SELECT/EXAMINE (QRESYNC (...))
//     and UID FETCH (CHANGEDSINCE n VANISHED) need ENABLE QRESYNC, and
//     VANISHED needs UID FETCH and CHANGEDSINCE, else BAD (3.2.5,
//     3.2.6). The mailbox layer keeps no expunged UIDs, so VANISHED
//     (EARLIER) names every UID of the client's range, cut below the
//     UIDNEXT it was told, that the folder (for SELECT) or the
//     client's view (for UID FETCH) does not hold, whatever the
//     mod-sequence: allowed by RFC 7162 (the text of RFC 5162 4.1),
//     and what Dovecot does when its log no longer reaches back; the
//     sequence match data (3.2.5.2) is parsed and ignored. The set is computed from ranges, never UID
//     by UID: known-uids 1:4294967295 costs the number of ranges plus
//     the number of messages (TestQResyncHostileKnownUIDs). With a
//     matching UIDVALIDITY the SELECT answer ends with VANISHED
//     (EARLIER), then FETCH (UID FLAGS MODSEQ) for each message whose
//     modseq is above the client's (TestQResyncSelect); a different
//     UIDVALIDITY gets the plain answer. A SELECT/EXAMINE that
//     replaces a selected folder starts with OK [CLOSED] (3.2.11,
//     TestQResyncClosed).
//   - A panic in a command (a bug) is logged once at Error with its
//     stack and closes that client's connection only (panic.go).
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
//   - One log line per command, limited per connection and per address
//     (logs.go, internal/logrl): past the budget lines are dropped and
//     one "N lines suppressed" line reports them.
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
// "subscriptions" file); INBOX, its subinboxes and the special-use folders
// are subscribed when made, by whichever protocol.
//
// Names and LIST (list.go):
//
//   - Mailbox names are modified UTF-7 on the wire (RFC 3501 5.1.3); names
//     with "&" and any valid spelling work in every command. One that is
//     not valid modified UTF-7 is NO [CANNOT] (go-imap as patched in
//     third_party/go-imap); a LIST pattern that is not is matched as
//     written, as Dovecot does.
//   - LIST matches with internal/foldername, the rules IMMP LIST uses: the
//     pattern follows the reference as written (as Dovecot reads them; a
//     level of the hierarchy is named with its trailing "/"), "%" stops at
//     "/", names inside INBOX match ignoring case, others exactly. A
//     pattern longer than 4096 octets with its reference is BAD [LIMIT]. Levels with folders below but no folder are
//     \Noselect.
//   - LIST-EXTENDED (RFC 5258): SUBSCRIBED lists subscribed names,
//     \NonExistent where no folder is; RECURSIVEMATCH adds a matching name
//     with a subscribed descendant that matches no pattern, with CHILDINFO
//     ("SUBSCRIBED"); REMOTE selects nothing more (no remote mailboxes);
//     RETURN SUBSCRIBED, CHILDREN, SPECIAL-USE and STATUS as specified.
//   - LSUB (RFC 3501 6.3.9) lists subscribed names, and as \Noselect a
//     parent that is not subscribed when "%" kept its subscribed
//     descendant out. Dovecot 2.3 answers these LIST, LIST-EXTENDED and
//     LSUB commands the same way over the same Maildir (integration test). imapserver gives LSUB to the backend as
//     LIST (SUBSCRIBED); the two are told apart by an unexported field of
//     its ListWriter (a test fails if go-imap renames it).
//
// Like every protocol package, this one points down only: to the mailbox
// layer and internal helpers, never to smtp or immp (internal/layering).
package imap
