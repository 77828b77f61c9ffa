// Package media stores vetfield's blobs — photos of animals and premises, QR images, printable
// documents — behind one small interface, Objects, with two implementations: Disk, the embedded
// default that needs nothing but a directory, and S3, for MinIO (or any S3 service) when several
// vetfield processes share one store. Both speak domain errors, so callers map failures to HTTP
// statuses without knowing which store is behind them.
package media

import (
	"context"
	"errors"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// Objects is the port the rest of vetfield uses to keep blobs. It is declared here, next to both
// implementations, because every consumer needs exactly this set and the contract test in this
// package pins its behaviour for each implementation.
//
// Keys are made by the server and must pass ValidateKey; anything else is refused with EINVALID.
// Failures carry domain codes: ENOTFOUND for a missing object, EUNAVAILABLE when the store cannot be
// reached (worth retrying), EINVALID for bad input, EINTERNAL for the rest.
type Objects interface {
	// Put stores the bytes of r under key, replacing any object there; readers see either the old
	// or the new object, never a mix. size is the exact length of r, or -1 when unknown; a reader
	// that ends before size bytes is refused with EINVALID and bytes past size are not read. An
	// empty contentType is stored as application/octet-stream.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (ObjectInfo, error)
	// Get opens the object under key. The caller must Close the reader; until then it may hold a
	// file or a connection.
	Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error)
	// Stat describes the object under key without reading it.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Delete removes the object under key. Deleting a missing object succeeds, as in S3, so that a
	// retried delete is not an error.
	Delete(ctx context.Context, key string) error
	// Ping reports whether the store can serve requests now; readiness probes call it.
	Ping(ctx context.Context) error
}

// ObjectInfo describes a stored object: what an HTTP handler needs to answer with the right
// Content-Length, Content-Type and Last-Modified without reading the bytes.
type ObjectInfo struct {
	Key         string
	Size        int64
	ContentType string
	ModTime     time.Time
}

const (
	// MaxKeyLen bounds a key so that it fits a file name on every file system we run on (255 bytes)
	// as well as an S3 key.
	MaxKeyLen = 255
	// defaultContentType is what S3 stores when no type is given; Disk does the same.
	defaultContentType = "application/octet-stream"
	// maxContentTypeLen keeps Disk's header line short and bounded.
	maxContentTypeLen = 200
)

// ValidateKey reports whether key may name an object: 1 to MaxKeyLen bytes of [a-z0-9/._-], made of
// '/'-separated segments that each start with a letter or digit, so there is no leading or trailing
// '/', no empty segment, no "." or ".." segment and no hidden file. The rule is strict on purpose:
// keys become file paths in Disk, and the same keys must work in every implementation. Callers that
// build keys may use it to check them early; every Objects method checks them anyway.
func ValidateKey(key string) error {
	if len(key) == 0 || len(key) > MaxKeyLen {
		return badKey()
	}
	if strings.Contains(key, "..") {
		return badKey()
	}
	segStart := true
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			segStart = false
		case c == '.' || c == '_' || c == '-':
			if segStart {
				return badKey()
			}
		case c == '/':
			if segStart { // leading '/' or "//"
				return badKey()
			}
			segStart = true
		default:
			return badKey()
		}
	}
	if segStart { // trailing '/'
		return badKey()
	}
	return nil
}

func badKey() error {
	return &domain.Error{Code: domain.EINVALID, Message: "invalid object key"}
}

// normalizeContentType checks a content type and supplies the default for an empty one. A type must
// parse as a media type and be short printable ASCII, so that it is safe in a header and in Disk's
// header line.
func normalizeContentType(ct string) (string, error) {
	if ct == "" {
		return defaultContentType, nil
	}
	bad := &domain.Error{Code: domain.EINVALID, Message: "invalid content type"}
	if len(ct) > maxContentTypeLen {
		return "", bad
	}
	for i := 0; i < len(ct); i++ {
		if ct[i] < 0x20 || ct[i] > 0x7e {
			return "", bad
		}
	}
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		return "", bad
	}
	return ct, nil
}

// checkSize refuses sizes below -1, which no caller can mean.
func checkSize(size int64) error {
	if size < -1 {
		return &domain.Error{Code: domain.EINVALID, Message: "invalid object size"}
	}
	return nil
}

// errShortBody marks a reader that ended before its declared size. It never leaves this package:
// Put turns it into EINVALID.
var errShortBody = errors.New("media: body shorter than its declared size")

func shortBody(err error) *domain.Error {
	return &domain.Error{Code: domain.EINVALID, Message: "the body is shorter than its declared size", Err: err}
}

// sizedReader yields at most n bytes of r and fails with errShortBody when r ends first, so that
// both implementations treat a truncated upload the same way instead of surfacing a driver error.
type sizedReader struct {
	r io.Reader
	n int64 // bytes still expected
}

func (s *sizedReader) Read(p []byte) (int, error) {
	if s.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.n {
		p = p[:s.n]
	}
	n, err := s.r.Read(p)
	s.n -= int64(n)
	if err == io.EOF && s.n > 0 {
		err = errShortBody
	}
	return n, err
}

// seekSection yields exactly size bytes of a seekable body starting where the body was when Put was
// called, and stays seekable within them: minio-go retries a request only when it can rewind the
// body, and it rewinds to offset 0.
type seekSection struct {
	rs         io.ReadSeeker
	base, size int64
	pos        int64 // relative to base
}

func (s *seekSection) Read(p []byte) (int, error) {
	if s.pos >= s.size {
		return 0, io.EOF
	}
	if int64(len(p)) > s.size-s.pos {
		p = p[:s.size-s.pos]
	}
	n, err := s.rs.Read(p)
	s.pos += int64(n)
	if err == io.EOF && s.pos < s.size {
		err = errShortBody
	}
	return n, err
}

func (s *seekSection) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += s.pos
	case io.SeekEnd:
		offset += s.size
	default:
		return 0, errors.New("media: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("media: negative position")
	}
	if _, err := s.rs.Seek(s.base+offset, io.SeekStart); err != nil {
		return 0, err
	}
	s.pos = offset
	return offset, nil
}

// exactly wraps r so that it yields exactly size bytes or fails with errShortBody. A seekable body
// is measured first, so that a short one is refused before any byte is sent (and before minio-go
// would retry it ten times).
func exactly(r io.Reader, size int64) (io.Reader, error) {
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		return &sizedReader{r: r, n: size}, nil
	}
	base, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return &sizedReader{r: r, n: size}, nil // claims to seek but cannot: read it as a stream
	}
	end, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	if _, err := rs.Seek(base, io.SeekStart); err != nil {
		return nil, err
	}
	if end-base < size {
		return nil, errShortBody
	}
	return &seekSection{rs: rs, base: base, size: size}, nil
}

// ctxReader stops a long copy when its context ends, so that a cancelled request does not keep
// writing to disk.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// contextError turns the end of a context into a domain error. It is EUNAVAILABLE because trying
// again later may succeed; the cause stays in Err, so a caller can still tell a cancelled request
// from a slow store with errors.Is(err, context.Canceled).
func contextError(err error) *domain.Error {
	if errors.Is(err, context.Canceled) {
		return &domain.Error{Code: domain.EUNAVAILABLE, Message: "the request was cancelled", Err: err}
	}
	return &domain.Error{Code: domain.EUNAVAILABLE, Message: "the object store did not answer in time", Err: err}
}

func notFound(err error) *domain.Error {
	return &domain.Error{Code: domain.ENOTFOUND, Message: "object not found", Err: err}
}

func unavailable(err error) *domain.Error {
	return &domain.Error{Code: domain.EUNAVAILABLE, Message: "the object store is unavailable", Err: err}
}
