// Package miniotest connects tests to the real MinIO server that deploy/test.sh starts, so that
// every package testing against object storage finds it the same way and cleans up after itself.
//
// The server's address and keys come from VETFIELD_TEST_S3_ENDPOINT, VETFIELD_TEST_S3_ACCESS_KEY
// and VETFIELD_TEST_S3_SECRET_KEY. Without them a test is skipped, so that a plain `go test ./...`
// works on a laptop — except under CI (CI set to anything), where a skipped storage test would hide
// a gap, so it fails instead.
package miniotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/vetfield/vetfield/media"
)

// Environment variables that point tests at a MinIO server.
const (
	EnvEndpoint  = "VETFIELD_TEST_S3_ENDPOINT"
	EnvAccessKey = "VETFIELD_TEST_S3_ACCESS_KEY"
	EnvSecretKey = "VETFIELD_TEST_S3_SECRET_KEY"
)

// Config returns a configuration for the test server with a fresh bucket name of its own, so tests
// may run in parallel and never see each other's objects. The bucket is not created (media.NewS3
// does that); whatever exists under that name when the test ends is emptied and removed.
func Config(t testing.TB) media.S3Config {
	t.Helper()
	endpoint, access, secret := os.Getenv(EnvEndpoint), os.Getenv(EnvAccessKey), os.Getenv(EnvSecretKey)
	if endpoint == "" || access == "" || secret == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("MinIO is required under CI: run the README's test command")
		}
		t.Skip("no MinIO: set " + EnvEndpoint + ", " + EnvAccessKey + " and " + EnvSecretKey +
			", or run the README's test command (make test)")
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	cfg := media.S3Config{
		Endpoint:  endpoint,
		AccessKey: access,
		SecretKey: secret,
		Bucket:    "vetfield-test-" + hex.EncodeToString(b[:]),
	}
	t.Cleanup(func() { removeBucket(t, cfg) })
	return cfg
}

// Client returns a plain minio-go client for cfg, for tests that need to reach past media.S3: set a
// bucket policy, compare with minio-go itself, or look at what was stored.
func Client(t testing.TB, cfg media.S3Config) *minio.Client {
	t.Helper()
	c, err := newClient(cfg)
	if err != nil {
		t.Fatalf("miniotest: %v", err)
	}
	return c
}

func newClient(cfg media.S3Config) (*minio.Client, error) {
	return minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseSSL,
		Region: cfg.Region,
	})
}

// removeBucket deletes the bucket's objects, unfinished uploads and the bucket itself. It reports
// failures as test errors, since a leak would otherwise go unnoticed until the disk fills.
func removeBucket(t testing.TB, cfg media.S3Config) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := newClient(cfg)
	if err != nil {
		t.Errorf("miniotest: cleanup: %v", err)
		return
	}
	exists, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		t.Errorf("miniotest: cleanup: bucket %s: %v", cfg.Bucket, err)
		return
	}
	if !exists {
		return
	}
	for obj := range c.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Errorf("miniotest: cleanup: list %s: %v", cfg.Bucket, obj.Err)
			return
		}
		if err := c.RemoveObject(ctx, cfg.Bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
			t.Errorf("miniotest: cleanup: remove %s/%s: %v", cfg.Bucket, obj.Key, err)
		}
	}
	for up := range c.ListIncompleteUploads(ctx, cfg.Bucket, "", true) {
		if up.Err != nil {
			t.Errorf("miniotest: cleanup: list uploads %s: %v", cfg.Bucket, up.Err)
			return
		}
		if err := c.RemoveIncompleteUpload(ctx, cfg.Bucket, up.Key); err != nil {
			t.Errorf("miniotest: cleanup: abort upload %s/%s: %v", cfg.Bucket, up.Key, err)
		}
	}
	if err := c.RemoveBucket(ctx, cfg.Bucket); err != nil {
		t.Errorf("miniotest: cleanup: remove bucket %s: %v", cfg.Bucket, err)
	}
}
