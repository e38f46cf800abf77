// Package backup copies a data directory while the server runs
// (`immp backup DIR`) and restores it into an empty one (`immp restore
// DIR`).
//
// # Layout of a backup
//
//	DIR/immp.db                      the database (VACUUM INTO)
//	DIR/mail/<domain>/<local>/Maildir/...
//	                                 every folder: cur/ new/ tmp/ (tmp/
//	                                 empty), message files hard-linked
//	                                 from the live tree (copied across
//	                                 file systems), dovecot-uidlist as
//	                                 of the copy, dovecot-keywords,
//	                                 maildirfolder; in the root also
//	                                 subscriptions and dovecot-uidvalidity
//	DIR/MANIFEST.files               "D <path>" per directory and
//	                                 "F <sha256> <size> <path>" per file,
//	                                 sorted by path
//	DIR/MANIFEST.json                format, times, counts (accounts,
//	                                 folders, messages, octets), and the
//	                                 SHA-256 of MANIFEST.files
//
// # Consistency
//
// The database is copied with SQLite's VACUUM INTO (modernc.org/sqlite
// runs it like the C library): the statement reads the whole database
// inside one read transaction, and in WAL mode a read transaction sees
// exactly the commits made before it began, while writers in the server
// process go on and are not waited for. The copy is therefore the
// database as of one moment, and it is a complete, compacted database
// file with no -wal beside it. (The online backup API would give the same
// snapshot page by page; VACUUM INTO needs no driver-specific call.)
//
// Mail is copied after the database, for the accounts the copy holds,
// one folder at a time under that folder's locks (maildir.Store
// .SnapshotFolder): the folder's commit lock in this process and the dot
// lock dovecot-uidlist.lock that every writer of the list takes, immp's
// server in another process and Dovecot alike. While they are held no
// record is added to or removed from the list; a message delivered
// meanwhile waits (its batch takes the dot lock to be numbered) and is
// acknowledged only after it was numbered, i.e. after the copy of its
// folder. So, for every folder:
//
//   - a message is in the backup with its UID, or not at all: exactly
//     the files whose base name has a record in the list are linked, and
//     the list written in the backup keeps exactly the records whose file
//     was linked (with the header's UIDVALIDITY, next UID and GUID, so no
//     UID is ever given twice after a restore);
//   - every message acknowledged (SMTP 250, APPEND's answer) before the
//     folder's copy began is in it, unless expunged before the copy;
//   - message files are never written in place once in new/ or cur/
//     (flag changes rename them), so a link is the whole message; a file
//     renamed by a flag change during the copy is found again under its
//     new name, one expunged during the copy is left out with its record;
//   - flags are those of the moment each file was linked (flag changes
//     take no commit lock), and dovecot-keywords is copied after the
//     files, so every keyword letter they carry is defined.
//
// The database and the folders are copied at different moments: an
// account made after the database copy is not in the backup; one deleted
// after it comes back empty. folder_index (sizes and dates of messages)
// is a cache that is never wrong, only slower, when stale (maildir
// index.go).
//
// # Restore
//
// Restore refuses a data directory that is not empty (ErrNotEmpty). It
// checks MANIFEST.files against the checksum in MANIFEST.json and the
// counts against the list before writing anything, then places every
// file and checks its SHA-256 and size; any difference removes what was
// restored and fails with ErrDamaged naming the file. Message files are
// hard-linked from the backup where possible (neither side ever writes
// them in place, so the backup stays as it was), other files copied.
package backup
