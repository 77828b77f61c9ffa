package media

import (
	"context"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// AbortIncompleteUploads aborts the multipart uploads under prefix that were started before
// `before` and never completed. minio-go sends a photo over 16 MiB as a multipart upload and aborts
// it when the upload fails, but a process that dies half-way leaves its parts in the bucket, unseen
// and counted against the disk, until someone aborts them. PhotoStore.Cleanup calls this.
//
// The bucket's uploads are listed whole and filtered here: MinIO lists multipart uploads only for an
// exact object name, not for a prefix.
func (s *S3) AbortIncompleteUploads(ctx context.Context, prefix string, before time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.transferTimeout)
	defer cancel()
	core := minio.Core{Client: s.client}
	n := 0
	for up := range s.client.ListIncompleteUploads(ctx, s.bucket, "", true) {
		if up.Err != nil {
			return n, s.fail("list incomplete uploads", up.Err)
		}
		if !strings.HasPrefix(up.Key, prefix) || !up.Initiated.Before(before) {
			continue
		}
		if err := core.AbortMultipartUpload(ctx, s.bucket, up.Key, up.UploadID); err != nil && minioCode(err) != "NoSuchUpload" {
			return n, s.fail("abort incomplete upload", err)
		}
		n++
	}
	return n, nil
}
