// Package httpapi is the test bed's HTTP API under /api/v1/ on the
// [http] listener (docs/api.md, docs/openapi.yaml): list, search, read,
// mark and delete messages of every account, wait for a message and
// follow new ones as Server-Sent Events, manage accounts in the test-bed
// profile, and set the SMTP chaos rules (package internal/chaos).
//
// # Invariants
//
//   - One folder state: every answer comes from the mailbox layer's
//     folder states (maildir.Folder), the ones IMAP shows; the package
//     keeps no copy of them. Its only cache holds what never changes for
//     a message reference, its header envelope (bounded, envCacheMax).
//   - Read-your-writes: a message whose SMTP transaction was answered 250
//     is in every answer that starts afterwards, since each folder is read
//     through Folder.Messages, which settles acknowledged deliveries
//     first (TestReadYourWrites).
//   - Message ids are stable and opaque: base64url of the account ID
//     (never reused), folder, UIDVALIDITY and UID (id.go); one message
//     has one id, and an id never names another message: it answers 404
//     once the message, its folder or its account is gone, or the
//     folder's UIDVALIDITY changed (TestIDs).
//   - wait and events never poll: they subscribe to the store's arrivals
//     (maildir.Store.SubscribeArrivals) before they look at what is
//     stored, so a message stored while they look is not missed
//     (TestWaitSubscribesFirst, TestWaitRace). Their number is bounded by the listener's
//     connection caps; Shutdown ends them.
//   - Errors become HTTP statuses in one place (errors.go, statusOf) and
//     are JSON {"error": text, "status": code}.
//   - Access: off (404 naming the keys) unless [testbed] enabled or
//     [http] api_token_file is set; with a token every request needs
//     "Authorization: Bearer <token>" (RFC 6750 2.1), compared in
//     constant time; account creation and deletion and chaos changes
//     need the test-bed profile (403). Requests a browser marks
//     cross-site (Sec-Fetch-Site) are refused, and bodies must be
//     application/json, which no page of another site can send without a
//     CORS preflight (that fails): no cross-site request forgery against
//     a test bed on loopback (TestCrossSite).
//   - Hostile input costs bounded resources: ids, queries (maxQueryLen,
//     maxTerms), JSON bodies (maxJSONBody in size, bodyTimeout in
//     time: 408, TestSlowBody), header reads
//     (maxHeaderRead), page sizes (MaxLimit) and wait timeouts
//     (MaxWaitTimeout) are capped; attachments are served as downloads
//     under "Content-Security-Policy: sandbox" and nosniff, never run on
//     the API's origin.
package httpapi
