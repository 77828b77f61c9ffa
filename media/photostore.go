package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/inspection"
)

// PhotoStore keeps the bytes of inspection photos in an Objects store (MinIO, or the local disk)
// and takes them from tablets by a small resumable protocol; its records are domain.Photos'.
//
// Why a protocol of our own and not tus through github.com/tus/tusd/v2: tusd is a net/http handler
// with its own storage back ends, so under Fiber it runs through an adaptor that reads the whole
// request body before the handler starts — exactly the bytes a dropped link loses — and its S3
// store brings the AWS SDK beside minio-go and keeps objects outside media.Objects, where neither
// the Disk store of the embedded default nor our error mapping applies. What tablets need is tus's
// core, which is small: create an upload declaring size, SHA-256 and type; PATCH bytes at an offset
// (409 when it is not the offset the server has); HEAD to learn the offset after a drop. The server
// keeps every byte that arrived even when the connection breaks mid-body, so a link that drops
// every few hundred kilobytes still makes progress.
//
// Bytes arrive into a memory buffer of at most SegmentSize. A photo sent in one request (the usual
// case on a working link) is hashed, checked and written to its final key once, from memory, with
// nothing read back. Bytes of an unfinished upload are kept as segment objects; the request that
// brings the last byte streams the segments and its own bytes into the final object in one pass,
// hashing that stream again, so what is stored is proven to be what was declared. The SHA-256 of an
// unfinished upload is carried between requests as the hash's own saved state, so no request
// re-reads earlier bytes to hash them.
type PhotoStore struct {
	Photos      *inspection.Photos
	Inspections *inspection.Inspections
	Objects     Objects
	Log         *slog.Logger
	cfg         PhotoConfig

	bodies chan struct{} // request bodies held in memory at once
	thumbs chan struct{} // thumbnails being made in the background at once
	pool   sync.Pool     // SegmentSize buffers

	mu      sync.Mutex
	making  map[string]*thumbCall // thumbnails being made, by photo id
	pending sync.WaitGroup
}

// PhotoConfig tunes a PhotoStore; zero fields take the defaults.
type PhotoConfig struct {
	// SegmentSize is the most of one request's bytes held in memory before they are written out as
	// a segment; photos up to it sent in one request are never read back. Default 8 MiB.
	SegmentSize int
	// MaxBodies bounds requests whose bytes are in memory at once (memory ≤ MaxBodies×SegmentSize);
	// beyond it a request waits briefly, then gets 429. Default 16.
	MaxBodies int
	// ThumbSide is the thumbnail's longer side in pixels. Default DefaultThumbSide.
	ThumbSide int
	// ThumbJobs bounds thumbnails made in the background at once; a photo that finds them all busy
	// gets its thumbnail when it is first asked for. Default 1; negative makes thumbnails only when
	// asked for.
	ThumbJobs int
}

const (
	defaultSegmentSize = 8 << 20
	defaultMaxBodies   = 16
	bodyWait           = 5 * time.Second
	thumbTimeout       = 2 * time.Minute
	// smallBody is the largest request given an exact-size buffer instead of a pooled one.
	smallBody = 1 << 20
)

// NewPhotoStore returns a PhotoStore over objects.
func NewPhotoStore(photos *inspection.Photos, inspections *inspection.Inspections, objects Objects, log *slog.Logger, cfg PhotoConfig) *PhotoStore {
	if cfg.SegmentSize <= 0 {
		cfg.SegmentSize = defaultSegmentSize
	}
	if cfg.MaxBodies <= 0 {
		cfg.MaxBodies = defaultMaxBodies
	}
	if cfg.ThumbSide <= 0 {
		cfg.ThumbSide = DefaultThumbSide
	}
	if cfg.ThumbJobs == 0 {
		cfg.ThumbJobs = 1
	}
	if log == nil {
		log = slog.Default()
	}
	s := &PhotoStore{Photos: photos, Inspections: inspections, Objects: objects, Log: log, cfg: cfg,
		bodies: make(chan struct{}, cfg.MaxBodies), thumbs: make(chan struct{}, max(cfg.ThumbJobs, 0)),
		making: map[string]*thumbCall{}}
	s.pool.New = func() any { b := make([]byte, 0, cfg.SegmentSize); return &b }
	return s
}

// Keys are made from ids the server made (UUIDs), never from client input.
func photoKey(id, ct string) string { return "photos/" + id + "." + photoExt(ct) }
func thumbKey(id string) string     { return "thumbs/" + id + ".jpg" }
func segmentKey(uploadID string, offset int64) string {
	return fmt.Sprintf("uploads/%s/%012d-%x.part", uploadID, offset, domain.RandomToken(4))
}

// Create starts an upload of a photo for an inspection the caller may see (ENOTFOUND otherwise, so
// a district's inspections do not leak to another district).
func (s *PhotoStore) Create(ctx context.Context, p domain.Principal, inspectionID string, nu inspection.NewUpload) (*inspection.Upload, bool, error) {
	in, err := s.Inspections.Get(ctx, p, inspectionID)
	if err != nil {
		return nil, false, err
	}
	return s.Photos.CreateUpload(ctx, p, in, nu)
}

// Status returns an upload as it stands, for the offset a tablet resumes from.
func (s *PhotoStore) Status(ctx context.Context, p domain.Principal, id string) (*inspection.Upload, error) {
	u, err := s.Photos.GetUpload(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return u, s.finish(ctx, u)
}

// finish records the photo of a complete upload if a failure came between closing the upload and
// recording its photo.
func (s *PhotoStore) finish(ctx context.Context, u *inspection.Upload) error {
	if u.State != inspection.UploadComplete || u.Photo == nil {
		return nil
	}
	if _, err := s.Photos.Photo(ctx, u.ID); !domain.IsCode(err, domain.ENOTFOUND) {
		return err
	}
	_, err := s.Photos.RecordPhoto(ctx, u.Photo)
	return err
}

// Cancel abandons an open upload and removes its bytes. Cancelling a cancelled upload succeeds.
func (s *PhotoStore) Cancel(ctx context.Context, p domain.Principal, id string) (*inspection.Upload, error) {
	u, err := s.Photos.GetUpload(ctx, p, id)
	if err != nil {
		return nil, err
	}
	switch u.State {
	case inspection.UploadCancelled:
		return u, nil
	case inspection.UploadOpen:
	default:
		return nil, domain.Errorf(domain.EPRECONDITION, "the upload is %s and cannot be cancelled", u.State)
	}
	segs := u.Segments
	u.State, u.Reason, u.Segments, u.HashState = inspection.UploadCancelled, "cancelled by "+p.Username, []inspection.Segment{}, nil
	if err := s.Photos.SaveUpload(ctx, u); err != nil {
		if domain.IsCode(err, domain.ECONFLICT) {
			return nil, domain.Errorf(domain.ECONFLICT, "the upload moved on meanwhile; ask for its state and try again")
		}
		return nil, err
	}
	s.deleteAll(ctx, segs)
	return u, nil
}

// Open returns the bytes of a photo the caller may see.
func (s *PhotoStore) Open(ctx context.Context, p domain.Principal, id string) (io.ReadCloser, *inspection.Photo, error) {
	ph, err := s.Photos.Get(ctx, p, id)
	if err != nil {
		return nil, nil, err
	}
	rc, _, err := s.Objects.Get(ctx, ph.Key)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return nil, nil, domain.Internal("media: photo", fmt.Errorf("photo %s: its bytes are missing from the object store (%s)", ph.ID, ph.Key))
	}
	return rc, ph, err
}

// Thumbnail returns the thumbnail of a photo the caller may see, making it now if it was not made
// after the upload.
func (s *PhotoStore) Thumbnail(ctx context.Context, p domain.Principal, id string) (io.ReadCloser, int64, error) {
	ph, err := s.Photos.Get(ctx, p, id)
	if err != nil {
		return nil, 0, err
	}
	if ph.ThumbKey == "" {
		return nil, 0, domain.Errorf(domain.ENOTFOUND, "%s photos have no thumbnail: the server cannot decode them; fetch the photo itself", ph.ContentType)
	}
	rc, info, err := s.Objects.Get(ctx, ph.ThumbKey)
	if err == nil {
		return rc, info.Size, nil
	}
	if !domain.IsCode(err, domain.ENOTFOUND) {
		return nil, 0, err
	}
	data, err := s.thumbnail(ctx, ph, nil)
	if err != nil {
		if domain.IsCode(err, domain.EUNSUPPORTED) {
			return nil, 0, domain.Errorf(domain.ENOTFOUND, "no thumbnail can be made: the photo does not decode")
		}
		return nil, 0, err
	}
	return io.NopCloser(bytes.NewReader(data)), int64(len(data)), nil
}

// VerifyPhoto implements domain.Evidence: the photo's object must exist with its size and SHA-256.
// It reads the whole object back, as the only proof that the bytes did not change.
func (s *PhotoStore) VerifyPhoto(ctx context.Context, ph *inspection.Photo) error {
	info, err := s.Objects.Stat(ctx, ph.Key)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return domain.Errorf(domain.EPRECONDITION, "photo %s is missing from the object store: nothing can be concluded on it", ph.ID)
	} else if err != nil {
		return err
	}
	if info.Size != ph.Size {
		return domain.Errorf(domain.EPRECONDITION, "photo %s in the object store has %d bytes, not the %d uploaded", ph.ID, info.Size, ph.Size)
	}
	rc, _, err := s.Objects.Get(ctx, ph.Key)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return err
	}
	if hex.EncodeToString(h.Sum(nil)) != ph.SHA256 {
		return domain.Errorf(domain.EPRECONDITION, "photo %s in the object store fails its SHA-256 check: its bytes are not those uploaded", ph.ID)
	}
	return nil
}

// incompleteUploads is implemented by stores that can leave parts of an unfinished multipart
// upload behind (S3).
type incompleteUploads interface {
	AbortIncompleteUploads(ctx context.Context, prefix string, before time.Time) (int, error)
}

// Cleanup ends open uploads idle past their expiry at now: their segments and any half-assembled
// object are deleted and the upload is marked expired, so an abandoned upload leaves nothing
// visible. On S3 it also aborts multipart uploads of photos and segments left by a process that
// died half-way. It is safe to run from several processes; cmd/vetfield's sweep calls it.
func (s *PhotoStore) Cleanup(ctx context.Context, now time.Time) (int, error) {
	if iu, ok := s.Objects.(incompleteUploads); ok {
		for _, prefix := range []string{"photos/", "uploads/"} {
			if _, err := iu.AbortIncompleteUploads(ctx, prefix, now.Add(-s.Photos.TTL())); err != nil {
				return 0, err
			}
		}
	}
	const batch = 100
	n := 0
	for {
		ups, err := s.Photos.Expired(ctx, now, batch)
		if err != nil {
			return n, err
		}
		for _, u := range ups {
			segs := u.Segments
			u.State, u.Reason, u.Segments, u.HashState = inspection.UploadExpired, "abandoned: no bytes came for "+s.Photos.TTL().String(), []inspection.Segment{}, nil
			if err := s.Photos.SaveUpload(ctx, u); domain.IsCode(err, domain.ECONFLICT) {
				continue // bytes are arriving right now: not abandoned
			} else if err != nil {
				return n, err
			}
			s.deleteAll(ctx, segs)
			if u.ContentType != "" { // an assembly may have stopped half-way
				s.delete(ctx, photoKey(u.ID, u.ContentType))
			}
			n++
		}
		if len(ups) < batch {
			return n, nil
		}
	}
}

// Wait blocks until the thumbnails being made in the background are done, for a clean shutdown and
// for benchmarks that count them.
func (s *PhotoStore) Wait() { s.pending.Wait() }

func (s *PhotoStore) deleteAll(ctx context.Context, segs []inspection.Segment) {
	for _, sg := range segs {
		s.delete(ctx, sg.Key)
	}
}

// delete removes an object best effort: a failure leaves an orphan, logged, never a visible photo.
func (s *PhotoStore) delete(ctx context.Context, key string) {
	if err := s.Objects.Delete(context.WithoutCancel(ctx), key); err != nil {
		s.Log.WarnContext(ctx, "media: could not delete an object", "key", key, "err", err)
	}
}

// thumbCall is one thumbnail being made, which later askers wait for.
type thumbCall struct {
	done chan struct{}
	data []byte
	err  error
}

// thumbnail makes and stores a photo's thumbnail from data (the photo's bytes, or nil to read them
// from the store). Concurrent calls for one photo make it once.
func (s *PhotoStore) thumbnail(ctx context.Context, ph *inspection.Photo, data []byte) ([]byte, error) {
	s.mu.Lock()
	if c, ok := s.making[ph.ID]; ok {
		s.mu.Unlock()
		select {
		case <-c.done:
			return c.data, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c := &thumbCall{done: make(chan struct{})}
	s.making[ph.ID] = c
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.making, ph.ID)
		s.mu.Unlock()
		close(c.done)
	}()

	var r io.Reader = bytes.NewReader(data)
	if data == nil {
		rc, _, err := s.Objects.Get(ctx, ph.Key)
		if err != nil {
			c.err = err
			return nil, err
		}
		defer rc.Close()
		r = rc
	}
	orientation := 0
	if ph.Exif != nil {
		orientation = ph.Exif.Orientation
	}
	c.data, c.err = makeThumbnail(r, ph.ContentType, orientation, s.cfg.ThumbSide)
	if c.err == nil {
		_, c.err = s.Objects.Put(ctx, ph.ThumbKey, bytes.NewReader(c.data), int64(len(c.data)), "image/jpeg")
	}
	return c.data, c.err
}

// thumbnailLater makes a thumbnail in the background if a slot is free, then calls release (which
// gives data's buffer back). With no free slot the thumbnail is made when first asked for. The work
// runs at the lowest CPU priority: decoding a 12-megapixel JPEG costs about a quarter of a second of
// CPU, which must never slow down the uploads themselves.
func (s *PhotoStore) thumbnailLater(ph *inspection.Photo, data []byte, release func()) {
	if ph.ThumbKey == "" {
		release()
		return
	}
	select {
	case s.thumbs <- struct{}{}:
	default:
		release()
		return
	}
	s.pending.Add(1)
	go func() {
		defer func() {
			if r := recover(); r != nil { // a decoder bug must not take the server down
				s.Log.Error("media: thumbnail panicked", "photo", ph.ID, "panic", fmt.Sprint(r))
			}
		}()
		lowerPriority()
		defer s.pending.Done()
		defer func() { <-s.thumbs }()
		defer release()
		ctx, cancel := context.WithTimeout(context.Background(), thumbTimeout)
		defer cancel()
		if _, err := s.thumbnail(ctx, ph, data); err != nil {
			s.Log.Warn("media: thumbnail not made; it will be tried when asked for", "photo", ph.ID, "err", err)
		}
	}()
}
