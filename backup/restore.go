package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Restore fills dataDir (missing or empty) from the backup in dir. The
// manifest is checked first (its file list against its checksum, the
// counts against the list); then every file is placed and its checksum
// compared, message files hard-linked when the backup is on the same
// file system (they are never written in place: the backup stays
// intact) and copied otherwise, everything else copied. Any mismatch
// removes what was restored and fails with ErrDamaged, naming the file.
func Restore(ctx context.Context, dir, dataDir string) (Manifest, error) {
	m, ents, err := readManifest(dir)
	if err != nil {
		return Manifest{}, err
	}
	if err := emptyDir(dataDir); err != nil {
		return Manifest{}, err
	}
	made := false
	if _, err := os.Stat(dataDir); errors.Is(err, os.ErrNotExist) {
		made = true
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return Manifest{}, fmt.Errorf("restore: %w", err)
	}
	undo := func() {
		if made {
			os.RemoveAll(dataDir)
			return
		}
		names, _ := readDirNames(dataDir)
		for _, n := range names {
			os.RemoveAll(filepath.Join(dataDir, n))
		}
		os.RemoveAll(filepath.Join(dataDir, dbName))
	}
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			undo()
			return Manifest{}, err
		}
		dst := filepath.Join(dataDir, filepath.FromSlash(e.path))
		if e.dir {
			if err := os.MkdirAll(dst, 0o700); err != nil {
				undo()
				return Manifest{}, fmt.Errorf("restore: %w", err)
			}
			continue
		}
		src := filepath.Join(dir, filepath.FromSlash(e.path))
		sum, size, err := hashFile(src)
		if err != nil {
			undo()
			return Manifest{}, fmt.Errorf("%w: %s: %v", ErrDamaged, e.path, err)
		}
		if sum != e.sum || size != e.size {
			undo()
			return Manifest{}, fmt.Errorf("%w: %s: checksum or size differs (%d octets, %d listed)", ErrDamaged, e.path, size, e.size)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			undo()
			return Manifest{}, fmt.Errorf("restore: %w", err)
		}
		if isMessagePath(e.path) {
			_, err = placeFile(src, dst)
		} else {
			err = copyFile(src, dst)
		}
		if err != nil {
			undo()
			return Manifest{}, fmt.Errorf("restore: %s: %w", e.path, err)
		}
	}
	return m, nil
}
