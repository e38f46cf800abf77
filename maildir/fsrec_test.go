package maildir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// recFS is the file system of the power-cut test (powercut_test.go) and
// of the tests that count fsyncs: it performs every operation of the
// durable path for real, except fsync itself (the disk is not what is
// tested: a power cut is simulated), and records each one, in the order
// they happened, with what each fsync covered:
//
//   - an fsync of a file: the file's contents at the moment the fsync
//     began (read back through /proc/self/fd);
//   - an fsync of a directory: its entries at the moment the fsync
//     began, each naming an inode generation.
//
// An fsync is recorded when it returns; whatever happened after it began
// is not covered by it. Every mutating operation runs under the
// recorder's lock, so the log is the order the kernel saw. Files are
// known by inode generation: an inode number the system reuses after a
// file was freed is a new generation when a file is created through the
// seam, so a directory snapshot never names the wrong contents.
type recFS struct {
	osFS
	mu      sync.Mutex
	ops     []fsOp
	gen     map[uint64]int // inode number -> generation of the file it holds
	ngen    int
	fdPath  map[int]string
	fdNode  map[int]node
	base    map[node][]byte            // contents of the files there at the start
	baseDir map[string]map[string]node // entries of the directories there at the start

	// syncDelay, when set, is how long a simulated fsync takes (varied,
	// so concurrent batches interleave differently from run to run).
	syncDelay func() time.Duration
	// syncFault, when set, may fail the fsync of path.
	syncFault func(path string) error
}

// node is one file: an inode number and its generation (0: there at the
// start; -1: made outside the seam).
type node struct {
	ino uint64
	gen int
}

type opKind int

const (
	opOpen opKind = iota
	opCreate
	opWrite
	opLink
	opRename
	opRemove
	opSyncFile
	opSyncDir
	opNote
)

var opNames = [...]string{"open", "create", "write", "link", "rename", "remove", "sync-file", "sync-dir", "note"}

type fsOp struct {
	kind        opKind
	path, path2 string
	node        node
	data        []byte          // opSyncFile: contents synced
	dir         map[string]node // opSyncDir: entries synced
	snapAt      int             // opSync*: the ops before this one are covered
	note        any             // opNote
}

func (o fsOp) String() string {
	switch o.kind {
	case opNote:
		return fmt.Sprintf("note %+v", o.note)
	case opSyncFile:
		return fmt.Sprintf("sync-file %s %v (%d bytes)", o.path, o.node, len(o.data))
	case opSyncDir:
		return fmt.Sprintf("sync-dir %s (%d entries, covers ops < %d)", o.path, len(o.dir), o.snapAt)
	}
	if o.path2 != "" {
		return fmt.Sprintf("%s %s -> %s", opNames[o.kind], o.path, o.path2)
	}
	return fmt.Sprintf("%s %s", opNames[o.kind], o.path)
}

// newRecFS starts recording with the tree under root as it is now,
// taken as durable.
func newRecFS(root string) (*recFS, error) {
	r := &recFS{
		gen:     make(map[uint64]int),
		fdPath:  make(map[int]string),
		fdNode:  make(map[int]node),
		base:    make(map[node][]byte),
		baseDir: make(map[string]map[string]node),
	}
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		ino := info.Sys().(*syscall.Stat_t).Ino
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			r.gen[ino] = 0
			r.base[node{ino, 0}] = data
		}
		if info.IsDir() {
			r.baseDir[path] = nil // filled below, once every inode is known
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for dir := range r.baseDir {
		if r.baseDir[dir], err = r.entriesLocked(dir); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// nodeLocked names the file that has inode ino now.
func (r *recFS) nodeLocked(ino uint64) node {
	g, ok := r.gen[ino]
	if !ok {
		g = -1
	}
	return node{ino, g}
}

// entriesLocked reads a directory's entries as the files they name.
func (r *recFS) entriesLocked(dir string) (map[string]node, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make(map[string]node, len(ents))
	for _, e := range ents {
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(dir, e.Name()), &st); err != nil {
			continue // removed meanwhile by something outside the seam
		}
		out[e.Name()] = r.nodeLocked(st.Ino)
	}
	return out, nil
}

func (r *recFS) recordLocked(op fsOp) { r.ops = append(r.ops, op) }

// note records a test event (an acknowledgement, a UID shown) in the
// same order as the file system's operations.
func (r *recFS) note(v any) {
	r.mu.Lock()
	r.recordLocked(fsOp{kind: opNote, note: v})
	r.mu.Unlock()
}

// log returns the operations so far.
func (r *recFS) log() []fsOp {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]fsOp(nil), r.ops...)
}

// count counts the completed fsyncs of path.
func (r *recFS) count(kind opKind, path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, o := range r.ops {
		if o.kind == kind && o.path == path {
			n++
		}
	}
	return n
}

func (r *recFS) open(path string, flags int, perm uint32) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tmpfile := flags&unix.O_TMPFILE == unix.O_TMPFILE
	creates := tmpfile
	if !tmpfile && flags&syscall.O_CREAT != 0 {
		var st syscall.Stat_t
		creates = syscall.Lstat(path, &st) != nil
	}
	fd, err := r.osFS.open(path, flags, perm)
	if err != nil {
		return fd, err
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		panic(err)
	}
	kind := opOpen
	if creates {
		r.ngen++
		r.gen[st.Ino] = r.ngen
		kind = opCreate
	}
	r.fdPath[fd] = path
	r.fdNode[fd] = r.nodeLocked(st.Ino)
	r.recordLocked(fsOp{kind: kind, path: path, node: r.fdNode[fd]})
	return fd, nil
}

func (r *recFS) close(fd int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.fdPath, fd)
	delete(r.fdNode, fd)
	return r.osFS.close(fd)
}

func (r *recFS) write(fd int, b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recordLocked(fsOp{kind: opWrite, path: r.fdPath[fd], node: r.fdNode[fd]})
	return r.osFS.write(fd, b)
}

func (r *recFS) pwrite(fd int, b []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recordLocked(fsOp{kind: opWrite, path: r.fdPath[fd], node: r.fdNode[fd]})
	return r.osFS.pwrite(fd, b, off)
}

func (r *recFS) ftruncate(fd int, size int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recordLocked(fsOp{kind: opWrite, path: r.fdPath[fd], node: r.fdNode[fd]})
	return r.osFS.ftruncate(fd, size)
}

func (r *recFS) link(oldpath, newpath string, follow bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.osFS.link(oldpath, newpath, follow)
	if err == nil {
		r.recordLocked(fsOp{kind: opLink, path: oldpath, path2: newpath})
	}
	return err
}

func (r *recFS) rename(oldpath, newpath string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var st syscall.Stat_t
	if err := syscall.Lstat(oldpath, &st); err != nil {
		return err.(syscall.Errno)
	}
	err := r.osFS.rename(oldpath, newpath)
	if err == nil {
		r.recordLocked(fsOp{kind: opRename, path: oldpath, path2: newpath, node: r.nodeLocked(st.Ino)})
	}
	return err
}

func (r *recFS) remove(path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.osFS.remove(path)
	if err == nil {
		r.recordLocked(fsOp{kind: opRemove, path: path})
	}
	return err
}

func (r *recFS) fsync(fd int) error     { return r.sync(fd) }
func (r *recFS) fdatasync(fd int) error { return r.sync(fd) }

// sync takes what the fsync covers when it begins and records it when it
// returns.
func (r *recFS) sync(fd int) error {
	r.mu.Lock()
	path, n := r.fdPath[fd], r.fdNode[fd]
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		r.mu.Unlock()
		return err.(syscall.Errno)
	}
	op := fsOp{path: path, node: n, snapAt: len(r.ops)}
	if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		op.kind = opSyncDir
		ents, err := r.entriesLocked(path)
		if err != nil {
			r.mu.Unlock()
			var errno syscall.Errno
			if !errors.As(err, &errno) {
				errno = syscall.EIO
			}
			return errno
		}
		op.dir = ents
	} else {
		op.kind = opSyncFile
		data, err := os.ReadFile("/proc/self/fd/" + strconv.Itoa(fd))
		if err != nil {
			panic(err)
		}
		op.data = data
	}
	fault, delay := r.syncFault, r.syncDelay
	r.mu.Unlock()
	if fault != nil {
		if err := fault(path); err != nil {
			return err
		}
	}
	if delay != nil {
		time.Sleep(delay())
	}
	r.mu.Lock()
	r.recordLocked(op)
	r.mu.Unlock()
	return nil
}

// durable is what a power cut would leave: for every directory, the
// entries its last completed fsync covered (or those it had at the
// start), and for every file the contents its last fsync covered.
type durable struct {
	r        *recFS
	dirs     map[string]dirSnap
	contents map[node]fileSnap
	renames  []renameOp   // cross-directory renames so far
	memo     map[node]any // what the test made of a file's contents (cleared when they change)
}

type dirSnap struct {
	entries map[string]node
	at      int // the snapshot covers the ops before this index
}

type fileSnap struct {
	data []byte
	at   int
}

type renameOp struct {
	at              int
	oldDir, oldName string
	newDir, newName string
	node            node
}

func (r *recFS) start() *durable {
	d := &durable{r: r, dirs: make(map[string]dirSnap), contents: make(map[node]fileSnap), memo: make(map[node]any)}
	for dir, ents := range r.baseDir {
		d.dirs[dir] = dirSnap{ents, 0}
	}
	return d
}

// apply takes operation i (in log order) into account.
func (d *durable) apply(i int, o fsOp) {
	switch o.kind {
	// Of two fsyncs that overlapped, the one that began later covers
	// more, whichever returned first.
	case opSyncFile:
		if c, ok := d.contents[o.node]; !ok || c.at < o.snapAt {
			d.contents[o.node] = fileSnap{o.data, o.snapAt}
			delete(d.memo, o.node)
		}
	case opSyncDir:
		if d.dirs[o.path].at <= o.snapAt {
			d.dirs[o.path] = dirSnap{o.dir, o.snapAt}
		}
	case opRename:
		od, nd := filepath.Dir(o.path), filepath.Dir(o.path2)
		if od != nd {
			d.renames = append(d.renames, renameOp{i, od, filepath.Base(o.path), nd, filepath.Base(o.path2), o.node})
		}
	}
}

// entries lists a directory as a power cut now would leave it. A rename
// from one directory to another is one journaled operation on the file
// systems this runs on (ext4, XFS, btrfs): once the old name's removal
// is durable (the old directory was synced after it), so is the new
// name, even if the new directory was not synced since.
func (d *durable) entries(dir string) map[string]node {
	snap := d.dirs[dir]
	out := make(map[string]node, len(snap.entries))
	for name, n := range snap.entries {
		out[name] = n
	}
	for _, rn := range d.renames {
		if rn.newDir == dir && rn.at >= snap.at && rn.at < d.dirs[rn.oldDir].at {
			out[rn.newName] = rn.node
		}
	}
	return out
}

// contentsOf is the durable contents of a file (nil: none ever synced).
func (d *durable) contentsOf(n node) []byte {
	if c, ok := d.contents[n]; ok {
		return c.data
	}
	return d.r.base[n]
}

// remember returns what f makes of n's durable contents, computed once
// for each version of them.
func (d *durable) remember(n node, f func([]byte) any) any {
	if v, ok := d.memo[n]; ok {
		return v
	}
	v := f(d.contentsOf(n))
	d.memo[n] = v
	return v
}

// sortedNames is for stable messages.
func sortedNames(m map[string]node) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
