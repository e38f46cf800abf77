package maildir

// This file is the contract between the mailbox layer and the protocol
// packages (smtp, imap, immp, delivery). Bodies live in the other files.

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/immp-mail/immp/internal/foldername"
)

// Errors returned by the mailbox layer. Protocol packages translate them to
// the wire (RFC 5530 response codes, SMTP reply codes) in one place each;
// they are always wrapped, so callers test them with errors.Is.
var (
	ErrNoSuchAccount  = errors.New("no such account")
	ErrAccountExists  = errors.New("account already exists")
	ErrAuthFailed     = errors.New("authentication failed")
	ErrNonexistent    = errors.New("no such folder")         // NONEXISTENT
	ErrAlreadyExists  = errors.New("folder already exists")  // ALREADYEXISTS
	ErrHasChildren    = errors.New("folder has children")    // INUSE
	ErrInbox          = errors.New("not permitted on INBOX") // CANNOT
	ErrInvalidName    = foldername.ErrInvalidName            // CANNOT / BAD
	ErrNoSuchMessage  = errors.New("no such message")
	ErrNotSubinbox    = errors.New("not a subinbox")            // CANNOT
	ErrInsideItself   = errors.New("target lies inside source") // CANNOT
	ErrReadOnly       = errors.New("folder is read-only")
	ErrNoSuchAgent    = errors.New("no such spam guard agent")
	ErrAgentExists    = errors.New("spam guard agent already exists")
	ErrNoSuchEntry    = errors.New("no such spam entry")
	ErrEntryExists    = errors.New("spam entry already exists")
	ErrInvalidAddress = errors.New("invalid account address")
	// ErrOverQuota: the account's storage quota would be exceeded
	// (quota.go); not temporary in the sense of Temporary.
	ErrOverQuota = errors.New("over storage quota")
	// ErrBusy: a race with another program on the same Maildir; the
	// operation may simply be repeated (a temporary failure, Temporary).
	ErrBusy = errors.New("folder busy, try again")

	// ErrAuthBusy: the password could not be checked now, every hashing
	// slot being taken for longer than the wait allowed (a temporary
	// failure: IMAP/IMMP NO [UNAVAILABLE], SMTP 454 4.7.0).
	ErrAuthBusy = errors.New("password checks busy")
)

// Account is one mail account. Address is the canonical, lower-cased
// "local@domain" form.
type Account struct {
	ID      int64
	Address string
	Created time.Time
}

// Message is what the layer knows of one message without reading it.
type Message struct {
	UID          uint32
	Flags        []string // system flags (\Seen \Answered \Flagged \Deleted \Draft) and keywords, sorted
	Size         int64
	InternalDate time.Time
	ModSeq       uint64 // of its last change (RFC 7162 3.1.1; modseq.go)
}

// FlagOp says how StoreFlags changes flags (RFC 9051 6.4.6).
type FlagOp int

const (
	FlagsSet FlagOp = iota
	FlagsAdd
	FlagsRemove
)

// FolderInfo describes one folder of an account, as listed.
type FolderInfo struct {
	Name       string // absolute IMAP name: "INBOX", "INBOX/work/office", "Sent"
	SpecialUse string // "\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive" or ""
	Subscribed bool
}

// Status is a folder's counters (RFC 9051 6.3.11).
type Status struct {
	Messages      uint32
	Unseen        uint32
	Deleted       uint32 // flagged \Deleted (RFC 9051 STATUS DELETED)
	Recent        uint32 // not yet claimed as \Recent by any session (RFC 3501 6.3.10)
	UIDNext       uint32
	UIDValidity   uint32
	Size          int64
	HighestModSeq uint64 // RFC 7162 3.1.2
}

// EventKind tells what changed.
type EventKind int

const (
	EventNew           EventKind = iota // a message was added (UID, Flags, Size, InternalDate set)
	EventFlags                          // a message's flags changed (UID, Flags set)
	EventExpunge                        // a message was removed (UID set)
	EventFolderRenamed                  // the folder was renamed (NewName set); watchers follow it
	EventFolderDeleted                  // the folder was deleted; nothing follows
	EventKeywords                       // the folder's keyword list grew (Keywords set)
	// EventFolderCreated goes only to store-wide subscriptions
	// (SubscribeChanges), as do EventFolderRenamed and EventFolderDeleted
	// for every folder: a folder's watchers hear only of their own.
	EventFolderCreated // a folder was made (Arrival.Folder)
)

// Event is one change to one folder, queued to its watchers (watch.go) in
// the order the changes were made.
type Event struct {
	Kind    EventKind
	Account int64
	Folder  string // absolute name at the time of the change
	UID     uint32
	Flags   []string
	NewName string
	// Size and InternalDate are set for EventNew, as Message has them.
	Size         int64
	InternalDate time.Time
	// Recent: an EventNew that is \Recent in the receiving watcher's
	// session alone (RFC 3501 2.3.2).
	Recent bool
	// Keywords: for EventKeywords, every keyword the folder defines.
	Keywords []string
	// ModSeq: the change's mod-sequence (EventNew, EventFlags,
	// EventExpunge).
	ModSeq uint64
}

// Delivered says where one recipient's copy was filed.
type Delivered struct {
	Account Account
	Folder  string
	UID     uint32
}

// The methods below are implemented in the other files of this package.
var (
	_ interface {
		// Accounts (accounts.go).
		AddAccount(ctx context.Context, address, password string) (Account, error)
		DeleteAccount(ctx context.Context, address string) error
		SetPassword(ctx context.Context, address, password string) error
		Authenticate(ctx context.Context, address, password string) (Account, error)
		Account(ctx context.Context, address string) (Account, error)
		Accounts(ctx context.Context) ([]Account, error)

		// Storage quota (quota.go): limits in octets, 0 unlimited.
		SetQuota(ctx context.Context, address string, limit int64) error
		Usage(ctx context.Context, acct Account) (Usage, error)
		CheckQuota(ctx context.Context, acct Account, size int64) error

		// Folders and subinboxes (folders.go), names in either form where
		// a subinbox is meant, absolute IMAP names otherwise.
		CreateFolder(ctx context.Context, acct Account, name string) error
		DeleteFolder(ctx context.Context, acct Account, name string) error
		RenameFolder(ctx context.Context, acct Account, oldName, newName string) error
		ReplaceSubinbox(ctx context.Context, acct Account, oldName, newName string) error
		MoveSubinbox(ctx context.Context, acct Account, leaf, from, to string) error
		Folders(ctx context.Context, acct Account) ([]FolderInfo, error)
		ResolveSubinbox(ctx context.Context, acct Account, name string) (string, error)
		SetSubscribed(ctx context.Context, acct Account, name string, on bool) error

		// Spam guard storage (agents.go); the matching logic and the fast
		// verdict index live in package guard. Names and entries compare
		// case-insensitively; lists come back sorted.
		Agents(ctx context.Context, acct Account) ([]string, error)
		AddAgent(ctx context.Context, acct Account, name string) error
		DeleteAgent(ctx context.Context, acct Account, name string) error
		Entries(ctx context.Context, acct Account, agent string) ([]string, error)
		AllEntries(ctx context.Context, acct Account) ([]string, error)
		AddEntry(ctx context.Context, acct Account, agent, entry string) error
		DeleteEntry(ctx context.Context, acct Account, agent, entry string) error
		// GuardVersion changes whenever any account's agents or entries,
		// or the set of accounts, change (in this process or another).
		GuardVersion(ctx context.Context) (int64, error)

		// Messages (folder.go) and durable delivery (delivery.go).
		OpenFolder(ctx context.Context, acct Account, name string) (*Folder, error)
		BeginDelivery(ctx context.Context) (*Delivery, error)
	} = (*Store)(nil)

	_ interface {
		Name() string
		Status(ctx context.Context) (Status, error)
		Messages(ctx context.Context) ([]Message, error)
		OpenMessage(ctx context.Context, uid uint32) (io.ReadCloser, error)
		Append(ctx context.Context, r io.Reader, flags []string, date time.Time) (uint32, error)
		StoreFlags(ctx context.Context, uids []uint32, op FlagOp, flags []string) ([]Message, error)
		Expunge(ctx context.Context, uids []uint32) ([]uint32, error)
		Copy(ctx context.Context, uids []uint32, dest string) (src, dst []uint32, err error)
		Move(ctx context.Context, uids []uint32, dest string) (src, dst []uint32, err error)
		Lookup(uids []uint32) []Message
		// Sessions that show a folder (watch.go).
		Watch(ctx context.Context, claimRecent bool) (*Watcher, Snapshot, error)
	} = (*Folder)(nil)

	_ interface {
		io.Writer
		AddRecipient(acct Account, folder string) error
		Commit(ctx context.Context) ([]Delivered, error)
		Abort() error
	} = (*Delivery)(nil)
)
