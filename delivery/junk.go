package delivery

import (
	"context"
	"errors"

	"github.com/immp-mail/immp/maildir"
)

// JunkFolder is the folder quarantined mail goes to: the special-use
// \Junk folder (RFC 6154) that every account has (".Junk" in Maildir++,
// Dovecot's name for it).
const JunkFolder = "Junk"

// FolderJunk is the metrics kind of a copy filed into Junk.
const FolderJunk = "junk"

// folderFor is the folder of r's copy: Junk for a quarantined message
// (made again if the user deleted it), else what resolve says.
func (d *Deliverer) folderFor(ctx context.Context, env Envelope, r Recipient) (folder, kind string, err error) {
	if !env.Junk {
		return d.resolve(ctx, r)
	}
	err = d.opts.Store.CreateFolder(ctx, r.Account, JunkFolder)
	if err != nil && !errors.Is(err, maildir.ErrAlreadyExists) {
		return "", "", err
	}
	return JunkFolder, FolderJunk, nil
}
