package imap

import (
	"context"
	"errors"
	"io"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/immp-mail/immp/maildir"
)

// Fetch answers FETCH and UID FETCH. Flags, sizes and dates come from
// memory; ENVELOPE and BODYSTRUCTURE from the parse cache; only body
// sections read the message file, and they are cut from it by the part
// tree of package mimeparse (structure.go, sections.go).
func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) (err error) {
	defer s.track("FETCH")(&err)
	s.srv.injectFault("FETCH")
	v, err := s.selected()
	if err != nil {
		return err
	}
	if err := v.fetchVanished(w, numSet, options); err != nil { // qresync.go
		return err
	}
	targets := changedSince(v.resolve(numSet), options) // condstore.go

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
			byUID := map[uint32]maildir.Message{}
			for _, m := range msgs {
				byUID[m.UID] = m
				seenNow[m.UID] = true
			}
			for i := range targets {
				if m, ok := byUID[targets[i].m.UID]; ok {
					targets[i].m.Flags, targets[i].m.ModSeq = m.Flags, m.ModSeq
				}
			}
		}
	}

	condStore := s.condStore()
	needRaw := len(options.BodySection) > 0 || len(options.BinarySection) > 0 || len(options.BinarySectionSize) > 0
	needParsed := options.Envelope || options.BodyStructure != nil
	for _, t := range targets {
		var msg *message
		var p *parsed
		if needParsed {
			p = s.srv.cache.get(v.cacheKey(t.m.UID))
		}
		if needRaw || (needParsed && p == nil) {
			raw, err := v.readMessage(s.ctx, t.m.UID)
			if err != nil {
				if errorsIsNoMessage(err) {
					continue // expunged meanwhile; its EXPUNGE follows
				}
				return err
			}
			msg = &message{raw: raw}
		}
		if needParsed && p == nil {
			p = parseMessage(msg.raw)
			s.srv.cache.put(v.cacheKey(t.m.UID), p)
		}
		items, err := fetchItems(options, msg)
		if err != nil {
			return err
		}
		if err := v.writeFetch(w, t, options, p, items, seenNow[t.m.UID], s.showRecent(), condStore); err != nil {
			return err
		}
	}
	return nil
}

// sectionItems are one message's section data, all computed before its
// response starts: an error (UNKNOWN-CTE) must come before any of it is
// written.
type sectionItems struct {
	body   [][]byte
	binary [][]byte
	sizes  []uint32
}

func fetchItems(options *imap.FetchOptions, msg *message) (sectionItems, error) {
	var it sectionItems
	for _, bs := range options.BodySection {
		it.body = append(it.body, msg.bodySection(bs))
	}
	for _, bs := range options.BinarySection {
		b, err := msg.binarySection(bs.Part, bs.Partial)
		if err != nil {
			return it, err
		}
		it.binary = append(it.binary, b)
	}
	for _, bss := range options.BinarySectionSize {
		b, err := msg.binarySection(bss.Part, nil)
		if err != nil {
			return it, err
		}
		it.sizes = append(it.sizes, uint32(min(len(b), 1<<32-1)))
	}
	return it, nil
}

// writeFetch writes one message's FETCH response. The response is always
// closed, even when a literal fails to go out: an unclosed one would hold
// imapserver's encoder and hang the connection's next response.
func (v *view) writeFetch(w *imapserver.FetchWriter, t target, options *imap.FetchOptions, p *parsed, it sectionItems, seenNow, showRecent, condStore bool) (err error) {
	rw := w.CreateMessage(t.seq)
	defer func() {
		if cerr := rw.Close(); err == nil {
			err = cerr
		}
	}()
	if options.UID {
		rw.WriteUID(imap.UID(t.m.UID))
	}
	if options.Flags || seenNow {
		rw.WriteFlags(v.flagsFor(t.m.UID, t.m.Flags, showRecent))
	}
	if fetchModSeq(options, options.Flags || seenNow, condStore) {
		rw.WriteModSeq(t.m.ModSeq)
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
	for i, bs := range options.BodySection {
		if err := writeAll(rw.WriteBodySection(bs, int64(len(it.body[i]))), it.body[i]); err != nil {
			return err
		}
	}
	for i, bs := range options.BinarySection {
		if err := writeAll(rw.WriteBinarySection(bs, int64(len(it.binary[i]))), it.binary[i]); err != nil {
			return err
		}
	}
	for i, bss := range options.BinarySectionSize {
		rw.WriteBinarySectionSize(bss, it.sizes[i])
	}
	return nil
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

// writeAll writes a literal and closes it.
func writeAll(wc io.WriteCloser, b []byte) error {
	_, err := wc.Write(b)
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	return err
}

func errorsIsNoMessage(err error) bool { return errors.Is(err, maildir.ErrNoSuchMessage) }
