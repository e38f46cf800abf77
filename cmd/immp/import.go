package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/immp-mail/immp/maildir"
	"github.com/immp-mail/immp/migrate"
)

const importUsage = `Usage:
  immp import maildir [-config FILE] ACCOUNT PATH
        import a Maildir or Maildir++ tree (Dovecot's, Courier's, ...):
        its root is INBOX, ".a.b" is the folder a/b
  immp import mbox [-config FILE] [-quoting rd|o] ACCOUNT FOLDER FILE
        import an mbox file into FOLDER (made if missing)

Both go through the mailbox layer, so they run while the server runs:
its sessions only see new messages arrive. Flags are kept (Maildir info
letters and dovecot-keywords; mbox Status, X-Status, X-Keywords), and so
are Dovecot's UIDs and UIDVALIDITY when the source folder has a
dovecot-uidlist and the immp folder never held a message. Running an
import again imports nothing new: a message whose header, size and date
match one in the folder is a duplicate. A progress bar is drawn on a
terminal; a summary ends the run. Exit status 1 when a message failed
(the summary says why); what could be imported was.
`

func cmdImport(e cliEnv, args []string) int {
	verb, rest, code, done := subVerb(e, "import", importUsage, args, []string{"maildir", "mbox"})
	if done {
		return code
	}
	synopsis := map[string]string{
		"maildir": "immp import maildir [-config FILE] ACCOUNT PATH",
		"mbox":    "immp import mbox [-config FILE] [-quoting rd|o] ACCOUNT FOLDER FILE",
	}[verb]
	fs := newFlags(e, "import "+verb, synopsis)
	path := configFlag(e, fs)
	var quoting *string
	if verb == "mbox" {
		quoting = fs.String("quoting", "rd", "how the mbox quotes body lines starting \"From \": `rd` (mboxrd: one '>' removed from every >*From line) or o (mboxo: only >From)")
	}
	if code, done := parseFlags(e, fs, rest); done {
		return code
	}
	want := map[string]int{"maildir": 2, "mbox": 3}[verb]
	if fs.NArg() != want {
		return e.usageError(fs, "import %s needs %d arguments", verb, want)
	}
	addr, err := maildir.CanonicalAddress(fs.Arg(0))
	if err != nil {
		return e.usageError(fs, "ACCOUNT %q: %v", fs.Arg(0), err)
	}
	variant := migrate.MboxRD
	var folderName string
	if verb == "mbox" {
		switch *quoting {
		case "rd":
		case "o":
			variant = migrate.MboxO
		default:
			return e.usageError(fs, "-quoting: %q is neither rd nor o", *quoting)
		}
		if folderName, err = maildir.CanonicalFolderName(fs.Arg(1)); err != nil {
			return e.usageError(fs, "FOLDER %q: %v", fs.Arg(1), err)
		}
	}
	cfg, ok := loadConfig(e, *path)
	if !ok {
		return exitUsage
	}

	// Read the source first: a wrong path fails before the store opens.
	var folders []migrate.Folder
	switch verb {
	case "maildir":
		folders, err = migrate.ReadMaildirTree(fs.Arg(1))
	case "mbox":
		var f migrate.Folder
		f, err = migrate.ReadMboxFile(fs.Arg(2), folderName, variant)
		folders = []migrate.Folder{f}
	}
	if err != nil {
		e.errorf("import %s: reading the source: %v", verb, err)
		return exitFail
	}

	store, ok := openStore(e, cfg)
	if !ok {
		return exitFail
	}
	defer store.Close()
	acct, err := store.Account(e.ctx, addr)
	if errors.Is(err, maildir.ErrNoSuchAccount) {
		e.errorf("import: no account %s; create it first (immp user add %s)", addr, addr)
		return exitFail
	}
	if err != nil {
		e.errorf("import: %v", err)
		return exitFail
	}

	im := &migrate.Importer{Store: store, Account: acct}
	bar := newProgressBar(e.stderr)
	if bar != nil {
		im.Progress = bar.update
	}
	start := time.Now()
	sum, err := im.Import(e.ctx, folders)
	if bar != nil {
		bar.finish()
	}
	printSummary(e.stdout, sum, time.Since(start))
	if err != nil {
		e.errorf("import interrupted: %v (run it again: what was imported is skipped)", err)
		return exitFail
	}
	if len(sum.Failures) > 0 {
		return exitFail
	}
	return exitOK
}

func printSummary(w io.Writer, sum migrate.Summary, took time.Duration) {
	for _, f := range sum.Folders {
		uids := ""
		if f.UIDs != "" {
			uids = ", UIDs " + f.UIDs
		}
		fmt.Fprintf(w, "%s: %d imported, %d duplicates skipped, %d failed%s\n", f.Name, f.Imported, f.Duplicates, f.Failed, uids)
	}
	fmt.Fprintf(w, "total: %d imported, %d duplicates skipped, %d failed in %s\n",
		sum.Imported, sum.Duplicates, len(sum.Failures), took.Round(time.Millisecond))
	for _, n := range sum.Notes {
		fmt.Fprintf(w, "note: %s: %s: %s\n", n.Folder, n.Source, n.Reason)
	}
	const show = 50
	for i, f := range sum.Failures {
		if i == show {
			fmt.Fprintf(w, "... and %d more failures\n", len(sum.Failures)-show)
			break
		}
		fmt.Fprintf(w, "failed: %s: %s: %s\n", f.Folder, f.Source, f.Reason)
	}
}

// progressBar draws "[=====>    ] done/total" on a terminal, at most
// ten times a second.
type progressBar struct {
	w    io.Writer
	last time.Time
	done int
	tot  int
}

// newProgressBar returns nil unless w is a terminal.
func newProgressBar(w io.Writer) *progressBar {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err != nil {
		return nil
	}
	return &progressBar{w: w}
}

func (p *progressBar) update(done, total int) {
	p.done, p.tot = done, total
	if done < total && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.draw()
}

func (p *progressBar) draw() {
	const width = 40
	fill := width
	pct := 100
	if p.tot > 0 {
		fill = p.done * width / p.tot
		pct = p.done * 100 / p.tot
	}
	bar := strings.Repeat("=", fill)
	if fill < width {
		bar += ">" + strings.Repeat(" ", width-fill-1)
	}
	fmt.Fprintf(p.w, "\rimporting [%s] %d/%d %3d%%", bar, p.done, p.tot, pct)
}

func (p *progressBar) finish() {
	p.draw()
	fmt.Fprintln(p.w)
}
