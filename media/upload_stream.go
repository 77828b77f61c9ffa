package media

import (
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/vetfield/vetfield/domain/inspection"
)

// A photo that comes whole in one request (the usual case on a working link) is written to its
// final key while it arrives, so storing it overlaps receiving it. What makes that safe is the last
// byte: the object store cannot finish an object of the declared size before it has every byte, and
// the last one is held back until the whole photo has been hashed and its header parsed. A photo
// that fails either check, or a request that breaks off, aborts the write, and the store keeps
// nothing (S3 discards an incomplete PUT; Disk removes its temporary file). The bytes also stay in
// the request's buffer, so a broken-off request still saves what came, and a failed write is
// retried from memory.

// errAborted ends a stream whose photo is not to be stored.
var errAborted = errors.New("media: photo stream aborted")

// stream is the write to the final key in progress.
type stream struct {
	pw   *io.PipeWriter
	done chan error
	sent int // bytes of buf written so far
}

// readStreaming is read for a whole photo in one request; see above.
func (w *chunkWriter) readStreaming(ctx context.Context, body io.Reader) error {
	size := int(w.u.Size)
	for len(w.buf) < size {
		n, err := body.Read(w.buf[len(w.buf):size])
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
			if w.ct != "" {
				w.feed(ctx, len(w.buf) == size)
			}
		}
		if err == io.EOF && len(w.buf) < size {
			w.dropStream()
			return io.ErrUnexpectedEOF
		}
		if err != nil && err != io.EOF {
			w.dropStream()
			return err
		}
	}
	return nil
}

// feed starts the write once the type is known and passes it the bytes received, all but the
// last. A write that failed is dropped; the photo is then stored from memory when complete.
func (w *chunkWriter) feed(ctx context.Context, all bool) {
	if w.st == nil && !w.noStream {
		pr, pw := io.Pipe()
		st := &stream{pw: pw, done: make(chan error, 1)}
		w.st = st
		objects, key, ct, size := w.s.Objects, photoKey(w.u.ID, w.ct), w.ct, w.u.Size
		go func() {
			_, err := objects.Put(ctx, key, pr, size, ct)
			pr.CloseWithError(cmpOr(err, io.ErrClosedPipe))
			st.done <- err
		}()
	}
	if w.st == nil {
		return
	}
	upto := len(w.buf)
	if all {
		upto-- // held back until the photo is proven
	}
	if upto > w.st.sent {
		if _, err := w.st.pw.Write(w.buf[w.st.sent:upto]); err != nil {
			w.dropStream()
			w.noStream = true
			return
		}
		w.st.sent = upto
	}
}

// dropStream aborts the write in progress, if any, and waits for it to end.
func (w *chunkWriter) dropStream() {
	if w.st == nil {
		return
	}
	w.st.pw.CloseWithError(errAborted)
	<-w.st.done
	w.st = nil
}

// finishStream sends the held-back byte and reports whether the write stored the photo.
func (w *chunkWriter) finishStream() bool {
	if w.st == nil {
		return false
	}
	st := w.st
	w.st = nil
	if _, err := st.pw.Write(w.buf[st.sent:]); err != nil {
		st.pw.CloseWithError(errAborted)
		<-st.done
		return false
	}
	st.pw.Close()
	return <-st.done == nil
}

// storeWhole checks a photo that arrived whole in this request and stores it: by releasing the
// write that streamed it, or from memory if there was none or it failed.
func (w *chunkWriter) storeWhole(ctx context.Context, ph *inspection.Photo) error {
	if err := describe(ph, w.buf, true); err != nil {
		w.dropStream()
		return err
	}
	if w.finishStream() {
		return nil
	}
	_, err := w.s.Objects.Put(ctx, ph.Key, bytes.NewReader(w.buf), int64(len(w.buf)), ph.ContentType)
	return err
}

func cmpOr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}
