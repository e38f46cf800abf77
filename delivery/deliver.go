package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/immp-mail/immp/internal/metrics"
	"github.com/immp-mail/immp/maildir"
)

// Envelope is one transaction: who sent it, to whom, and what the trace
// header records about the client (RFC 5321 4.4).
type Envelope struct {
	ID         string      // transaction id, also in the Received header
	Sender     string      // reverse-path; "" is the null sender <>
	Recipients []Recipient // accepted at RCPT time, in order
	ClientIP   string      // the client's address, without port
	ClientHost string      // its verified name, if known
	Helo       string      // the HELO/EHLO argument
	TLS        string      // e.g. "TLSv1.3 with cipher TLS_AES_128_GCM_SHA256"; "" without TLS
	AuthUser   string      // the authenticated account; "" if none
	UTF8       bool        // SMTPUTF8 transaction (RFC 6531 4.3 protocol names)
	Time       time.Time   // when the data ended; zero: now
	// AuthResults is an Authentication-Results field (RFC 8601), CRLF
	// terminated, written first; "" for none (junk.go).
	AuthResults string
	// Junk files every copy into the recipient's Junk folder (DMARC
	// p=quarantine, RFC 7489 6.6.4).
	Junk bool
}

// Result is where one recipient's copy was filed.
type Result struct {
	Recipient Recipient
	Folder    string // absolute name: "INBOX", "INBOX/work/office"
	Kind      string // metrics.FolderInbox, FolderSubinbox or FolderFallback
	UID       uint32
}

// bodyReader remembers the client side's read error, so that a failure
// reading the message is told apart from a failure writing it.
type bodyReader struct {
	r   io.Reader
	n   int64
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// copyBufSize is the size of each Read of a message body.
const copyBufSize = 32 << 10

// Deliver writes body once, with trace headers prepended, and commits it
// to every recipient's folder in one durable transaction. It returns only
// after the commit returned; on any error nothing was delivered to anyone.
// Errors are *Error: ReasonBody (reading body failed; Err is the reader's
// error), ReasonOverQuota (the message does not fit in a recipient's
// storage quota: the mailbox layer refuses the whole delivery),
// ReasonStorageFull or ReasonStorage.
func (d *Deliverer) Deliver(ctx context.Context, env Envelope, body io.Reader) ([]Result, error) {
	if len(env.Recipients) == 0 {
		return nil, fail(ReasonBadAddress, errors.New("no recipients"))
	}
	if env.Time.IsZero() {
		env.Time = time.Now()
	}
	var txn Txn
	mtx, err := d.opts.Store.BeginDelivery(ctx)
	if err != nil {
		return nil, storageErr(err)
	}
	txn = mtx
	if d.opts.WrapTxn != nil {
		txn = d.opts.WrapTxn(txn)
	}
	committed := false
	defer func() {
		if !committed {
			txn.Abort()
		}
	}()

	if _, err := io.WriteString(txn, traceHeaders(d.opts.Hostname, env)); err != nil {
		return nil, storageErr(err)
	}
	// The transaction buffers its file itself; the copy buffer only sets
	// the size of each Read of the body (and is reused: a fresh one per
	// message would be garbage at every delivery).
	buf, _ := d.bufs.Get().(*[]byte)
	if buf == nil {
		b := make([]byte, copyBufSize)
		buf = &b
	}
	br := &bodyReader{r: body}
	_, err = io.CopyBuffer(txn, br, *buf)
	d.bufs.Put(buf)
	if err != nil {
		if br.err != nil {
			return nil, fail(ReasonBody, br.err)
		}
		return nil, storageErr(err)
	}

	start := time.Now()
	// Resolve each subinbox now, after the data: it may have been deleted
	// or REPLACEd while the message was in flight (draft 2.2.2).
	results := make([]Result, len(env.Recipients))
	type copyKey struct {
		acct   int64
		folder string
	}
	index := make(map[copyKey]int) // copy -> position in Commit's result
	var order []copyKey
	for i, r := range env.Recipients {
		folder, kind, err := d.folderFor(ctx, env, r)
		if err != nil {
			return nil, storageErr(err)
		}
		for {
			k := copyKey{r.Account.ID, folder}
			if _, dup := index[k]; dup {
				break // one copy per folder, however many addresses name it
			}
			err := txn.AddRecipient(r.Account, folder)
			if err == nil {
				index[k] = len(order)
				order = append(order, k)
				break
			}
			if folder == "INBOX" || !errors.Is(err, maildir.ErrNonexistent) {
				return nil, storageErr(err)
			}
			// Deleted between resolve and here: INBOX, as if resolve had
			// found it gone (draft 2.2.2).
			d.log.Info("subinbox gone, filing into INBOX", "account", r.Account.Address, "subinbox", r.Subinbox)
			folder, kind = "INBOX", metrics.FolderFallback
		}
		results[i] = Result{Recipient: r, Folder: folder, Kind: kind}
	}
	delivered, err := txn.Commit(ctx)
	if err != nil {
		return nil, storageErr(err)
	}
	committed = true
	d.opts.Metrics.DeliveryLatency(time.Since(start))
	for i := range results {
		k := copyKey{results[i].Recipient.Account.ID, results[i].Folder}
		if j := index[k]; j < len(delivered) && len(delivered) == len(order) {
			results[i].UID = delivered[j].UID
			// The subinbox may have been renamed or deleted during the
			// commit itself; the mailbox layer then filed the copy where
			// the folder is now, or into INBOX (draft 2.2.2).
			if got := delivered[j].Folder; got != results[i].Folder {
				results[i].Folder = got
				if got == "INBOX" {
					results[i].Kind = metrics.FolderFallback
				}
			}
		}
	}
	counted := make(map[copyKey]bool)
	for _, r := range results {
		k := copyKey{r.Recipient.Account.ID, r.Folder}
		if !counted[k] {
			counted[k] = true
			d.opts.Metrics.Delivered(r.Kind)
		}
	}
	return results, nil
}

// resolve returns the folder a recipient's copy goes to now.
func (d *Deliverer) resolve(ctx context.Context, r Recipient) (folder, kind string, err error) {
	if r.Subinbox == "" {
		return "INBOX", metrics.FolderInbox, nil
	}
	name, err := d.opts.Store.ResolveSubinbox(ctx, r.Account, r.Subinbox)
	switch {
	case err == nil:
		return name, metrics.FolderSubinbox, nil
	case errors.Is(err, maildir.ErrNonexistent), errors.Is(err, maildir.ErrInvalidName), errors.Is(err, maildir.ErrNotSubinbox):
		d.log.Info("subinbox gone, filing into INBOX", "account", r.Account.Address, "subinbox", r.Subinbox)
		return "INBOX", metrics.FolderFallback, nil
	default:
		return "", "", fmt.Errorf("resolve subinbox %q: %w", r.Subinbox, err)
	}
}
