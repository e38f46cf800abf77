// Package msgauth is mail authentication: DKIM signing of outbound mail
// and the inbound checks of the Receiver-SMTP (SPF, DKIM verification,
// DMARC), reported in one Authentication-Results field.
//
// Standards:
//   - RFC 6376 DKIM: signing (5) with relaxed/relaxed canonicalization
//     (3.4) and SHA-256, verification (6), key records (3.6.1);
//     RFC 8463 Ed25519 keys beside RSA (RFC 8301: at least 1024 bits;
//     2048 made here).
//   - RFC 7208 SPF: check_host() for the MAIL FROM identity (2.4; the
//     null sender is postmaster@HELO) and the HELO identity (2.3), with
//     the 10-lookup and 2-void-lookup limits of 4.6.4 (blitiri.com.ar/go/spf).
//   - RFC 7489 DMARC: the RFC5322.From domain (3.1, 6.6.1), policy
//     discovery at the domain then its Organizational Domain (6.6.3, public
//     suffix list), relaxed and strict alignment of SPF and DKIM (3.1), sp=
//     for subdomains, pct= honoured (6.6.4: a failing message outside the
//     sample gets the next weaker policy).
//   - RFC 8601 Authentication-Results: one field per message, our
//     authserv-id first, one resinfo per check (spf for mailfrom and helo,
//     dkim per signature with header.d, header.s and header.b (RFC 6008),
//     dmarc with header.from); fields already carrying our authserv-id
//     are removed before delivery (5).
//
// Inbound flow (smtp/msgauth.go): StartSPF at MAIL, so SPF's DNS round
// trips overlap the transfer; at the end of DATA the message is in a
// Spool (memory up to DefaultSpoolMemory, then an unlinked file in the
// data directory), Check verifies DKIM over it, evaluates DMARC, and
// returns the field to write at the top of the stored message and the
// message to store. DMARC p=reject failures are answered 550 5.7.1 at
// the end of DATA; p=quarantine failures are filed into Junk. DNS trouble
// is temperror, never a refusal. Sessions that are not checked
// (submission, [smtp] trusted_networks, [smtp] auth_checks off) never
// reach this package and keep the streaming path.
//
// Invariants (each has a test that fails when it is broken):
//   - A checked message is stored with exactly one Authentication-Results
//     field with our authserv-id, its first line (TestInboundVerdicts).
//   - What the Signer signs, go-msgauth's verifier verifies against the
//     record "immp dkim keygen" prints; From is oversigned, so a From
//     added later breaks the signature (TestSignedMailVerifies).
//   - A key is never overwritten without force; key files are 0600 in
//     0700 directories (TestKeyStore).
//
// Bounded cost: every lookup goes through one resolver with a per-exchange
// timeout and the whole check through CheckerOptions.Timeout; SPF stops
// at 10 lookups; at most MaxSignatures DKIM signatures are verified (one
// key lookup and one pass over the body each); header parsing stops at
// MaxHeaderBytes; reasons copied from library errors are cut to 200 octets.
//
// On-disk layout: DKIM keys are <data_dir>/dkim/<domain>/<selector>.key,
// PKCS#8 PEM ("PRIVATE KEY"), mode 0600, directories 0700; domain in lower
// case without trailing dot. The key signing a domain's mail is the one
// under [dkim] selector (default "immp"); others stay for rotation.
// Signer caches each domain's key (or its absence) for a minute, so a key
// made on a running server signs within a minute.
package msgauth
