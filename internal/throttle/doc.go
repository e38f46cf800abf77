// Package throttle slows down repeated login failures from one remote
// address, for the IMMP and IMAP servers (draft-sabarish-immp-00 section 7,
// RFC 9051 section 11: servers should make password guessing expensive).
//
// A Limiter counts failures per client key: the IPv4 address, or the /64
// prefix for IPv6 (one host usually owns a whole /64). The first Free
// failures cost nothing; from then on every attempt waits Base, doubling
// per further failure, capped at Max. A key with no failure for Forget is
// forgotten, so a user who mistyped a password is back to normal soon.
//
// Invariants:
//   - The delay is waited only by the goroutine of the failing connection
//     (Wait), never under a lock, and it ends early when ctx is done; other
//     clients, and other connections of the same client, are never blocked
//     by it beyond a short map access.
//   - Memory is bounded: at most MaxEntries keys are kept; when full,
//     expired keys are pruned and, if that is not enough, an arbitrary key
//     is evicted (an attacker with many addresses can reset some counters,
//     but can never grow the table).
//   - There is no package-level state; the clock is injectable.
package throttle
