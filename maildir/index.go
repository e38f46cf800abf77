package maildir

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// The folder index in SQLite: per folder (keyed by account and the GUID
// in dovecot-uidlist's header, which survives renames), every message's
// base name with its mtime (INTERNALDATE) and sizes, as one blob. It only
// spares a process that opens a folder for the first time a stat call per
// message; anything missing from it is looked up on disk, anything in it
// but not on disk is ignored, so a stale index is never wrong, only
// slower. A message file's mtime never changes after delivery (flag
// changes rename, they do not write), so an entry never goes stale.
//
// It is written in the background after a scan or after indexSaveEvery
// messages arrived that it does not hold.

const indexSaveEvery = 1000

type idxEnt struct {
	mtime        int64
	psize, vsize int64
	info         string // flag letters when saved (IMX2)
	modseq       uint64 // modseq when saved (IMX2, modseq.go)
}

// idxMagic is the current format: IMX2 adds the folder's highest modseq
// and, per message, its flag letters and modseq. IMX1 is still read.
const (
	idxMagic   = "IMX2"
	idxMagicV1 = "IMX1"
)

func (mb *mailbox) indexKey() string {
	if mb.guid != "" {
		return "G" + mb.guid
	}
	return fmt.Sprintf("V%d:%s", mb.uidValidity, mb.name)
}

func encodeIndex(ms []*msgRec, modseqs map[uint32]uint64, highest uint64) []byte {
	b := make([]byte, 0, 24+len(ms)*72)
	b = append(b, idxMagic...)
	b = binary.AppendUvarint(b, highest)
	b = binary.AppendUvarint(b, uint64(len(ms)))
	for _, m := range ms {
		b = binary.AppendUvarint(b, uint64(len(m.base)))
		b = append(b, m.base...)
		b = binary.AppendVarint(b, m.mtime.UnixNano())
		b = binary.AppendVarint(b, m.psize)
		b = binary.AppendVarint(b, m.vsize)
		b = binary.AppendUvarint(b, uint64(len(m.info)))
		b = append(b, m.info...)
		b = binary.AppendUvarint(b, modseqs[m.uid])
	}
	return b
}

var errIndex = errors.New("maildir: bad folder index")

// decodeIndex reads a saved index and the highest modseq it recorded.
func decodeIndex(b []byte) (map[string]idxEnt, uint64, error) {
	var v2 bool
	switch {
	case len(b) >= len(idxMagic) && string(b[:len(idxMagic)]) == idxMagic:
		v2 = true
	case len(b) >= len(idxMagicV1) && string(b[:len(idxMagicV1)]) == idxMagicV1:
	default:
		return nil, 0, errIndex
	}
	b = b[len(idxMagic):]
	var highest uint64
	if v2 {
		h, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, 0, errIndex
		}
		highest, b = h, b[k:]
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, 0, errIndex
	}
	b = b[k:]
	str := func() (string, bool) {
		l, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < l {
			return "", false
		}
		v := string(b[k : k+int(l)])
		b = b[k+int(l):]
		return v, true
	}
	out := make(map[string]idxEnt, n)
	for i := uint64(0); i < n; i++ {
		base, ok := str()
		if !ok {
			return nil, 0, errIndex
		}
		var e idxEnt
		for _, p := range []*int64{&e.mtime, &e.psize, &e.vsize} {
			v, k := binary.Varint(b)
			if k <= 0 {
				return nil, 0, errIndex
			}
			*p = v
			b = b[k:]
		}
		if v2 {
			if e.info, ok = str(); !ok {
				return nil, 0, errIndex
			}
			ms, k := binary.Uvarint(b)
			if k <= 0 {
				return nil, 0, errIndex
			}
			e.modseq, b = ms, b[k:]
		}
		out[base] = e
	}
	return out, highest, nil
}

// loadIndex reads the saved index of the folder (nil if none) and the
// highest modseq it recorded.
func (mb *mailbox) loadIndex(ctx context.Context) (map[string]idxEnt, uint64) {
	var data []byte
	err := mb.s.rdb.QueryRowContext(ctx, "SELECT data FROM folder_index WHERE account_id = ? AND key = ? AND uidvalidity = ?",
		mb.acct.ID, mb.indexKey(), mb.uidValidity).Scan(&data)
	if err != nil {
		if !errors.Is(err, sql.ErrNoRows) {
			mb.s.log.Warn("read folder index", "folder", mb.name, "err", err)
		}
		return nil, 0
	}
	idx, highest, err := decodeIndex(data)
	if err != nil {
		mb.s.log.Warn("folder index unreadable; rebuilding", "folder", mb.name)
		return nil, 0
	}
	return idx, highest
}

// indexJob is a snapshot of a folder's index, encoded and written
// without mu (records are never changed in place; modseqs are copied).
type indexJob struct {
	mb             *mailbox
	key, name      string
	uv             uint32
	acct           int64
	msgs           []*msgRec
	modseqs        map[uint32]uint64
	highest        uint64
	modseqsCounted int
}

// indexJobLocked snapshots the index (mu held).
func (mb *mailbox) indexJobLocked() *indexJob {
	mb.uncached = 0
	j := &indexJob{mb: mb, key: mb.indexKey(), name: mb.name, uv: mb.uidValidity, acct: mb.acct.ID,
		msgs: slices.Clone(mb.msgs), modseqs: make(map[uint32]uint64, len(mb.msgs)),
		highest: mb.highestModseq, modseqsCounted: mb.unsavedModseqs}
	for _, m := range mb.msgs {
		j.modseqs[m.uid] = mb.modseqOf(m)
	}
	mb.unsavedModseqs = 0
	return j
}

func (j *indexJob) save(ctx context.Context, s *Store) {
	data := encodeIndex(j.msgs, j.modseqs, j.highest)
	_, err := s.wdb.ExecContext(ctx, "INSERT OR REPLACE INTO folder_index(account_id, key, uidvalidity, data) VALUES (?, ?, ?, ?)",
		j.acct, j.key, j.uv, data)
	if err != nil {
		s.log.Warn("save folder index", "folder", j.name, "err", err)
		j.mb.mu.Lock()
		j.mb.unsavedModseqs += j.modseqsCounted // try again next time
		j.mb.mu.Unlock()
	}
}

// maybeSaveIndexLocked (mu held) saves the index in the background when
// enough messages are missing from it.
func (mb *mailbox) maybeSaveIndexLocked() {
	if mb.uncached < indexSaveEvery || mb.idxSaving || !mb.loaded {
		return
	}
	mb.idxSaving = true
	job := mb.indexJobLocked()
	s := mb.s
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		job.save(ctx, s)
		mb.mu.Lock()
		mb.idxSaving = false
		mb.mu.Unlock()
	}()
}
