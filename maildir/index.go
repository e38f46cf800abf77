package maildir

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
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
}

const idxMagic = "IMX1"

func (mb *mailbox) indexKey() string {
	if mb.guid != "" {
		return "G" + mb.guid
	}
	return fmt.Sprintf("V%d:%s", mb.uidValidity, mb.name)
}

func encodeIndex(ms []*msgRec) []byte {
	b := make([]byte, 0, 16+len(ms)*64)
	b = append(b, idxMagic...)
	b = binary.AppendUvarint(b, uint64(len(ms)))
	for _, m := range ms {
		b = binary.AppendUvarint(b, uint64(len(m.base)))
		b = append(b, m.base...)
		b = binary.AppendVarint(b, m.mtime.UnixNano())
		b = binary.AppendVarint(b, m.psize)
		b = binary.AppendVarint(b, m.vsize)
	}
	return b
}

var errIndex = errors.New("maildir: bad folder index")

func decodeIndex(b []byte) (map[string]idxEnt, error) {
	if len(b) < len(idxMagic) || string(b[:len(idxMagic)]) != idxMagic {
		return nil, errIndex
	}
	b = b[len(idxMagic):]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, errIndex
	}
	b = b[k:]
	out := make(map[string]idxEnt, n)
	for i := uint64(0); i < n; i++ {
		l, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < l {
			return nil, errIndex
		}
		base := string(b[k : k+int(l)])
		b = b[k+int(l):]
		var e idxEnt
		for _, p := range []*int64{&e.mtime, &e.psize, &e.vsize} {
			v, k := binary.Varint(b)
			if k <= 0 {
				return nil, errIndex
			}
			*p = v
			b = b[k:]
		}
		out[base] = e
	}
	return out, nil
}

// loadIndex reads the saved index of the folder (nil if none).
func (mb *mailbox) loadIndex(ctx context.Context) map[string]idxEnt {
	var data []byte
	err := mb.s.rdb.QueryRowContext(ctx, "SELECT data FROM folder_index WHERE account_id = ? AND key = ? AND uidvalidity = ?",
		mb.acct.ID, mb.indexKey(), mb.uidValidity).Scan(&data)
	if err != nil {
		if !errors.Is(err, sql.ErrNoRows) {
			mb.s.log.Warn("read folder index", "folder", mb.name, "err", err)
		}
		return nil
	}
	idx, err := decodeIndex(data)
	if err != nil {
		mb.s.log.Warn("folder index unreadable; rebuilding", "folder", mb.name)
		return nil
	}
	return idx
}

// maybeSaveIndexLocked (mu held) saves the index in the background when
// enough messages are missing from it.
func (mb *mailbox) maybeSaveIndexLocked() {
	if mb.uncached < indexSaveEvery || mb.idxSaving || !mb.loaded {
		return
	}
	mb.idxSaving = true
	mb.uncached = 0
	snap := make([]*msgRec, len(mb.msgs))
	for i, m := range mb.msgs {
		c := *m
		c.flags = nil
		snap[i] = &c
	}
	key, uv, acct, name := mb.indexKey(), mb.uidValidity, mb.acct.ID, mb.name
	s := mb.s
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		data := encodeIndex(snap)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := s.wdb.ExecContext(ctx, "INSERT OR REPLACE INTO folder_index(account_id, key, uidvalidity, data) VALUES (?, ?, ?, ?)",
			acct, key, uv, data)
		if err != nil {
			s.log.Warn("save folder index", "folder", name, "err", err)
		}
		mb.mu.Lock()
		mb.idxSaving = false
		mb.mu.Unlock()
	}()
}
