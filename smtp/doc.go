// Package smtp is the Receiver-SMTP (RFC 5321; draft 2.2.2, figure 1) and
// the submission service (RFC 6409 semantics) on go-smtp, delivering
// through package delivery.
//
// Receiver: MAIL accepts any reverse-path, the null sender <> included.
// Each RCPT is checked at once (profile 9): relay attempts, unknown
// accounts and senders blocked by the recipient's spam guard are refused
// per recipient, so one refusal does not fail the others. After the data
// the message is filed durably for every accepted recipient and 250 is
// sent only after that commit returned. Extensions: SIZE (RFC 1870),
// 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), PIPELINING (RFC 2920),
// CHUNKING/BDAT (RFC 3030), ENHANCEDSTATUSCODES (RFC 2034, 3463) and
// STARTTLS (RFC 3207) when a certificate is configured.
//
// Submission: AUTH PLAIN (RFC 4616) or LOGIN is required before MAIL; over
// cleartext only from loopback unless AllowInsecureAuth. The envelope
// sender and every From address must belong to the authenticated account
// (RFC 6409 8.1); local recipients are delivered as above, others are
// refused because outbound relay is not configured.
//
// Every refusal is a *smtp.SMTPError built in reply.go, the one place where
// delivery reasons become wire replies: go-smtp matches that type exactly
// and turns any other error into a 451 carrying Go error text. The 250
// after the data names the transaction id ("Ok: delivered as ID"), which
// the Received header and the log line carry too.
//
// Limits: MaxLineLength (default 1 MiB) bounds every line; RFC 5321's 1000
// octets is far exceeded by real mail, and message lines are streamed, so
// only command lines are ever held whole. A message over MaxMessageBytes
// gets 552 5.3.4, at MAIL when SIZE= says so, else when the limit is
// crossed in DATA or BDAT. Not provided: VRFY/EXPN (252/502, go-smtp),
// DSN, BINARYMIME, REQUIRETLS; a bare "postmaster" without a domain is
// refused by go-smtp's parser (501).
//
// Connection hygiene: a read timeout that runs from the last reply, so a
// command must be complete within it however slowly its octets trickle in
// (slowloris), and during DATA one renewed on every read (go-smtp's own
// ReadTimeout would bound a whole DATA transfer); a timeout is final. A
// write timeout; connection caps per listener (MaxConns) and per address
// (MaxConnsPerIP), a client over either answered "421 4.7.0 ... try again
// later" and closed; accept failures for want of descriptors (EMFILE)
// retried with a pause of 5 ms doubling to 1 s (internal/netutil); and
// Shutdown that stops accepting, closes idle connections with 421 and
// lets a transaction in progress finish its data and commit.
//
// One structured log line per transaction (id, client, sender, each
// recipient with outcome and folder, size, duration, outcome); never
// message content nor passwords.
package smtp
