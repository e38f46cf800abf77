package imap

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"immp/maildir"
)

// Fetch answers FETCH and UID FETCH. Flags, sizes and dates come from
// memory; ENVELOPE and BODYSTRUCTURE from the parse cache; only body
// sections read the message file.
func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) (err error) {
	defer s.track("FETCH")(&err)
	v, err := s.selected()
	if err != nil {
		return err
	}
	targets := v.resolve(numSet)

	// A non-PEEK body fetch sets \Seen (RFC 9051 6.4.5), except read-only.
	seenNow := map[uint32]bool{}
	if !v.readOnly && fetchMarksSeen(options) {
		var unseen []uint32
		for _, t := range targets {
			if !slices.Contains(t.m.Flags, string(imap.FlagSeen)) {
				unseen = append(unseen, t.m.UID)
			}
		}
		if len(unseen) > 0 {
			msgs, err := v.w.StoreFlags(s.ctx, unseen, maildir.FlagsAdd, []string{string(imap.FlagSeen)})
			if err != nil {
				return err
			}
			byUID := map[uint32][]string{}
			for _, m := range msgs {
				byUID[m.UID] = m.Flags
				seenNow[m.UID] = true
			}
			for i := range targets {
				if f, ok := byUID[targets[i].m.UID]; ok {
					targets[i].m.Flags = f
				}
			}
		}
	}

	needRaw := len(options.BodySection) > 0 || len(options.BinarySection) > 0 || len(options.BinarySectionSize) > 0
	needParsed := options.Envelope || options.BodyStructure != nil
	for _, t := range targets {
		var raw []byte
		var p *parsed
		if needParsed {
			p = s.srv.cache.get(v.cacheKey(t.m.UID))
		}
		if needRaw || (needParsed && p == nil) {
			raw, err = v.readMessage(s.ctx, t.m.UID)
			if err != nil {
				if errorsIsNoMessage(err) {
					continue // expunged meanwhile; its EXPUNGE follows
				}
				return err
			}
		}
		if needParsed && p == nil {
			p = parseMessage(raw)
			s.srv.cache.put(v.cacheKey(t.m.UID), p)
		}
		if err := v.writeFetch(w, t, options, raw, p, seenNow[t.m.UID], s.showRecent()); err != nil {
			return err
		}
	}
	return nil
}

func (v *view) writeFetch(w *imapserver.FetchWriter, t target, options *imap.FetchOptions, raw []byte, p *parsed, seenNow, showRecent bool) error {
	rw := w.CreateMessage(t.seq)
	if options.UID {
		rw.WriteUID(imap.UID(t.m.UID))
	}
	if options.Flags || seenNow {
		rw.WriteFlags(v.flagsFor(t.m.UID, t.m.Flags, showRecent))
	}
	if options.InternalDate {
		rw.WriteInternalDate(t.m.InternalDate)
	}
	if options.RFC822Size {
		rw.WriteRFC822Size(t.m.Size)
	}
	if options.Envelope {
		rw.WriteEnvelope(p.envelope)
	}
	if options.BodyStructure != nil {
		rw.WriteBodyStructure(p.body)
	}
	for _, bs := range options.BodySection {
		buf := imapserver.ExtractBodySection(bytesReader(raw), bs)
		if err := writeAll(rw.WriteBodySection(bs, int64(len(buf))), buf); err != nil {
			return err
		}
	}
	for _, bs := range options.BinarySection {
		buf := imapserver.ExtractBinarySection(bytesReader(raw), bs)
		wc := rw.WriteBinarySection(bs, int64(len(buf)))
		if err := writeAll(wc, buf); err != nil {
			return err
		}
	}
	for _, bss := range options.BinarySectionSize {
		rw.WriteBinarySectionSize(bss, imapserver.ExtractBinarySectionSize(bytesReader(raw), bss))
	}
	return rw.Close()
}

func fetchMarksSeen(options *imap.FetchOptions) bool {
	for _, bs := range options.BodySection {
		if !bs.Peek {
			return true
		}
	}
	for _, bs := range options.BinarySection {
		if !bs.Peek {
			return true
		}
	}
	return false
}

func (v *view) cacheKey(uid uint32) cacheKey {
	return cacheKey{acct: v.acct, folder: v.f.Name(), uidValidity: v.uidValidity, uid: uid}
}

// readMessage reads one message file whole (sections need random access).
func (v *view) readMessage(ctx context.Context, uid uint32) ([]byte, error) {
	rc, err := v.f.OpenMessage(ctx, uid)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// writeAll writes a literal and closes it.
func writeAll(wc io.WriteCloser, b []byte) error {
	_, err := wc.Write(b)
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	return err
}

func errorsIsNoMessage(err error) bool { return errors.Is(err, maildir.ErrNoSuchMessage) }
