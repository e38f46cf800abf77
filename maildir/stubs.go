package maildir

import (
	"context"
	"errors"
	"io"
	"time"
)

var errTODO = errors.New("maildir: not implemented yet")

type dirSyncer struct{}

func newDirSyncer(bool) *dirSyncer                             { return &dirSyncer{} }
func (d *dirSyncer) close()                                    {}

func (s *Store) CreateFolder(ctx context.Context, acct Account, name string) error { return errTODO }
func (s *Store) DeleteFolder(ctx context.Context, acct Account, name string) error { return errTODO }
func (s *Store) RenameFolder(ctx context.Context, acct Account, oldName, newName string) error {
	return errTODO
}
func (s *Store) ReplaceSubinbox(ctx context.Context, acct Account, oldName, newName string) error {
	return errTODO
}
func (s *Store) MoveSubinbox(ctx context.Context, acct Account, leaf, from, to string) error {
	return errTODO
}
func (s *Store) Folders(ctx context.Context, acct Account) ([]FolderInfo, error) { return nil, errTODO }
func (s *Store) ResolveSubinbox(ctx context.Context, acct Account, name string) (string, error) {
	return "", errTODO
}
func (s *Store) SetSubscribed(ctx context.Context, acct Account, name string, on bool) error {
	return errTODO
}
func (s *Store) OpenFolder(ctx context.Context, acct Account, name string) (*Folder, error) {
	return nil, errTODO
}
func (s *Store) BeginDelivery(ctx context.Context) (*Delivery, error) { return nil, errTODO }

// Folder is a handle onto one folder of one account.
type Folder struct{}

func (f *Folder) Name() string                                    { return "" }
func (f *Folder) Status(ctx context.Context) (Status, error)      { return Status{}, errTODO }
func (f *Folder) Messages(ctx context.Context) ([]Message, error) { return nil, errTODO }
func (f *Folder) OpenMessage(ctx context.Context, uid uint32) (io.ReadCloser, error) {
	return nil, errTODO
}
func (f *Folder) Append(ctx context.Context, r io.Reader, flags []string, date time.Time) (uint32, error) {
	return 0, errTODO
}
func (f *Folder) StoreFlags(ctx context.Context, uids []uint32, op FlagOp, flags []string) ([]Message, error) {
	return nil, errTODO
}
func (f *Folder) Expunge(ctx context.Context, uids []uint32) ([]uint32, error) { return nil, errTODO }
func (f *Folder) Copy(ctx context.Context, uids []uint32, dest string) (src, dst []uint32, err error) {
	return nil, nil, errTODO
}
func (f *Folder) Move(ctx context.Context, uids []uint32, dest string) (src, dst []uint32, err error) {
	return nil, nil, errTODO
}

// Delivery is one durable delivery transaction.
type Delivery struct{}

func (d *Delivery) Write(p []byte) (int, error)                     { return 0, errTODO }
func (d *Delivery) AddRecipient(acct Account, folder string) error  { return errTODO }
func (d *Delivery) Commit(ctx context.Context) ([]Delivered, error) { return nil, errTODO }
func (d *Delivery) Abort() error                                    { return errTODO }
