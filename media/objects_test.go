package media_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/media"
	"github.com/vetfield/vetfield/media/miniotest"
)

// The contract: every implementation of media.Objects passes testObjects.

func TestDisk(t *testing.T) {
	testObjects(t, func(t *testing.T) media.Objects {
		d, err := media.NewDisk(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

func TestS3(t *testing.T) {
	miniotest.Config(t) // skip, or fail under CI, once here rather than in every subtest
	testObjects(t, func(t *testing.T) media.Objects {
		s, err := media.NewS3(t.Context(), miniotest.Config(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// testObjects runs the contract against fresh stores made by open, one per subtest.
func testObjects(t *testing.T, open func(t *testing.T) media.Objects) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		o, ctx := open(t), t.Context()
		put, err := o.Put(ctx, "photos/a1/x.jpg", strings.NewReader("hello"), 5, "image/jpeg")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := put.Key, "photos/a1/x.jpg"; got != want {
			t.Errorf("Put key = %q, want %q", got, want)
		}
		if got, want := put.Size, int64(5); got != want {
			t.Errorf("Put size = %d, want %d", got, want)
		}
		if got, want := put.ContentType, "image/jpeg"; got != want {
			t.Errorf("Put content type = %q, want %q", got, want)
		}
		if put.ModTime.IsZero() || time.Since(put.ModTime) > time.Minute || time.Until(put.ModTime) > time.Minute {
			t.Errorf("Put mod time = %v, want about now", put.ModTime)
		}
		data, got := get(t, o, "photos/a1/x.jpg")
		if string(data) != "hello" {
			t.Errorf("Get = %q, want %q", data, "hello")
		}
		sameInfo(t, "Get", got, put)
		st, err := o.Stat(ctx, "photos/a1/x.jpg")
		if err != nil {
			t.Fatal(err)
		}
		sameInfo(t, "Stat", st, put)
	})

	t.Run("DefaultContentType", func(t *testing.T) {
		t.Parallel()
		o, ctx := open(t), t.Context()
		if _, err := o.Put(ctx, "docs/a.bin", strings.NewReader("x"), 1, ""); err != nil {
			t.Fatal(err)
		}
		st, err := o.Stat(ctx, "docs/a.bin")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := st.ContentType, "application/octet-stream"; got != want {
			t.Errorf("content type = %q, want %q", got, want)
		}
	})

	t.Run("ContentTypeWithParameters", func(t *testing.T) {
		t.Parallel()
		o, ctx := open(t), t.Context()
		const ct = "text/plain; charset=utf-8"
		if _, err := o.Put(ctx, "docs/a.txt", strings.NewReader("сәлем"), -1, ct); err != nil {
			t.Fatal(err)
		}
		if _, got := get(t, o, "docs/a.txt"); got.ContentType != ct {
			t.Errorf("content type = %q, want %q", got.ContentType, ct)
		}
	})

	t.Run("Overwrite", func(t *testing.T) {
		t.Parallel()
		o, ctx := open(t), t.Context()
		if _, err := o.Put(ctx, "k.png", strings.NewReader("first version"), 13, "image/png"); err != nil {
			t.Fatal(err)
		}
		if _, err := o.Put(ctx, "k.png", strings.NewReader("second"), 6, "text/plain"); err != nil {
			t.Fatal(err)
		}
		data, info := get(t, o, "k.png")
		if string(data) != "second" || info.Size != 6 || info.ContentType != "text/plain" {
			t.Errorf("after overwrite: %q, %+v; want %q, size 6, text/plain", data, info, "second")
		}
	})

	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		o, ctx := open(t), t.Context()
		if _, err := o.Put(ctx, "a/b/c.jpg", strings.NewReader("x"), 1, "image/jpeg"); err != nil {
			t.Fatal(err)
		}
		if err := o.Delete(ctx, "a/b/c.jpg"); err != nil {
			t.Fatal(err)
		}
		if _, err := o.Stat(ctx, "a/b/c.jpg"); !domain.IsCode(err, domain.ENOTFOUND) {
			t.Errorf("Stat after Delete: %v, want %s", err, domain.ENOTFOUND)
		}
		if _, _, err := o.Get(ctx, "a/b/c.jpg"); !domain.IsCode(err, domain.ENOTFOUND) {
			t.Errorf("Get after Delete: %v, want %s", err, domain.ENOTFOUND)
		}
		if err := o.Delete(ctx, "a/b/c.jpg"); err != nil {
			t.Errorf("second Delete: %v, want nil", err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		o, ctx := open(t), t.Context()
		if _, err := o.Put(ctx, "dir/x.jpg", strings.NewReader("x"), 1, "image/jpeg"); err != nil {
			t.Fatal(err)
		}
		// "dir" is a prefix of an object but not an object.
		for _, key := range []string{"never.jpg", "dir", "dir/x.jpg/y", "other/x.jpg"} {
			if _, err := o.Stat(ctx, key); !domain.IsCode(err, domain.ENOTFOUND) {
				t.Errorf("Stat(%q): %v, want %s", key, err, domain.ENOTFOUND)
			}
			if _, _, err := o.Get(ctx, key); !domain.IsCode(err, domain.ENOTFOUND) {
				t.Errorf("Get(%q): %v, want %s", key, err, domain.ENOTFOUND)
			}
			if err := o.Delete(ctx, key); err != nil {
				t.Errorf("Delete(%q): %v, want nil", key, err)
			}
		}
		if _, err := o.Stat(ctx, "dir/x.jpg"); err != nil {
			t.Errorf("Stat after deleting its prefix: %v", err)
		}
	})

	t.Run("ErrInvalidKey", func(t *testing.T) {
		t.Parallel()
		o, ctx := open(t), t.Context()
		for _, key := range badKeys {
			if _, err := o.Put(ctx, key, strings.NewReader("x"), 1, "text/plain"); !domain.IsCode(err, domain.EINVALID) {
				t.Errorf("Put(%q): %v, want %s", key, err, domain.EINVALID)
			}
			if _, _, err := o.Get(ctx, key); !domain.IsCode(err, domain.EINVALID) {
				t.Errorf("Get(%q): %v, want %s", key, err, domain.EINVALID)
			}
			if _, err := o.Stat(ctx, key); !domain.IsCode(err, domain.EINVALID) {
				t.Errorf("Stat(%q): %v, want %s", key, err, domain.EINVALID)
			}
			if err := o.Delete(ctx, key); !domain.IsCode(err, domain.EINVALID) {
				t.Errorf("Delete(%q): %v, want %s", key, err, domain.EINVALID)
			}
		}
	})

	t.Run("ErrInvalidContentType", func(t *testing.T) {
		t.Parallel()
		o, ctx := open(t), t.Context()
		for _, ct := range []string{"image/jpeg\nX-Evil: 1", "not a type", strings.Repeat("a", 300) + "/b"} {
			if _, err := o.Put(ctx, "x.jpg", strings.NewReader("x"), 1, ct); !domain.IsCode(err, domain.EINVALID) {
				t.Errorf("Put with content type %q: %v, want %s", ct, err, domain.EINVALID)
			}
		}
	})

	t.Run("UnknownSize", func(t *testing.T) {
		t.Parallel()
		o := open(t)
		putGet(t, o, "u/small.bin", random(t, 100<<10), -1)
	})

	t.Run("UnknownSizeMultipart", func(t *testing.T) {
		t.Parallel()
		o := open(t)
		// Over 16 MiB: S3 streams it as a multipart upload.
		putGet(t, o, "u/large.bin", random(t, 17<<20+123), -1)
	})

	t.Run("Large5MiB", func(t *testing.T) {
		t.Parallel()
		o := open(t)
		data := random(t, 5<<20)
		putGet(t, o, "big/5mib.bin", data, int64(len(data)))
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		o := open(t)
		putGet(t, o, "empty.txt", nil, 0)
		putGet(t, o, "empty2.txt", nil, -1)
	})

	t.Run("SizeLimitsBody", func(t *testing.T) {
		t.Parallel()
		o := open(t)
		// Bytes past the declared size are not stored; a non-seekable reader shows it too.
		for _, r := range []io.Reader{strings.NewReader("abcdef"), io.MultiReader(strings.NewReader("abcdef"))} {
			info, err := o.Put(t.Context(), "s.txt", r, 3, "text/plain")
			if err != nil {
				t.Fatal(err)
			}
			if data, _ := get(t, o, "s.txt"); string(data) != "abc" || info.Size != 3 {
				t.Errorf("stored %q (size %d), want %q", data, info.Size, "abc")
			}
		}
	})

	t.Run("ErrShortBody", func(t *testing.T) {
		t.Parallel()
		o, ctx := open(t), t.Context()
		for name, r := range map[string]io.Reader{
			"seekable": strings.NewReader("12345"),
			"stream":   io.MultiReader(strings.NewReader("12345")),
		} {
			start := time.Now()
			if _, err := o.Put(ctx, "short.txt", r, 10, "text/plain"); !domain.IsCode(err, domain.EINVALID) {
				t.Errorf("%s: Put with a short body: %v, want %s", name, err, domain.EINVALID)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("%s: Put with a short body took %v", name, d)
			}
			if _, err := o.Stat(ctx, "short.txt"); !domain.IsCode(err, domain.ENOTFOUND) {
				t.Errorf("%s: Stat after a short Put: %v, want %s", name, err, domain.ENOTFOUND)
			}
		}
	})

	t.Run("FailedPutKeepsOldObject", func(t *testing.T) {
		t.Parallel()
		o, ctx := open(t), t.Context()
		if _, err := o.Put(ctx, "keep.txt", strings.NewReader("old"), 3, "text/plain"); err != nil {
			t.Fatal(err)
		}
		broken := io.MultiReader(bytes.NewReader(random(t, 64<<10)), errReader{errors.New("connection reset by tablet")})
		if _, err := o.Put(ctx, "keep.txt", broken, -1, "text/plain"); err == nil {
			t.Fatal("Put with a failing reader succeeded")
		}
		if data, info := get(t, o, "keep.txt"); string(data) != "old" || info.Size != 3 {
			t.Errorf("after a failed overwrite: %q (size %d), want %q", data, info.Size, "old")
		}
	})

	t.Run("ErrCancelled", func(t *testing.T) {
		t.Parallel()
		o := open(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := o.Put(ctx, "c.txt", strings.NewReader("x"), 1, "text/plain"); !errors.Is(err, context.Canceled) {
			t.Errorf("Put with a cancelled context: %v, want context.Canceled in the chain", err)
		}
		if _, err := o.Stat(t.Context(), "c.txt"); !domain.IsCode(err, domain.ENOTFOUND) {
			t.Errorf("Stat after a cancelled Put: %v, want %s", err, domain.ENOTFOUND)
		}
	})

	t.Run("ConcurrentOverwrite", func(t *testing.T) {
		t.Parallel()
		o, ctx := open(t), t.Context()
		versions := make([][]byte, 6)
		for i := range versions {
			versions[i] = bytes.Repeat([]byte{byte('a' + i)}, 256<<10)
		}
		var wg sync.WaitGroup
		for _, v := range versions {
			wg.Go(func() {
				if _, err := o.Put(ctx, "race.bin", bytes.NewReader(v), int64(len(v)), "application/octet-stream"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		data, _ := get(t, o, "race.bin")
		if len(data) != 256<<10 || !bytes.Equal(data, bytes.Repeat(data[:1], len(data))) {
			t.Errorf("after concurrent overwrites the object is a mix or truncated (%d bytes)", len(data))
		}
	})

	t.Run("Ping", func(t *testing.T) {
		t.Parallel()
		if err := open(t).Ping(t.Context()); err != nil {
			t.Error(err)
		}
	})
}

var badKeys = []string{
	"", "/abs.jpg", "a/../b.jpg", "..", "../x", "a/..", "x..y", ".hidden", "a/.put-123", "a//b",
	"a/", "A.jpg", "photos/IMG.JPG", "a b", "a\\b", "a\x00b", "фото.jpg", "a/./b", "-x", "a/_b",
	"a?b", "a%2fb", strings.Repeat("a", media.MaxKeyLen+1),
}

func TestValidateKey(t *testing.T) {
	for _, key := range []string{"a", "photos/a1/x.jpg", "2026/01/02/q_r-s.t.png", "0", strings.Repeat("a", media.MaxKeyLen)} {
		if err := media.ValidateKey(key); err != nil {
			t.Errorf("ValidateKey(%q) = %v, want nil", key, err)
		}
	}
	for _, key := range badKeys {
		err := media.ValidateKey(key)
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.EINVALID {
			t.Errorf("ValidateKey(%q) = %v, want a *domain.Error with code %s", key, err, domain.EINVALID)
		}
	}
}

// get reads a whole object, failing the test on any error.
func get(t *testing.T, o media.Objects, key string) ([]byte, media.ObjectInfo) {
	t.Helper()
	rc, info, err := o.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): read: %v", key, err)
	}
	if int64(len(data)) != info.Size {
		t.Errorf("Get(%q): read %d bytes, info says %d", key, len(data), info.Size)
	}
	return data, info
}

// putGet stores data (through a reader that cannot seek when size is -1, as a request body would
// be) and checks that it comes back unchanged.
func putGet(t *testing.T, o media.Objects, key string, data []byte, size int64) {
	t.Helper()
	var r io.Reader = bytes.NewReader(data)
	if size < 0 {
		r = io.MultiReader(r)
	}
	put, err := o.Put(t.Context(), key, r, size, "application/x-test")
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	if put.Size != int64(len(data)) {
		t.Errorf("Put(%q) size = %d, want %d", key, put.Size, len(data))
	}
	got, info := get(t, o, key)
	if !bytes.Equal(got, data) {
		t.Errorf("Get(%q): %d bytes differ from the %d put", key, len(got), len(data))
	}
	sameInfo(t, "Get", info, put)
}

func sameInfo(t *testing.T, what string, got, want media.ObjectInfo) {
	t.Helper()
	// Put reports when it completed; S3 keeps Last-Modified to the second and may stamp the start.
	if got.Key != want.Key || got.Size != want.Size || got.ContentType != want.ContentType ||
		got.ModTime.Sub(want.ModTime).Abs() > 2*time.Second {
		t.Errorf("%s info = %+v, want %+v (as Put reported)", what, got, want)
	}
}

func random(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// Compile-time proof that both implementations satisfy the port.
var (
	_ media.Objects = (*media.Disk)(nil)
	_ media.Objects = (*media.S3)(nil)
)

func Example() {
	ctx := context.Background()
	store, err := media.NewDisk("./data/media") // or media.NewS3(ctx, media.S3Config{...})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = store.Put(ctx, "photos/2026/kz-0001.jpg", strings.NewReader("…jpeg bytes…"), -1, "image/jpeg")
	fmt.Println(err)
}
