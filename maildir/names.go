package maildir

import "github.com/immp-mail/immp/internal/foldername"

// Folder names follow package foldername (profile 5), which IMMP, IMAP and
// the fallback client share; this layer keeps only where a folder lies on
// disk (dirname.go) and the tree rules of profile 6 (folders.go).

// Separator is the hierarchy separator (foldername.Separator).
const Separator = foldername.Separator

// CanonicalFolderName validates any folder name and spells INBOX "INBOX"
// (foldername.Canonical).
func CanonicalFolderName(name string) (string, error) { return foldername.Canonical(name) }

func isInbox(s string) bool { return foldername.IsInbox(s) }

func splitFolder(name string) []string { return foldername.Split(name) }
