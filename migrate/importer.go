package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/immp-mail/immp/internal/foldername"
	"github.com/immp-mail/immp/maildir"
)

// Message is one message of a source, however read.
type Message struct {
	Source string // where it came from, for reports ("cur/1700000000.M1P2.host:2,S", "message 3 (line 57)")
	Open   func() (io.ReadCloser, error)
	Flags  []string
	Date   time.Time
	UID    uint32 // the source's UID; 0 when it had none
}

// Folder is one folder of a source.
type Folder struct {
	Name        string // immp's absolute folder name
	Messages    []Message
	UIDValidity uint32 // the source's (dovecot-uidlist); 0 when none
	NextUID     uint32
	Problems    []Failure // what could not be read as messages
	Notes       []Failure // imported, with something lost
}

// Failure is one message (or part of a source) not imported.
type Failure struct {
	Folder string
	Source string
	Reason string
}

// FolderResult says what happened to one folder.
type FolderResult struct {
	Name       string
	Imported   int
	Duplicates int
	Failed     int
	UIDs       string // "kept", "new: <why>" or "" (the source had none)
}

// Summary is what an import did.
type Summary struct {
	Folders    []FolderResult
	Imported   int
	Duplicates int
	Failures   []Failure
	Notes      []Failure // imported, with something lost (flags of a name not understood)
}

// Importer brings folders of a source into one account through the
// mailbox layer's API (never behind the store's back), so it runs while
// the server serves the account.
type Importer struct {
	Store   *maildir.Store
	Account maildir.Account
	// Progress, if set, is called after every message with the count
	// done and the total.
	Progress func(done, total int)
	done     int
	total    int
}

// Import imports every folder (parents before children) and returns the
// summary; err is only for what stops the whole import (the context).
func (im *Importer) Import(ctx context.Context, folders []Folder) (Summary, error) {
	sort.Slice(folders, func(i, j int) bool { return folders[i].Name < folders[j].Name })
	im.total = 0
	for _, f := range folders {
		im.total += len(f.Messages)
	}
	var sum Summary
	for _, f := range folders {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		res, fails := im.importFolder(ctx, f)
		sum.Folders = append(sum.Folders, res)
		sum.Imported += res.Imported
		sum.Duplicates += res.Duplicates
		sum.Failures = append(sum.Failures, f.Problems...)
		sum.Failures = append(sum.Failures, fails...)
		sum.Notes = append(sum.Notes, f.Notes...)
	}
	return sum, ctx.Err()
}

func (im *Importer) step() {
	im.done = min(im.done+1, im.total)
	if im.Progress != nil {
		im.Progress(im.done, im.total)
	}
}

func (im *Importer) importFolder(ctx context.Context, f Folder) (FolderResult, []Failure) {
	res := FolderResult{Name: f.Name}
	var fails []Failure
	fail := func(src, reason string) {
		res.Failed++
		fails = append(fails, Failure{Folder: f.Name, Source: src, Reason: reason})
	}
	failAll := func(err error) (FolderResult, []Failure) {
		for _, m := range f.Messages {
			fail(m.Source, err.Error())
			im.step()
		}
		return res, fails
	}
	if f.Name != "INBOX" {
		// A subinbox needs its parent (profile 6), which a Maildir++
		// tree may lack (".INBOX.a.b" without ".INBOX.a"): parents
		// first. Other names get theirs made by CreateFolder.
		var parents []string
		for p := foldername.Parent(f.Name); foldername.IsSubinbox(p) && p != "INBOX"; p = foldername.Parent(p) {
			parents = append([]string{p}, parents...)
		}
		for _, p := range parents {
			im.Store.CreateFolder(ctx, im.Account, p) // an error shows in the child's creation
		}
		if err := im.Store.CreateFolder(ctx, im.Account, f.Name); err != nil && !errors.Is(err, maildir.ErrAlreadyExists) {
			return failAll(fmt.Errorf("cannot create folder %s: %w", f.Name, err))
		}
	}
	folder, err := im.Store.OpenFolder(ctx, im.Account, f.Name)
	if err != nil {
		return failAll(fmt.Errorf("cannot open folder %s: %w", f.Name, err))
	}
	have, err := existingKeys(ctx, folder)
	if err != nil {
		return failAll(fmt.Errorf("cannot read folder %s for duplicates: %w", f.Name, err))
	}
	// Keys of the source's messages; those the folder has already (as
	// many times as it has them) are duplicates.
	var todo []Message
	for _, m := range f.Messages {
		k, err := sourceKey(m)
		if err != nil {
			fail(m.Source, err.Error())
			im.step()
			continue
		}
		if have[k] > 0 {
			have[k]--
			res.Duplicates++
			im.step()
			continue
		}
		todo = append(todo, m)
	}

	// UIDs kept: the source's numbered messages in one commit, if the
	// folder never numbered a message.
	rest := todo
	if f.UIDValidity != 0 {
		var withUID []Message
		rest = nil
		for _, m := range todo {
			if m.UID != 0 {
				withUID = append(withUID, m)
			} else {
				rest = append(rest, m)
			}
		}
		sort.Slice(withUID, func(i, j int) bool { return withUID[i].UID < withUID[j].UID })
		switch {
		case len(todo) == 0 && folder.UIDValidity() != f.UIDValidity:
			// An empty source folder: its UIDVALIDITY and next UID are
			// taken all the same, if the folder never numbered a message.
			if _, _, err := folder.AppendWithUIDs(ctx, f.UIDValidity, f.NextUID, nil); err == nil {
				res.UIDs = "kept"
			}
		case len(todo) == 0:
			// Nothing to import: what the folder's UIDs are was said
			// when it was imported.
		case len(withUID) == 0:
			res.UIDs = "new: no message of the source had a UID"
		default:
			ims := make([]maildir.ImportMessage, len(withUID))
			for i, m := range withUID {
				open := m.Open
				ims[i] = maildir.ImportMessage{UID: m.UID, Flags: m.Flags, Date: m.Date, Open: func() (io.ReadCloser, error) {
					im.step() // the batch reads each message once, before its one commit
					return open()
				}}
			}
			uids, errs, err := folder.AppendWithUIDs(ctx, f.UIDValidity, f.NextUID, ims)
			switch {
			case err == nil:
				res.UIDs = "kept"
				for i, m := range withUID {
					if errs[i] != nil {
						fail(m.Source, errs[i].Error())
					} else if uids[i] != 0 {
						res.Imported++
					}
				}
			case errors.Is(err, maildir.ErrUIDsInUse):
				res.UIDs = "new: the folder had numbered messages before"
				rest = append(withUID, rest...)
			default:
				for _, m := range withUID {
					fail(m.Source, err.Error())
				}
			}
		}
	}
	for _, m := range rest {
		if err := ctx.Err(); err != nil {
			break
		}
		r, err := m.Open()
		if err != nil {
			fail(m.Source, err.Error())
			im.step()
			continue
		}
		_, err = folder.Append(ctx, r, m.Flags, m.Date)
		r.Close()
		if err != nil {
			fail(m.Source, err.Error())
		} else {
			res.Imported++
		}
		im.step()
	}
	return res, fails
}

func sourceKey(m Message) (msgKey, error) {
	r, err := m.Open()
	if err != nil {
		return msgKey{}, err
	}
	defer r.Close()
	k, _, err := keyOf(r, m.Date)
	return k, err
}

// existingKeys counts the keys of the messages a folder holds (reading
// each one's header block through the store).
func existingKeys(ctx context.Context, f *maildir.Folder) (map[msgKey]int, error) {
	ms, err := f.Messages(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[msgKey]int, len(ms))
	for _, m := range ms {
		r, err := f.OpenMessage(ctx, m.UID)
		if errors.Is(err, maildir.ErrNoSuchMessage) {
			continue // expunged meanwhile
		}
		if err != nil {
			return nil, err
		}
		hdr, err := readHeaderBlock(r)
		r.Close()
		if err != nil {
			return nil, err
		}
		var k msgKey
		hk, _, _ := keyOf(bytes.NewReader(hdr), m.InternalDate)
		k.hdr, k.size, k.date = hk.hdr, m.Size, m.InternalDate.Unix()
		out[k]++
	}
	return out, nil
}

// readHeaderBlock reads up to and with the empty line ending the header
// (or everything, for a message without a body).
func readHeaderBlock(r io.Reader) ([]byte, error) {
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if i := bytes.Index(out, []byte("\r\n\r\n")); i >= 0 {
			return out[:i+4], nil
		}
		if i := bytes.Index(out, []byte("\n\n")); i >= 0 {
			return out[:i+2], nil
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(out) > 1<<20 {
			return out, nil
		}
	}
}
