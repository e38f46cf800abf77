// Package throttle slows down password guessing, for the IMMP, IMAP and
// submission servers (draft-sabarish-immp-00 section 7, RFC 9051 section
// 11, RFC 4954 section 4: servers should make guessing expensive).
//
// A Limiter counts login failures under two keys. Per client address (the
// IPv4 address, or the /64 prefix for IPv6: one host usually owns a whole
// /64) the first Free failures cost nothing; from then on every attempt
// waits Base, doubling per further failure, capped at Max. Per account
// (the login name, case-folded), failures from every address add up the
// same way with AccountFree, AccountBase and AccountMax, so a guesser
// spread over many addresses still slows down on the account it targets.
// A key with no failure for Forget is forgotten.
//
// Each login is an Attempt: Begin waits for the address's turn (one
// credential check per address at a time), then for the delay, and only
// then are the credentials checked; the attempt ends in Failure, Success
// or End (no outcome: storage or capacity trouble).
//
// Invariants:
//   - The delay is waited before the check, whatever the guess, so a right
//     guess is not told from a wrong one by its timing.
//   - One address checks one credential at a time: its parallel
//     connections queue for the turn (at most TurnWait, then ErrBusy) and
//     pay their delays one after the other, so they do not multiply its
//     rate of guesses.
//   - A success from one address never resets the failures counted against
//     the account, and resets the address's own failures only when all of
//     them were against that account: logging in to one's own account buys
//     no fresh guesses at another.
//   - No lockout: the account's delay is bounded by AccountMax, and it is
//     waived for an address that logged in to the account within TrustFor,
//     so a flood of wrong passwords from elsewhere never keeps the owner
//     out for longer than AccountMax.
//   - Waits happen only in the goroutine of the attempting connection,
//     never under a lock, and end early when ctx is done; other addresses
//     are never blocked beyond a short map access.
//   - Memory is bounded: each table (addresses, accounts, trusted pairs)
//     keeps at most MaxEntries keys; when full, expired keys are pruned
//     and, if that is not enough, an arbitrary key is evicted (an attacker
//     with many addresses can reset some counters, but can never grow a
//     table). Turns exist only while an attempt holds or awaits one.
//   - There is no package-level state; the clock is injectable.
package throttle
