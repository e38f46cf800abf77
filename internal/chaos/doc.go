// Package chaos is the test bed's fault injection for SMTP: rules that
// make the Receiver-SMTP and submission answer a chosen reply at a chosen
// stage of a session, so that an application under test can see how it
// handles a 451 at RCPT or a 552 after DATA.
//
// A Rule names a stage (connect, mail, rcpt, data), a reply code (4xx or
// 5xx, RFC 5321 4.2) with an optional enhanced status code (RFC 3463)
// and text, a match pattern, and how often it fires: for the next Times
// matching attempts, with a Probability on every matching attempt, or,
// with neither, on every matching attempt. Rules come from the
// configuration ([[testbed.chaos]]) and from the HTTP API (POST
// /api/v1/chaos); Reset removes every rule.
//
// What a pattern is matched against, per stage:
//
//	connect  the client's IP address (the reply replaces the 220
//	         greeting and the connection is closed, RFC 5321 3.1; on an
//	         implicit-TLS listener it answers EHLO/HELO instead)
//	mail     the reverse-path (MAIL FROM)
//	rcpt     the recipient, or the reverse-path
//	data     the reverse-path, or any accepted recipient
//
// A pattern is a case-insensitive glob: "*" any run of characters, "?"
// one character, anything else itself; "" matches everything. Match is a
// pure function (table-tested), as is Rule.Validate.
//
// # Invariants
//
//   - A rule with Times = N fires on exactly N matching attempts, however
//     many sessions ask at once (the count is taken under the engine's
//     lock), and is then spent: listed with Left 0, never firing again
//     (TestTimesExact).
//   - The first rule (in the order added) that matches and fires decides
//     the reply; a rule that matches but does not fire (probability)
//     lets the next one try.
//   - Rules are bounded (MaxRules) and a pattern's matching costs
//     O(len(pattern) * len(subject)) time, no backtracking blow-up.
package chaos
