package media_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/media"
	"github.com/vetfield/vetfield/media/miniotest"
)

func TestNewS3CreatesPrivateBucket(t *testing.T) {
	cfg := miniotest.Config(t)
	ctx := t.Context()
	if _, err := media.NewS3(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	c := miniotest.Client(t, cfg)
	if ok, err := c.BucketExists(ctx, cfg.Bucket); err != nil || !ok {
		t.Fatalf("bucket %s after NewS3: exists=%v, %v", cfg.Bucket, ok, err)
	}
	if policy, err := c.GetBucketPolicy(ctx, cfg.Bucket); err != nil || policy != "" {
		t.Errorf("bucket policy after NewS3 = %q, %v; want none", policy, err)
	}
	// A second process starting against the same bucket is fine.
	if _, err := media.NewS3(ctx, cfg); err != nil {
		t.Errorf("NewS3 on an existing private bucket: %v", err)
	}
}

func TestNewS3ErrPublicBucket(t *testing.T) {
	cfg := miniotest.Config(t)
	ctx := t.Context()
	c := miniotest.Client(t, cfg)
	if err := c.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	// What `mc anonymous set download` writes.
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},` +
		`"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + cfg.Bucket + `/*"]}]}`
	if err := c.SetBucketPolicy(ctx, cfg.Bucket, policy); err != nil {
		t.Fatal(err)
	}
	_, err := media.NewS3(ctx, cfg)
	if !domain.IsCode(err, domain.EPRECONDITION) {
		t.Fatalf("NewS3 on a public bucket: %v, want %s", err, domain.EPRECONDITION)
	}
	if !strings.Contains(err.Error(), cfg.Bucket) {
		t.Errorf("error %q does not name the bucket", err)
	}
	// Refusing must not touch the operator's policy.
	if got, err := c.GetBucketPolicy(ctx, cfg.Bucket); err != nil || got == "" {
		t.Errorf("policy after refusal = %q, %v; want it left in place", got, err)
	}
}

func TestNewS3ErrBadCredentials(t *testing.T) {
	cfg := miniotest.Config(t)
	cfg.SecretKey += "-wrong"
	if _, err := media.NewS3(t.Context(), cfg); !domain.IsCode(err, domain.EINTERNAL) {
		t.Errorf("NewS3 with a wrong secret: %v, want %s", err, domain.EINTERNAL)
	}
}

func TestNewS3ErrConfig(t *testing.T) {
	for name, cfg := range map[string]media.S3Config{
		"no endpoint": {AccessKey: "a", SecretKey: "b", Bucket: "vetfield"},
		"scheme":      {Endpoint: "http://minio:9000", AccessKey: "a", SecretKey: "b", Bucket: "vetfield"},
		"no keys":     {Endpoint: "minio:9000", Bucket: "vetfield"},
		"bad bucket":  {Endpoint: "minio:9000", AccessKey: "a", SecretKey: "b", Bucket: "Vet_Field"},
	} {
		if _, err := media.NewS3(t.Context(), cfg); !domain.IsCode(err, domain.EINVALID) {
			t.Errorf("%s: %v, want %s", name, err, domain.EINVALID)
		}
	}
}

// BenchmarkPut5MiB measures what media.S3 adds to a bare minio-go PutObject against the same server:
// the body wrapper and the HEAD that reads back the modification time.
func BenchmarkPut5MiB(b *testing.B) {
	cfg := miniotest.Config(b)
	ctx := b.Context()
	s, err := media.NewS3(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	client := miniotest.Client(b, cfg)
	data := random(b, 5<<20)

	b.Run("media.S3", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := s.Put(ctx, "bench/media.bin", bytes.NewReader(data), int64(len(data)), "image/jpeg"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("minio-go", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			_, err := client.PutObject(ctx, cfg.Bucket, "bench/minio.bin", bytes.NewReader(data), int64(len(data)),
				minio.PutObjectOptions{ContentType: "image/jpeg"})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
