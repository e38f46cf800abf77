package migrate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	gomaildir "github.com/emersion/go-maildir"

	"github.com/immp-mail/immp/maildir"
)

// ReadMaildirTree reads a Maildir (its root is INBOX) or a Maildir++ tree
// (".a.b" folders beside the root's cur/ new/ tmp/, mapped to "a/b" as
// Dovecot does with separator "/": modified UTF-7 and listescape, through
// maildir.FolderNameOfDir). Nothing in the source is changed.
//
// Messages in cur/ are read with go-maildir (Dir.Walk, which parses the
// ":2," info); new/ is listed here, since go-maildir's only reader of
// new/ (Dir.Unseen) moves the files to cur/, which would change the
// source. Flags: D F R S T as \Draft \Flagged \Answered \Seen \Deleted,
// letters a-z as the keywords the folder's dovecot-keywords names. UIDs
// and UIDVALIDITY come from the folder's dovecot-uidlist when there is
// one; INTERNALDATE is the file's mtime (Dovecot's convention).
func ReadMaildirTree(root string) ([]Folder, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", root)
	}
	var folders []Folder
	isMaildir := func(dir string) bool {
		for _, sub := range []string{"cur", "new"} {
			if st, err := os.Stat(filepath.Join(dir, sub)); err == nil && st.IsDir() {
				return true
			}
		}
		return false
	}
	if isMaildir(root) {
		folders = append(folders, readMaildirFolder(root, "INBOX"))
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		n := e.Name()
		if len(n) < 2 || n[0] != '.' || n == ".." || !isMaildir(filepath.Join(root, n)) {
			continue
		}
		name, ok := maildir.FolderNameOfDir(n)
		if !ok {
			folders = append(folders, Folder{Name: n, Problems: []Failure{{Folder: n, Source: n,
				Reason: "folder name cannot be held by immp (not modified UTF-7, or a name immp's rules refuse): folder skipped"}}})
			continue
		}
		folders = append(folders, readMaildirFolder(filepath.Join(root, n), name))
	}
	if len(folders) == 0 {
		return nil, fmt.Errorf("%s is not a Maildir: no cur/ or new/ in it or in any .folder of it", root)
	}
	sort.Slice(folders, func(i, j int) bool { return folders[i].Name < folders[j].Name })
	return folders, nil
}

func readMaildirFolder(dir, name string) Folder {
	f := Folder{Name: name}
	problem := func(src, reason string) {
		f.Problems = append(f.Problems, Failure{Folder: name, Source: src, Reason: reason})
	}
	var uids map[string]uint32
	if ul, err := maildir.ReadUIDList(dir); err == nil {
		f.UIDValidity, f.NextUID, uids = ul.UIDValidity, ul.NextUID, ul.UIDs
	} else if !errors.Is(err, os.ErrNotExist) {
		problem("dovecot-uidlist", fmt.Sprintf("unreadable (%v): UIDs not kept, messages get new ones", err))
	}
	kw, err := maildir.ReadKeywordNames(dir)
	if err != nil {
		problem("dovecot-keywords", fmt.Sprintf("unreadable (%v): keywords not kept", err))
	}
	add := func(sub, fileName string) {
		path := filepath.Join(dir, sub, fileName)
		st, err := os.Stat(path)
		if err != nil {
			problem(sub+"/"+fileName, err.Error())
			return
		}
		if !st.Mode().IsRegular() {
			problem(sub+"/"+fileName, "not a regular file")
			return
		}
		base, info := maildir.SplitFileName(fileName)
		m := Message{Source: sub + "/" + fileName, Date: st.ModTime(), UID: uids[base], Flags: flagsOfInfo(info, kw)}
		m.Open = func() (io.ReadCloser, error) { return os.Open(path) }
		f.Messages = append(f.Messages, m)
	}
	// cur/ through go-maildir.
	walkErr := gomaildir.Dir(dir).Walk(func(m *gomaildir.Message) error {
		add("cur", filepath.Base(m.Filename()))
		return nil
	})
	if walkErr != nil {
		// Names without ":2," info go-maildir reports as malformed; they
		// are messages all the same (no flags). Other errors name what
		// could not be read.
		var odd []string // info sections go-maildir does not take
		for _, e := range unjoin(walkErr) {
			var mf *gomaildir.MailfileError
			var fe *gomaildir.FlagError
			switch {
			case errors.As(e, &mf):
				add("cur", mf.Name)
			case errors.As(e, &fe):
				odd = append(odd, fe.Info)
			case errors.Is(e, os.ErrNotExist):
			default:
				problem("cur/", e.Error())
			}
		}
		if len(odd) > 0 {
			// The error names the info, not the file: find the files.
			names, _ := os.ReadDir(filepath.Join(dir, "cur"))
			for _, e := range names {
				n := e.Name()
				i := strings.IndexByte(n, ':')
				if i < 0 || !slices.Contains(odd, n[i+1:]) {
					continue
				}
				add("cur", n)
				f.Messages[len(f.Messages)-1].Flags = nil
				f.Notes = append(f.Notes, Failure{Folder: name, Source: "cur/" + n,
					Reason: fmt.Sprintf("info %q is not Maildir's \":2,\" form: imported without flags", n[i+1:])})
			}
		}
	}
	names, err := os.ReadDir(filepath.Join(dir, "new"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		problem("new/", err.Error())
	}
	for _, e := range names {
		if !strings.HasPrefix(e.Name(), ".") {
			add("new", e.Name())
		}
	}
	return f
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// flagsOfInfo maps Maildir info letters to IMAP flags.
func flagsOfInfo(info string, kw [26]string) []string {
	var out []string
	for i := 0; i < len(info); i++ {
		c := info[i]
		switch c {
		case 'D':
			out = append(out, `\Draft`)
		case 'F':
			out = append(out, `\Flagged`)
		case 'R':
			out = append(out, `\Answered`)
		case 'S':
			out = append(out, `\Seen`)
		case 'T':
			out = append(out, `\Deleted`)
		default:
			if c >= 'a' && c <= 'z' && kw[c-'a'] != "" && validKeyword(kw[c-'a']) {
				out = append(out, kw[c-'a'])
			}
		}
	}
	return out
}

// ReadMboxFile reads an mbox file into one folder named name. Flags come
// from Status, X-Status and X-Keywords headers; INTERNALDATE from the
// separator line (else the file's mtime, so that a second run finds the
// same date). The file is scanned once for the messages' places, and
// each message read again from its place when imported: memory stays
// bounded whatever the file's size.
func ReadMboxFile(path, name string, v MboxVariant) (Folder, error) {
	fh, err := os.Open(path)
	if err != nil {
		return Folder{}, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return Folder{}, err
	}
	if !st.Mode().IsRegular() {
		return Folder{}, fmt.Errorf("%s is not a regular file", path)
	}
	f := Folder{Name: name}
	err = ScanMbox(fh, v, func(m MboxMessage) error {
		src := fmt.Sprintf("message %d (line %d)", m.N, m.Line)
		if m.N == 0 {
			src = "start of file"
		}
		if m.Err != nil {
			f.Problems = append(f.Problems, Failure{Folder: name, Source: src, Reason: m.Err.Error()})
			return nil
		}
		date := m.Date
		if date.IsZero() {
			date = st.ModTime()
		}
		open := func() (io.ReadCloser, error) {
			r, err := os.Open(path)
			if err != nil {
				return nil, err
			}
			return readCloser{OpenMboxMessage(r, m, v), r}, nil
		}
		r, err := open()
		if err != nil {
			return err
		}
		hdr, err := readHeaderBlock(r)
		r.Close()
		if err != nil {
			return err
		}
		f.Messages = append(f.Messages, Message{Source: src, Date: date, Flags: mboxFlags(hdr), Open: open})
		return nil
	})
	return f, err
}

type readCloser struct {
	io.Reader
	io.Closer
}
