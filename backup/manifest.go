package backup

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	dbName       = "immp.db"
	manifestName = "MANIFEST.json"
	filesName    = "MANIFEST.files"
	formatName   = "immp-backup-1"
)

// Manifest describes a backup (MANIFEST.json). FilesSHA256 is the SHA-256
// of MANIFEST.files, which lists every directory ("D <path>") and every
// file ("F <sha256> <size> <path>") of the backup, sorted by path.
type Manifest struct {
	Format      string    `json:"format"`
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished"`
	Stats       Stats     `json:"stats"`
	Files       int       `json:"files"`
	FilesSHA256 string    `json:"files_sha256"`
}

// entry is one line of MANIFEST.files.
type entry struct {
	dir  bool
	sum  string
	size int64
	path string // slash-separated, relative to the backup
}

func (e entry) line() string {
	if e.dir {
		return "D " + e.path + "\n"
	}
	return fmt.Sprintf("F %s %d %s\n", e.sum, e.size, e.path)
}

func parseEntries(data []byte) ([]entry, error) {
	var out []entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		var e entry
		switch {
		case strings.HasPrefix(l, "D "):
			e = entry{dir: true, path: l[2:]}
		case strings.HasPrefix(l, "F "):
			f := strings.SplitN(l[2:], " ", 3)
			if len(f) != 3 || len(f[0]) != 64 {
				return nil, fmt.Errorf("%s line %d: malformed", filesName, n)
			}
			size, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || size < 0 {
				return nil, fmt.Errorf("%s line %d: bad size", filesName, n)
			}
			e = entry{sum: f[0], size: size, path: f[2]}
		default:
			return nil, fmt.Errorf("%s line %d: malformed", filesName, n)
		}
		// No path leaves the target directory.
		if e.path == "" || !filepath.IsLocal(filepath.FromSlash(e.path)) {
			return nil, fmt.Errorf("%s line %d: path %q leaves the directory", filesName, n, e.path)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// writeManifest lists and hashes the backup's files (after every folder
// was copied: hashing runs under no lock) and writes both manifest
// files.
func writeManifest(dir string, started time.Time, st Stats) (Manifest, error) {
	var ents []entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." || rel == manifestName || rel == filesName {
			return nil
		}
		if d.IsDir() {
			ents = append(ents, entry{dir: true, path: filepath.ToSlash(rel)})
			return nil
		}
		sum, size, err := hashFile(p)
		if err != nil {
			return err
		}
		st.Bytes += size
		ents = append(ents, entry{sum: sum, size: size, path: filepath.ToSlash(rel)})
		return nil
	})
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: manifest: %w", err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].path < ents[j].path })
	var b bytes.Buffer
	files := 0
	for _, e := range ents {
		b.WriteString(e.line())
		if !e.dir {
			files++
		}
	}
	sum := sha256.Sum256(b.Bytes())
	m := Manifest{Format: formatName, Started: started, Finished: time.Now().UTC(), Stats: st, Files: files,
		FilesSHA256: hex.EncodeToString(sum[:])}
	if err := writeFile(filepath.Join(dir, filesName), b.Bytes()); err != nil {
		return Manifest{}, fmt.Errorf("backup: manifest: %w", err)
	}
	js, _ := json.MarshalIndent(m, "", "  ")
	if err := writeFile(filepath.Join(dir, manifestName), append(js, '\n')); err != nil {
		return Manifest{}, fmt.Errorf("backup: manifest: %w", err)
	}
	return m, nil
}

// ErrDamaged: the backup does not match its manifest.
var ErrDamaged = errors.New("backup does not match its manifest")

// readManifest reads and checks both manifest files of a backup.
func readManifest(dir string) (Manifest, []entry, error) {
	js, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return Manifest{}, nil, fmt.Errorf("%s is not an immp backup: %w", dir, err)
	}
	var m Manifest
	if err := json.Unmarshal(js, &m); err != nil {
		return Manifest{}, nil, fmt.Errorf("%w: %s: %v", ErrDamaged, manifestName, err)
	}
	if m.Format != formatName {
		return Manifest{}, nil, fmt.Errorf("%s: format %q, this immp reads %q", manifestName, m.Format, formatName)
	}
	data, err := os.ReadFile(filepath.Join(dir, filesName))
	if err != nil {
		return Manifest{}, nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != m.FilesSHA256 {
		return Manifest{}, nil, fmt.Errorf("%w: %s has checksum %x, the manifest says %s", ErrDamaged, filesName, sum, m.FilesSHA256)
	}
	ents, err := parseEntries(data)
	if err != nil {
		return Manifest{}, nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	files, msgs := 0, 0
	for _, e := range ents {
		if !e.dir {
			files++
			if isMessagePath(e.path) {
				msgs++
			}
		}
	}
	if files != m.Files || msgs != m.Stats.Messages {
		return Manifest{}, nil, fmt.Errorf("%w: %d files and %d messages listed, the manifest counts %d and %d", ErrDamaged, files, msgs, m.Files, m.Stats.Messages)
	}
	return m, ents, nil
}

// isMessagePath: a file in a folder's cur/ or new/.
func isMessagePath(p string) bool {
	d := filepath.Base(filepath.Dir(filepath.FromSlash(p)))
	return strings.HasPrefix(p, "mail/") && (d == "cur" || d == "new")
}
