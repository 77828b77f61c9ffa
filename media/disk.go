package media

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/vetfield/vetfield/domain"
)

// Disk keeps objects as files under one directory, so that `go run ./cmd/vetfield` stores photos
// with no object server at all (by default under ./data/media).
//
// Layout: the object "photos/a1/x.jpg" is the file <dir>/photos/a1/x.jpg. Its first line is a short
// header, "vetfield-media/1 <content type>\n", followed by the object's bytes. The content type lives
// inside the file rather than in a sidecar so that one rename publishes bytes and type together: a
// crash can never pair new bytes with an old type. Copying objects out therefore goes through Get
// (or by stripping the first line), not a plain cp.
//
// A Put writes a temporary file named ".put-*" in the object's directory, fsyncs it, renames it over
// the object and fsyncs the directory, so a crash leaves either the old object or the new one. Keys
// never have a segment starting with '.', so temporary files are never mistaken for objects; any left
// behind by a crash can be deleted while vetfield is stopped.
//
// Unlike S3, a directory cannot also be a file: "a/b" and "a/b/c" cannot both exist, and the second
// Put is refused with ECONFLICT. Key layouts where every object name ends in an extension avoid this.
type Disk struct {
	root string
}

// diskMagic starts every object file; its version lets a later layout coexist with this one.
const diskMagic = "vetfield-media/1 "

// NewDisk opens (creating if needed) the directory dir as an object store.
func NewDisk(dir string) (*Disk, error) {
	if dir == "" {
		return nil, domain.Errorf(domain.EINVALID, "media: the media directory is not set")
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, domain.Internal("media: disk: resolve directory", err)
	}
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, domain.Internal("media: disk: create directory", err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, domain.Internal("media: disk: stat directory", err)
	}
	if !fi.IsDir() {
		return nil, domain.Errorf(domain.EINVALID, "media: %s is not a directory", root)
	}
	return &Disk{root: root}, nil
}

func (d *Disk) path(key string) string { return filepath.Join(d.root, filepath.FromSlash(key)) }

// Put implements Objects.
func (d *Disk) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (ObjectInfo, error) {
	if err := ValidateKey(key); err != nil {
		return ObjectInfo{}, err
	}
	ct, err := normalizeContentType(contentType)
	if err != nil {
		return ObjectInfo{}, err
	}
	if err := checkSize(size); err != nil {
		return ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return ObjectInfo{}, contextError(err)
	}

	body := r
	if size >= 0 {
		if body, err = exactly(r, size); err != nil {
			if errors.Is(err, errShortBody) {
				return ObjectInfo{}, shortBody(err)
			}
			return ObjectInfo{}, domain.Internal("media: disk: put: measure body", err)
		}
	}

	p := d.path(key)
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return ObjectInfo{}, d.putError(err)
	}
	f, err := os.CreateTemp(dir, ".put-*")
	if err != nil {
		return ObjectInfo{}, d.putError(err)
	}
	tmp := f.Name()
	published := false
	defer func() {
		if !published {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()

	hdr := diskMagic + ct + "\n"
	if _, err := io.WriteString(f, hdr); err != nil {
		return ObjectInfo{}, d.putError(err)
	}
	n, err := io.Copy(f, ctxReader{ctx: ctx, r: body})
	if err != nil {
		switch {
		case errors.Is(err, errShortBody):
			return ObjectInfo{}, shortBody(err)
		case ctx.Err() != nil:
			return ObjectInfo{}, contextError(ctx.Err())
		}
		return ObjectInfo{}, d.putError(err)
	}
	if err := f.Sync(); err != nil {
		return ObjectInfo{}, d.putError(err)
	}
	// The temporary file's modification time is the object's: rename does not change it.
	fi, err := f.Stat()
	if err != nil {
		return ObjectInfo{}, d.putError(err)
	}
	if err := f.Close(); err != nil {
		return ObjectInfo{}, d.putError(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return ObjectInfo{}, d.putError(err)
	}
	published = true
	syncDir(dir)
	return ObjectInfo{Key: key, Size: n, ContentType: ct, ModTime: fi.ModTime()}, nil
}

// putError tells a key that clashes with another object's directory (ECONFLICT) from a full or
// read-only disk (EUNAVAILABLE) and from everything else.
func (d *Disk) putError(err error) error {
	// os.Rename reports a directory in the way as EEXIST; rename(2) itself says EISDIR.
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.EEXIST) {
		return &domain.Error{Code: domain.ECONFLICT, Message: "the object key clashes with another object's path", Err: err}
	}
	return diskError("put", err)
}

// diskError maps file system errors to domain codes.
func diskError(op string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return notFound(err)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT), errors.Is(err, syscall.EROFS):
		return &domain.Error{Code: domain.EUNAVAILABLE, Message: "the media directory is full or read-only", Err: err}
	}
	return domain.Internal("media: disk: "+op, err)
}

// syncDir makes a rename in dir durable. It is best effort: the object is already visible, and some
// file systems cannot fsync a directory.
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		_ = f.Sync()
		_ = f.Close()
	}
}

// Get implements Objects. The reader also implements io.Seeker and io.ReaderAt over the object's
// bytes (the header hidden), so a handler can serve ranges with http.ServeContent.
func (d *Disk) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	f, info, err := d.open(ctx, key)
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	return diskReader{SectionReader: io.NewSectionReader(f, f.hdrLen, info.Size), f: f.File}, info, nil
}

// diskReader reads an object's bytes out of its file and closes the file.
type diskReader struct {
	*io.SectionReader
	f *os.File
}

func (r diskReader) Close() error { return r.f.Close() }

// Stat implements Objects.
func (d *Disk) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	f, info, err := d.open(ctx, key)
	if err != nil {
		return ObjectInfo{}, err
	}
	_ = f.Close()
	return info, nil
}

// objectFile is an open object file and the length of its header.
type objectFile struct {
	*os.File
	hdrLen int64
}

// open opens key's file and reads its header.
func (d *Disk) open(ctx context.Context, key string) (objectFile, ObjectInfo, error) {
	if err := ValidateKey(key); err != nil {
		return objectFile{}, ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return objectFile{}, ObjectInfo{}, contextError(err)
	}
	f, err := os.Open(d.path(key))
	if err != nil {
		return objectFile{}, ObjectInfo{}, diskError("open", err)
	}
	hdrLen, info, err := readHeader(f, key)
	if err != nil {
		_ = f.Close()
		return objectFile{}, ObjectInfo{}, err
	}
	return objectFile{File: f, hdrLen: hdrLen}, info, nil
}

func readHeader(f *os.File, key string) (int64, ObjectInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, ObjectInfo{}, diskError("stat", err)
	}
	if !fi.Mode().IsRegular() {
		// A directory holding other objects is not itself an object, as in S3.
		return 0, ObjectInfo{}, notFound(nil)
	}
	var buf [len(diskMagic) + maxContentTypeLen + 1]byte
	n, err := f.ReadAt(buf[:], 0)
	if err != nil && err != io.EOF {
		return 0, ObjectInfo{}, diskError("read header", err)
	}
	end := bytes.IndexByte(buf[:n], '\n')
	if end < len(diskMagic) || !bytes.HasPrefix(buf[:n], []byte(diskMagic)) {
		return 0, ObjectInfo{}, domain.Internal("media: disk: read header", errors.New(f.Name()+": not a vetfield media file"))
	}
	hdrLen := int64(end + 1)
	return hdrLen, ObjectInfo{
		Key:         key,
		Size:        fi.Size() - hdrLen,
		ContentType: string(buf[len(diskMagic):end]),
		ModTime:     fi.ModTime(),
	}, nil
}

// Delete implements Objects. Empty directories are left in place: removing them would race with a
// concurrent Put into the same directory, and they cost next to nothing.
func (d *Disk) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return contextError(err)
	}
	p := d.path(key)
	fi, err := os.Lstat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return diskError("delete", err)
	}
	if !fi.Mode().IsRegular() {
		return nil // a directory is not an object; there is nothing to delete
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return diskError("delete", err)
	}
	return nil
}

// Ping implements Objects by creating and removing a file, so that a full or read-only disk is
// reported before a photo upload finds out.
func (d *Disk) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return contextError(err)
	}
	f, err := os.CreateTemp(d.root, ".ping-*")
	if err != nil {
		return &domain.Error{Code: domain.EUNAVAILABLE, Message: "the media directory is not writable", Err: err}
	}
	name := f.Name()
	_ = f.Close()
	if err := os.Remove(name); err != nil {
		return &domain.Error{Code: domain.EUNAVAILABLE, Message: "the media directory is not writable", Err: err}
	}
	return nil
}
