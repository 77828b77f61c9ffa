package media_test

import (
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/vetfield/vetfield/media"
	"github.com/vetfield/vetfield/media/miniotest"
)

// A multipart upload left by a process that died half-way is aborted once it is old enough; a
// fresh one, maybe still running, is left alone.
func TestS3AbortIncompleteUploads(t *testing.T) {
	cfg := miniotest.Config(t)
	ctx := t.Context()
	s, err := media.NewS3(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	core := minio.Core{Client: miniotest.Client(t, cfg)}
	for _, key := range []string{"photos/a.jpg", "other/b.jpg"} {
		if _, err := core.NewMultipartUpload(ctx, cfg.Bucket, key, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(prefix string) int {
		n := 0
		for up := range core.ListIncompleteUploads(ctx, cfg.Bucket, "", true) {
			if up.Err != nil {
				t.Fatal(up.Err)
			}
			if strings.HasPrefix(up.Key, prefix) {
				n++
			}
		}
		return n
	}
	if n, err := s.AbortIncompleteUploads(ctx, "photos/", time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("a fresh upload was aborted: %d, %v", n, err)
	}
	n, err := s.AbortIncompleteUploads(ctx, "photos/", time.Now().Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("aborted %d (%v), want 1", n, err)
	}
	if got := count("photos/"); got != 0 {
		t.Errorf("%d uploads left under photos/", got)
	}
	if got := count("other/"); got != 1 {
		t.Errorf("an upload outside the prefix was touched: %d left, want 1", got)
	}
}
