// Package mtasts is the policy immp serves for its own domains under
// MTA-STS (RFC 8461): the text at
// https://mta-sts.DOMAIN/.well-known/mta-sts.txt (RFC 8461 3.2) and the
// id that the "_mta-sts.DOMAIN" TXT record must carry (RFC 8461 3.1).
//
// Invariants:
//   - The id is derived from the policy text alone: the same settings give
//     the same id, and any change of mode, MX or max_age gives a new one,
//     so "immp dns records" and "immp dns check" always name the id that
//     makes senders fetch the policy being served (RFC 8461 3.3: a sender
//     refetches only when the id changes).
//   - The policy is answered only for a Host of "mta-sts." followed by one
//     of the served domains; any other host gets 404, so the server does
//     not publish a policy for a domain it does not receive mail for.
package mtasts
