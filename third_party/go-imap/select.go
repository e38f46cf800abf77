package imap

// SelectOptions contains options for the SELECT or EXAMINE command.
type SelectOptions struct {
	ReadOnly  bool
	CondStore bool // requires CONDSTORE

	// immp patch: the QRESYNC select parameter (RFC 7162 section 3.2.5);
	// nil when absent.
	QResync *SelectQResync // requires QRESYNC
}

// SelectQResync is the QRESYNC parameter of SELECT and EXAMINE (RFC 7162
// section 3.2.5): what the client last knew of the mailbox.
type SelectQResync struct {
	UIDValidity uint32
	ModSeq      uint64
	// KnownUIDs is nil when the client sent none (section 3.2.5.1).
	KnownUIDs UIDSet
	// SeqMatch is the message sequence match data (section 3.2.5.2), nil
	// when absent.
	SeqMatch *SelectSeqMatch
}

// SelectSeqMatch is the message sequence match data of the QRESYNC
// parameter (RFC 7162 section 3.2.5.2): sequence numbers and the UIDs
// they had, pairwise.
type SelectSeqMatch struct {
	SeqNums SeqSet
	UIDs    UIDSet
}

// SelectData is the data returned by a SELECT command.
//
// In the old RFC 2060, PermanentFlags, UIDNext and UIDValidity are optional.
type SelectData struct {
	// Flags defined for this mailbox
	Flags []Flag
	// Flags that the client can change permanently
	PermanentFlags []Flag
	// Number of messages in this mailbox (aka. "EXISTS")
	NumMessages uint32
	// Sequence number of the first unseen message. Obsolete, IMAP4rev1 only.
	// Server-only, not supported in imapclient.
	FirstUnseenSeqNum uint32
	// Number of recent messages in this mailbox. Obsolete, IMAP4rev1 only.
	// Server-only, not supported in imapclient.
	NumRecent   uint32
	UIDNext     UID
	UIDValidity uint32

	List *ListData // requires IMAP4rev2

	HighestModSeq uint64 // requires CONDSTORE
}
