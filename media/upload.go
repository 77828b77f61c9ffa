package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/inspection"
)

// Chunk is one request's bytes of an upload: Length bytes (its Content-Length, -1 when unknown)
// that belong at Offset.
type Chunk struct {
	Offset int64
	Length int64
	Body   io.Reader
}

// commitTimeout bounds the writes that save what arrived after the client has gone.
const commitTimeout = time.Minute

// Write takes one chunk of an upload. Bytes are kept as they arrive, so when the body breaks off
// (the connection dropped) what came is saved and the answer names the new offset — which the
// client will not read, but HEAD will tell it. The chunk that brings the last byte completes the
// upload: the SHA-256 must equal the declared one (else EINVALID and nothing is kept), the bytes
// must be a JPEG, PNG or HEIC (else EUNSUPPORTED), and the photo is stored and recorded.
//
// A wrong offset is ECONFLICT; a chunk past the declared size ETOOLARGE; a finished upload that
// failed, was cancelled or expired EGONE.
func (s *PhotoStore) Write(ctx context.Context, p domain.Principal, id string, c Chunk) (*inspection.Upload, *inspection.Photo, error) {
	u, err := s.Photos.GetUpload(ctx, p, id)
	if err != nil {
		return nil, nil, err
	}
	switch u.State {
	case inspection.UploadOpen:
	case inspection.UploadComplete:
		if err := s.finish(ctx, u); err != nil {
			return nil, nil, err
		}
		if c.Offset == u.Size && c.Length <= 0 {
			return u, u.Photo, nil
		}
		return nil, nil, domain.Errorf(domain.ECONFLICT, "the upload is already complete (offset %d)", u.Size)
	default:
		msg := fmt.Sprintf("the upload is %s", u.State)
		if u.Reason != "" {
			msg += ": " + u.Reason
		}
		return nil, nil, domain.Errorf(domain.EGONE, "%s; start a new upload", msg)
	}
	switch {
	case c.Offset != u.Offset:
		return nil, nil, domain.Errorf(domain.ECONFLICT, "the upload is at offset %d, not %d: ask for the offset and resume from it", u.Offset, c.Offset)
	case c.Length < 0:
		return nil, nil, domain.Invalid("header.Content-Length", "send each chunk with its Content-Length")
	case c.Offset+c.Length > u.Size:
		return nil, nil, domain.Errorf(domain.ETOOLARGE, "the chunk ends at byte %d, past the declared size of %d bytes", c.Offset+c.Length, u.Size)
	case c.Length == 0:
		return u, nil, nil
	}
	if err := s.takeBody(ctx); err != nil {
		return nil, nil, err
	}
	defer func() { <-s.bodies }()

	h, err := restoreHash(u.HashState)
	if err != nil {
		return nil, nil, domain.Internal("media: upload "+u.ID+": hash state", err)
	}
	w := &chunkWriter{s: s, u: u, h: h, head: u.Head, ct: u.ContentType, start: u.Offset}
	w.buf, w.putBack = s.buffer(c.Length)
	defer w.dropStream() // no path leaves a write to the final key half-done
	var readErr error
	if u.Offset == 0 && c.Length == u.Size && c.Length <= int64(cap(w.buf)) {
		readErr = w.readStreaming(ctx, c.Body)
	} else {
		readErr = w.read(ctx, c.Body, c.Length)
	}
	// From here on the client may be gone; what arrived is saved regardless.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if w.err != nil {
		if domain.IsCode(w.err, domain.EUNSUPPORTED) { // not a photo: nothing of this upload is kept
			s.abandon(ctx, u, w.flushed, w.err)
		} else { // the store failed: the client sends this chunk again
			s.deleteAll(ctx, w.flushed)
		}
		w.putBack()
		return nil, nil, w.err
	}
	if w.got == 0 {
		w.putBack()
		if readErr != nil {
			return nil, nil, domain.Errorf(domain.EINVALID, "the connection broke off before any byte arrived")
		}
		return u, nil, nil
	}
	if u.Offset+w.got < u.Size {
		err := w.save(ctx)
		w.putBack()
		return u, nil, err
	}
	ph, err := w.complete(ctx)
	if err != nil {
		w.putBack()
		return nil, nil, err
	}
	// The thumbnail is made after the answer, from the bytes in memory when they are all there.
	var data []byte
	if w.whole {
		data = w.buf
	}
	s.thumbnailLater(ph, data, w.putBack)
	return u, ph, nil
}

// takeBody waits briefly for a slot to hold a request body in memory.
func (s *PhotoStore) takeBody(ctx context.Context) error {
	t := time.NewTimer(bodyWait)
	defer t.Stop()
	select {
	case s.bodies <- struct{}{}:
		return nil
	case <-t.C:
		return &domain.Error{Code: domain.ETOOMANY, Message: "too many photos are arriving at once; try again shortly", RetryAfterSeconds: 5}
	case <-ctx.Done():
		return &domain.Error{Code: domain.EUNAVAILABLE, Message: "the request was cancelled", Err: ctx.Err()}
	}
}

// buffer returns an empty buffer for up to n bytes (at most SegmentSize) and how to give it back.
func (s *PhotoStore) buffer(n int64) ([]byte, func()) {
	if n <= min(smallBody, int64(s.cfg.SegmentSize)) {
		return make([]byte, 0, n), func() {}
	}
	bp := s.pool.Get().(*[]byte)
	return (*bp)[:0], func() { s.pool.Put(bp) }
}

// chunkWriter is the state of one request's bytes.
type chunkWriter struct {
	s       *PhotoStore
	u       *inspection.Upload
	h       hash.Hash
	head    []byte
	ct      string
	buf     []byte // bytes since the last segment written by this request
	putBack func()
	start   int64 // the upload offset of buf[0]
	got     int64 // bytes of this chunk received
	flushed []inspection.Segment
	err     error // a refusal decided while reading
	whole   bool  // the photo arrived whole in this request and is all in buf
	// st is the write of a photo sent whole to its final key while it arrives (upload_stream.go).
	st       *stream
	noStream bool
}

// read takes length bytes unless the body breaks off first, hashing them, telling the type from
// the first of them, and writing out a segment whenever the buffer fills with more to come. It
// returns the read error if the body broke off; a refusal is left in w.err.
func (w *chunkWriter) read(ctx context.Context, body io.Reader, length int64) error {
	for w.got < length {
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(ctx); err != nil {
				w.err = err
				return nil
			}
		}
		room := int64(cap(w.buf) - len(w.buf))
		n, err := body.Read(w.buf[len(w.buf) : len(w.buf)+int(min(room, length-w.got))])
		if n > 0 {
			fresh := w.buf[len(w.buf) : len(w.buf)+n]
			w.buf = w.buf[:len(w.buf)+n]
			w.h.Write(fresh)
			w.got += int64(n)
			if w.ct == "" {
				if err := w.sniff(fresh); err != nil {
					w.err = err
					return nil
				}
			}
		}
		if err == io.EOF && w.got < length {
			return io.ErrUnexpectedEOF
		}
		if err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

// sniff adds fresh bytes to the upload's head until its type is known, and refuses an upload whose
// bytes are no photo — as soon as its first bytes show it, not after 20 MiB.
func (w *chunkWriter) sniff(fresh []byte) error {
	if need := sniffLen - len(w.head); need > 0 {
		w.head = append(w.head, fresh[:min(need, len(fresh))]...)
	}
	ct, decided := sniffPhoto(w.head, int64(len(w.head)) == w.u.Size)
	if !decided {
		return nil
	}
	if ct == "" {
		return &domain.Error{Code: domain.EUNSUPPORTED, Message: "the bytes are not a JPEG, PNG or HEIC image; nothing was kept"}
	}
	w.ct = ct
	return nil
}

// flush writes the buffer out as a segment, for chunks larger than the buffer.
func (w *chunkWriter) flush(ctx context.Context) error {
	seg, err := w.s.putSegment(ctx, w.u.ID, w.start, w.buf)
	if err != nil {
		return err
	}
	w.flushed = append(w.flushed, seg)
	w.start += int64(len(w.buf))
	w.buf = w.buf[:0]
	return nil
}

func (s *PhotoStore) putSegment(ctx context.Context, uploadID string, offset int64, data []byte) (inspection.Segment, error) {
	key := segmentKey(uploadID, offset)
	if _, err := s.Objects.Put(ctx, key, bytes.NewReader(data), int64(len(data)), "application/octet-stream"); err != nil {
		return inspection.Segment{}, err
	}
	return inspection.Segment{Key: key, Offset: offset, Size: int64(len(data))}, nil
}

// save keeps the bytes of an unfinished upload and moves its offset on. If another request moved
// the upload on first (a tablet retrying while its old connection still hung), this one's bytes are
// dropped and the answer is ECONFLICT.
func (w *chunkWriter) save(ctx context.Context) error {
	if len(w.buf) > 0 {
		if err := w.flush(ctx); err != nil {
			w.s.deleteAll(ctx, w.flushed)
			return err
		}
	}
	state, err := saveHash(w.h)
	if err != nil {
		return domain.Internal("media: upload "+w.u.ID+": hash state", err)
	}
	w.u.Offset += w.got
	w.u.HashState, w.u.Head, w.u.ContentType = state, w.head, w.ct
	w.u.Segments = append(w.u.Segments, w.flushed...)
	if err := w.s.Photos.SaveUpload(ctx, w.u); err != nil {
		w.s.deleteAll(ctx, w.flushed)
		if domain.IsCode(err, domain.ECONFLICT) {
			return domain.Errorf(domain.ECONFLICT, "another request moved the upload on meanwhile; ask for the offset and resume")
		}
		return err
	}
	return nil
}

// abandon ends an upload refused for its content and deletes everything it had stored.
func (s *PhotoStore) abandon(ctx context.Context, u *inspection.Upload, flushed []inspection.Segment, why error) {
	segs := append(u.Segments, flushed...)
	var de *domain.Error
	reason := "refused"
	if errors.As(why, &de) {
		reason = de.Message
	}
	u.State, u.Reason, u.Segments, u.HashState = inspection.UploadFailed, reason, []inspection.Segment{}, nil
	if err := s.Photos.SaveUpload(ctx, u); err != nil && !domain.IsCode(err, domain.ECONFLICT) {
		s.Log.WarnContext(ctx, "media: could not mark an upload failed", "upload", u.ID, "err", err)
	}
	s.deleteAll(ctx, segs)
}

// complete checks the whole photo, stores it under its final key and records it.
func (w *chunkWriter) complete(ctx context.Context) (*inspection.Photo, error) {
	u, s := w.u, w.s
	if sum := hex.EncodeToString(w.h.Sum(nil)); sum != u.SHA256 {
		err := domain.Invalid("body", "the photo's SHA-256 is %s, not the %s declared: nothing was kept; upload it again", sum, u.SHA256)
		w.dropStream()
		s.abandon(ctx, u, w.flushed, err)
		return nil, err
	}
	ph := &inspection.Photo{InspectionID: u.InspectionID, ObjectID: u.ObjectID, Territory: u.Territory, OwnerIIN: u.OwnerIIN,
		Item: u.Item, Key: photoKey(u.ID, w.ct), ContentType: w.ct, Size: u.Size, SHA256: u.SHA256, Device: u.Device,
		UploadedBy: u.CreatedBy, UploadedAt: s.Photos.Now().UTC()}
	if w.ct != "image/heic" && w.ct != "image/heif" {
		ph.ThumbKey = thumbKey(u.ID)
	}
	segs := append(append([]inspection.Segment{}, u.Segments...), w.flushed...)
	var err error
	if w.whole = len(segs) == 0; w.whole {
		err = w.storeWhole(ctx, ph)
	} else {
		err = w.assemble(ctx, ph)
	}
	if err != nil {
		if domain.IsCode(err, domain.EUNSUPPORTED) || domain.IsCode(err, domain.EINVALID) {
			s.abandon(ctx, u, w.flushed, err)
		} else {
			s.deleteAll(ctx, w.flushed) // a store failure: the client sends this chunk again
		}
		return nil, err
	}
	done, err := s.Photos.Complete(ctx, u, ph)
	if err != nil {
		if !domain.IsCode(err, domain.ECONFLICT) && !domain.IsCode(err, domain.EGONE) {
			return nil, err // the upload may be closed already; Status records the photo then
		}
		s.delete(ctx, ph.Key)
		s.deleteAll(ctx, w.flushed)
		return nil, err
	}
	s.deleteAll(ctx, segs)
	return done, nil
}

// assemble streams the upload's segments and this request's remaining bytes into the final object,
// hashing the stream again, and reads the photo's header from its start. A stored object that is
// not what was declared is deleted.
func (w *chunkWriter) assemble(ctx context.Context, ph *inspection.Photo) error {
	segs := append(append([]inspection.Segment{}, w.u.Segments...), w.flushed...)
	h := sha256.New()
	head := &prefix{max: exifHeadLen}
	src := io.MultiReader(&segmentReader{ctx: ctx, o: w.s.Objects, segs: segs}, bytes.NewReader(w.buf))
	_, err := w.s.Objects.Put(ctx, ph.Key, io.TeeReader(src, io.MultiWriter(h, head)), ph.Size, ph.ContentType)
	if err != nil {
		return err
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != ph.SHA256 {
		w.s.delete(ctx, ph.Key)
		return domain.Internal("media: upload "+w.u.ID, fmt.Errorf("the assembled object's SHA-256 is %s, not %s: a segment changed in the store", sum, ph.SHA256))
	}
	if err := describe(ph, head.b, int64(len(head.b)) == ph.Size); err != nil {
		w.s.delete(ctx, ph.Key)
		return err
	}
	return nil
}

// describe checks that a photo's bytes parse as the image they look like and reads its size and
// EXIF from head (its first bytes, or all of them when complete).
func describe(ph *inspection.Photo, head []byte, complete bool) error {
	w, h, err := imageSize(head, ph.ContentType, complete)
	if err != nil {
		return &domain.Error{Code: domain.EUNSUPPORTED, Message: "the bytes start like a " + ph.ContentType + " image but do not parse as one; nothing was kept", Err: err}
	}
	if int64(w)*int64(h) > MaxPhotoPixels {
		return &domain.Error{Code: domain.EUNSUPPORTED, Message: fmt.Sprintf("the photo has %d×%d pixels, more than any camera makes; nothing was kept", w, h)}
	}
	ph.Width, ph.Height = w, h
	ph.Exif = readExif(head[:min(len(head), exifHeadLen)], ph.ContentType)
	return nil
}

// segmentReader reads segments one after another, opening each when it is reached.
type segmentReader struct {
	ctx  context.Context
	o    Objects
	segs []inspection.Segment
	cur  io.ReadCloser
}

func (r *segmentReader) Read(p []byte) (int, error) {
	for {
		if r.cur == nil {
			if len(r.segs) == 0 {
				return 0, io.EOF
			}
			rc, _, err := r.o.Get(r.ctx, r.segs[0].Key)
			if domain.IsCode(err, domain.ENOTFOUND) {
				return 0, domain.Internal("media: segment "+r.segs[0].Key, err)
			} else if err != nil {
				return 0, err
			}
			r.cur, r.segs = rc, r.segs[1:]
		}
		n, err := r.cur.Read(p)
		if err == io.EOF {
			_ = r.cur.Close()
			r.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

// prefix keeps the first max bytes written to it.
type prefix struct {
	b   []byte
	max int
}

func (p *prefix) Write(b []byte) (int, error) {
	if room := p.max - len(p.b); room > 0 {
		p.b = append(p.b, b[:min(room, len(b))]...)
	}
	return len(b), nil
}

// restoreHash returns a SHA-256 hash resumed from a saved state, or a new one.
func restoreHash(state []byte) (hash.Hash, error) {
	h := sha256.New()
	if len(state) == 0 {
		return h, nil
	}
	u, ok := h.(encoding.BinaryUnmarshaler)
	if !ok {
		return nil, errors.New("sha256 cannot resume")
	}
	return h, u.UnmarshalBinary(state)
}

func saveHash(h hash.Hash) ([]byte, error) {
	m, ok := h.(encoding.BinaryMarshaler)
	if !ok {
		return nil, errors.New("sha256 cannot save its state")
	}
	return m.MarshalBinary()
}
