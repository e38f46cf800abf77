// Package maildir is immp's mailbox layer: accounts, spam guard storage,
// Dovecot-compatible Maildir++ folders and subinboxes, messages with their
// UIDs and flags, durable delivery, and the one state of every folder
// that sessions watch. SMTP delivery, the IMMP server and the IMAP server
// share one Store per process; this package knows nothing of any
// protocol and imports none (protocol packages point down to it;
// internal/layering checks that).
//
// # One folder state
//
//	Store.boxes ──► mailbox (one per folder per process: mailbox.go, boxes.go)
//	                  UIDs, flags, keywords, sizes, dates, \Recent mark,
//	                  the group committer (commit.go)
//	                  watchers ──► Watcher (one per IMAP selection, ...)
//	                                 queue of Events, Ready channel
//	Folder handles ─┘ (cheap; follow renames)
//
// The mailbox is the only copy of a folder's state in the process, and
// one directory has one mailbox: a lookup racing a rename or deletion
// gets a state that answers ErrNonexistent, never a second one
// (TestOneStatePerDirectory). A
// protocol session reads it through Folder (Lookup, Messages, Status)
// and registers a Watcher to hear what changed (watch.go); the session
// keeps only what its client has been told (for IMAP: sequence numbers,
// expunges not yet announced, its \Recent set). Every change is applied
// to the state and queued to every watcher in one critical section under
// the folder's lock, in the order made; queueing never blocks.
//
// # Storage
//
//	<data>/immp.db                         SQLite (WAL, busy_timeout,
//	                                       foreign keys, one writer
//	                                       connection): accounts (with
//	                                       their quota), agents,
//	                                       entries, REPLACE aliases, meta
//	                                       (guard version), folder_index
//	                                       (mtimes, sizes, flags and
//	                                       modseqs, index.go)
//	<data>/spool/                          delivery bodies being written
//	                                       (unnamed O_TMPFILE files where
//	                                       the kernel allows, spool.go)
//	<data>/mail/<domain>/<local>/Maildir/  one account, Maildir++ as
//	                                       Dovecot 2.3 lays it out with
//	                                       mail_location = maildir:~/Maildir,
//	                                       separator "/", empty prefix
//
// Every file the layer makes under the data directory is mode 0600 and
// every directory 0700, whatever the umask; immp.db is made 0600 before
// SQLite opens it, since its -wal and -shm files take its mode
// (TestDataFileModes).
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
// Append writes its file in the spool too, and Copy/Move pin each
// source with a hard link in the spool under the source's lock: a
// rename of either folder, or a flag change renaming the source file, can
// not pull a file away from the commit that places it.
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
// # Import and backup
//
// Folder.AppendWithUIDs (importuids.go) stores another server's messages
// with their UIDs and UIDVALIDITY, in one commit, only into a folder
// that never numbered a message (so no client can have cached anything
// under the UIDVALIDITY it replaces), under the commit lock and the dot
// lock of dovecot-uidlist; deliveries meanwhile are numbered after it.
// A process that showed the folder sees the UIDVALIDITY change on disk
// and drops its watchers (EventFolderDeleted), as IMAP cannot announce a
// new UIDVALIDITY (TestAppendWithUIDsOtherProcess). Store.SnapshotFolder
// (snapshot.go) hands a backup the folder's list read under the same two
// locks, so that the copy keeps each message with its UID or not at all.
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
//     queued to watchers in order, synchronously (watch.go); new messages
//     are announced in UID order, each only once its batch is listed,
//     also when another process (immp import, Dovecot) numbers messages
//     meanwhile: a scan announces what it finds in UID order, and a batch
//     that finds records another process added since takes them in
//     first (TestOtherProcessAppendsReachSessions,
//     TestOtherProcessAppendsRacingBatches).
//   - A watcher's queue is bounded by the folder, not by time: past a
//     threshold it is compacted to the same net effect for its session
//     (last flags per message, last keyword list, no trace of a message
//     that came and went unseen; watchcap.go), so a session that selects
//     a folder and stays silent holds at most about one event per message
//     (TestIdleWatcherQueueIsBounded, TestCompactionKeepsTheNetEffect).
//   - Read-your-writes: once Delivery.Commit (SMTP's 250), Append, Copy,
//     Move, StoreFlags or Expunge has returned, every Folder read and
//     every Watcher.Sync that starts afterwards, in any session, sees the
//     change: reads settle the folder first (every acknowledged batch is
//     listed and published before they look). Tested over IMAP by
//     TestReadYourWrites (package imap).
//   - \Recent (RFC 3501 2.3.2) is held by exactly one session: the
//     folder's state keeps the highest UID claimed; a read-write Watch
//     claims every message above it, and a new message goes to the
//     oldest read-write watcher, or waits unclaimed for the next one.
//   - Every change gets a mod-sequence above every one given before in the
//     folder (RFC 7162 3.1.1), kept in the folder's state and saved with
//     the folder index; a clean restart keeps each message's modseq and
//     the folder's highest (also when an expunge was the last change:
//     TestHighestModSeqAfterExpungeSurvivesRestart), and a message
//     changed while nothing recorded it (a crash, another program) gets a
//     new one above all earlier ones (modseq.go, TestModSeqs).
//   - A conditional flag change (StoreFlagsIf, RFC 7162 3.1.3
//     UNCHANGEDSINCE) tests each message's modseq and changes it in one
//     critical section under the folder's state lock, the one
//     StoreFlags takes (condstore.go): no change can come between the
//     test and the change (TestStoreUnchangedSinceIsAtomic).
//   - No account is created with '+' in its local part (AddAccount,
//     EnsureAccount and an auto-created login alike: NewAccountAddress),
//     since "alice+x@" is plus addressing for alice's subinbox x; lookups
//     still accept such a name, so an account made earlier can be removed.
//   - A deleted account's folder states are dropped and AccountGone
//     fires, also when another process deleted it (lifecycle.go); account
//     IDs are never reused, so a re-added account starts clean.
//   - Store-wide arrivals (notify.go): every new message is queued to
//     every Arrivals subscription in the critical section that queues it
//     to the folder's watchers, so a subscriber hears of it exactly when
//     IMAP does, reads it at once, and holds no copy of folder state
//     (TestArrivals). A subscription made with SubscribeChanges gets each
//     expunge and flag change the same way. While a subscription is open
//     the list's fsync does
//     not linger, so a waiter hears of a message as soon as it is durable
//     and listed.
//   - A message record in that state is never changed in place (a change
//     replaces it), so pointers to it are safe to read without the lock;
//     Flags slices handed out are never written after.
//   - INBOX, its subinboxes and the special-use folders are subscribed
//     (Dovecot's subscriptions file) when made, by account creation, IMMP,
//     IMAP or a rename; a rename moves subscriptions, deleting such a
//     folder removes its own (subscriptions.go).
//   - Subinbox rules (profile 6) live in folders.go only and serve IMMP and
//     IMAP alike; name rules (profile 5), modified UTF-7 and LIST matching
//     are internal/foldername's, shared with the protocols and the
//     fallback client.
//   - Password hashing (argon2id, 19 MiB each) runs in at most
//     Options.PasswordHashers computations at once (password.go); a check
//     that gets no slot within PasswordHashWait fails with ErrAuthBusy.
//     Unknown accounts and malformed addresses pay the same hash as a
//     wrong password, through the same gate.
//   - The auth cache (authcache.go) keeps no password, only an HMAC under
//     a per-process random key; it is filled by successes only, and a hit
//     needs the account's stored hash, read for that very login, to be the
//     one the password was verified against: a change of password or a
//     deletion by any process takes effect at the next login.
//   - An account's storage use (quota.go) is the sum of its folder
//     states' message sizes, kept as a running total: after any sequence
//     of deliveries, APPEND, COPY, MOVE, EXPUNGE, folder deletions and
//     renames, and files added or removed by another program, it equals
//     what a fresh count of the Maildir finds (TestUsageFollowsEveryChange).
//     Delivery, Append and Copy refuse what would pass the account's
//     quota (ErrOverQuota); Move, Expunge and deletions never do.
//
// # Lock order
//
// Locks are taken in this order and never the reverse; a path that holds
// a later one never waits for an earlier one:
//
//  1. account tree (Store.accountTree): folder create, delete, rename;
//  2. folder commit lock (mailbox.ulMu), several in name order
//     (lockBoxes); the dot locks of dovecot-uidlist and dovecot-keywords
//     are taken under it (so a renamed directory never carries a held
//     lock file away), and a delivery batch, Append, AppendWithUIDs,
//     SnapshotFolder, a keyword's first use, a rename or deletion hold
//     it;
//  3. store registry (Store.mu): the table of folder states;
//  4. folder state (mailbox.mu), one folder at a time; no message body
//     is read or written under it, and no file lock waited for (but to
//     recreate a missing or corrupt dovecot-uidlist, with ulMu held too);
//  5. leaves, taken last and alone: a watcher's queue (Watcher.mu), the
//     lock-file table (Store.lfMu), the guard version (Store.verMu), the
//     auth cache and the password-hashing gate, the usage totals and
//     the quota limit cache (Store.quota.mu, .limitMu), the arrival
//     subscriptions (Store.subs.mu: notify.go; queued under the folder
//     state's lock like a watcher's queue, and a folder-tree change
//     under the account tree lock).
//
// TestLockOrderStress (package imap) runs every operation that takes
// these locks at once for 30 s and fails with every goroutine's stack if
// one waits longer than a few seconds.
//
// Known limits: a rename of a folder with children renames directories one
// by one (a crash in the middle leaves children under the old name); a
// MOVE links, and unlinks the source once the link is durable and listed,
// so a crash between the two leaves the message in both folders, never in
// none; at most 26 keywords per folder (the letters a-z).
package maildir
