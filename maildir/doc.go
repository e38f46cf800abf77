// Package maildir is immp's mailbox layer: accounts, spam guard storage,
// Dovecot-compatible Maildir++ folders and subinboxes, messages with their
// UIDs and flags, durable delivery, and change events. SMTP delivery, the
// IMMP server and the IMAP server share one Store per process; this
// package knows nothing of any protocol.
//
// # Storage
//
//	<data>/immp.db                         SQLite (WAL, busy_timeout,
//	                                       foreign keys, one writer
//	                                       connection): accounts, agents,
//	                                       entries, REPLACE aliases, meta
//	                                       (guard version), folder_index
//	                                       (mtimes and sizes, index.go)
//	<data>/spool/                          delivery bodies being written
//	                                       (unnamed O_TMPFILE files where
//	                                       the kernel allows, spool.go)
//	<data>/mail/<domain>/<local>/Maildir/  one account, Maildir++ as
//	                                       Dovecot 2.3 lays it out with
//	                                       mail_location = maildir:~/Maildir,
//	                                       separator "/", empty prefix
//
// In the Maildir: INBOX is the root (cur/ new/ tmp/); every other folder
// is a directory ".<name>" with "/" written as "." and a maildirfolder
// file: INBOX/work/office is .INBOX.work.office, Sent is .Sent. Names are
// in modified UTF-7 (RFC 3501 5.1.3); a "." inside a component, the escape
// character "\" and a leading "~" are written "\2e", "\5c", "\7e" as
// Dovecot's listescape plugin does (dirname.go). Per folder:
// dovecot-uidlist (version 3: UIDVALIDITY, next UID, "<uid> :<base name>"
// records), dovecot-keywords ("<n> <keyword>", letter 'a'+n in file
// names). In the root: dovecot-uidvalidity and subscriptions (Dovecot's
// version 2 format). Message files are named
// "<sec>.M<usec>P<pid>Q<n>.<host>,S=<size>,W=<size>:2,<flags>", flags
// being DFPRST and keyword letters; INTERNALDATE is the mtime. immp stores
// bodies with CRLF line ends (S = W); files Dovecot stored with LF are
// served with CRLF. Dovecot pointed at the tree sees the same folders,
// messages, flags, UIDs and UIDVALIDITY; its own index files are left
// alone.
//
// # Durable delivery
//
// Delivery (delivery.go) writes the body once into the spool (an unnamed
// file where possible, so no spool name is made and removed per message),
// fsyncs it and hard-links it into every recipient folder's new/. Each
// folder has a group committer (commit.go), one goroutine while there is
// work, that runs batches one after the other: whatever is queued is
// linked and numbered together (dovecot-uidlist appended under Dovecot's
// dot lock), then new/ is fsynced once for the batch, so that whatever
// queued meanwhile is the next batch and overlapping deliveries share
// their fsyncs; a batch waits up to 2 ms for deliveries to the same
// folder that are still syncing their files, so that one fsync of new/
// covers them too (a lone delivery never waits). A delivery returns once
// its batch is durable; the list's fsync lingers a few milliseconds to
// cover many batches (a reader cuts it short), and the messages are
// published (events, readers) once it is done. APPEND, COPY and MOVE
// return UIDs, so they have the list synced at once.
//
// Everything that path does to the disk (writes, links, renames,
// removals, fsyncs) goes through a file-system seam on the Store
// (fsys.go). The power-cut test (powercut_test.go) records it and, for
// every moment of a concurrent run, works out what a power cut then
// would leave (only what an fsync covered) and checks the invariants
// below against it, also through a Store reopened on the surviving tree.
//
// # Invariants
//
//   - A message is acknowledged (Delivery.Commit returns, so SMTP answers
//     250) only after its file and the directory holding it are fsynced.
//     Files outside tmp/ and the spool are always complete.
//   - No UID is shown (events, Messages, Append, Copy, Move) before the
//     dovecot-uidlist record that holds it is fsynced, so a crash can
//     renumber only messages nobody saw: a durable file whose record was
//     lost gets a new UID at the next look, like a file another program
//     dropped in. A reader waits for what was acknowledged before it came
//     (refresh settles the folder first, cutting the linger short).
//   - UIDs only grow within a UIDVALIDITY; a record is appended to
//     dovecot-uidlist under Dovecot's dot lock (dovecot-uidlist.lock), so
//     Dovecot running on the same tree never hands out the same UID.
//   - Folder names are validated (profile 5) before they touch the disk and
//     encode to a single directory name in the account's Maildir: no name
//     leaves it.
//   - One shared in-memory state per folder per process (mailbox.go); every
//     handle and delivery goes through it, so changes are seen at once and
//     published to subscribers in order (events.go); new messages are
//     announced in UID order, each only once its batch is listed.
//   - A message record in that state is never changed in place (a change
//     replaces it), so pointers to it are safe to read without the lock;
//     Flags slices handed out are never written after.
//   - Subinbox rules (profile 6) live in folders.go only and serve IMMP and
//     IMAP alike.
//
// Known limits: a rename of a folder with children renames directories one
// by one (a crash in the middle leaves children under the old name); a
// MOVE links, and unlinks the source once the link is durable and listed,
// so a crash between the two leaves the message in both folders, never in
// none; at most 26 keywords per folder (the letters a-z).
package maildir
