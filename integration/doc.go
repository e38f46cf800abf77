// Package integration runs the built immp binary, as a user would, against
// real clients that nobody in this project wrote: swaks, Postfix, Python's
// imaplib, curl, mbsync and Dovecot.
//
// TestMain builds cmd/immp once into a temporary directory; each test starts
// its own server process on free loopback ports with a data directory of its
// own, so tests run in parallel and leave nothing behind.
//
// A test that needs a tool which is not installed is skipped, except when
// the environment says CI=true: there a missing tool is a failure, so that a
// green CI run means every client was really exercised.
//
// Hardening: TestAbuse* hold 2,000 idle connections, dribble commands one
// octet a second, and throw oversized, malformed and pipelined input at
// IMMP while timing a well-behaved client. TestSoak runs mixed load on a
// binary built with -race for $IMMP_SOAK (default 45s; IMMP_SOAK=10m for
// the long run) and checks for races, goroutine leaks and RSS growth.
// TestFullDisk, TestReadOnlyDataDir and TestSQLiteLocked (storage_test.go)
// put the data directory on a small tmpfs that they fill or make read-only
// (they need root to mount; skipped otherwise, failed under CI=true) and
// hold immp.db locked from another process past busy_timeout: 4xx and NO,
// never a 250 for what was not stored, and service resumes without a
// restart.
package integration
