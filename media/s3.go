package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/vetfield/vetfield/domain"
)

// S3Config says where an S3 store is and how long to wait for it. The first six fields come from
// the VETFIELD_S3_* settings.
type S3Config struct {
	// Endpoint is host:port without a scheme, e.g. "minio:9000"; UseSSL chooses https.
	Endpoint  string
	AccessKey string
	SecretKey string
	Bucket    string
	UseSSL    bool
	// Region may stay empty for MinIO.
	Region string

	// Timeout bounds each short call: Stat, Delete, Ping and the checks in NewS3. Zero means
	// DefaultTimeout.
	Timeout time.Duration
	// TransferTimeout bounds a Put, and a Get from the call until its reader is closed, since those
	// move the bytes. Zero means DefaultTransferTimeout.
	TransferTimeout time.Duration
}

// Timeouts used when S3Config leaves them zero: long enough for a loaded MinIO on a LAN, short
// enough that a request thread does not hang on a dead one.
const (
	DefaultTimeout         = 10 * time.Second
	DefaultTransferTimeout = 10 * time.Minute
)

// unknownSizePart is both the largest body of unknown size sent in one PUT and the part size of
// larger ones. minio-go would otherwise allocate a ~537 MiB buffer for every upload of unknown size.
const unknownSizePart = 16 << 20

// S3 keeps objects in one bucket of MinIO or another S3 service, so that several vetfield processes
// share one store.
//
// The bucket must stay private: photos show people, animals and farms. NewS3 therefore refuses to
// start when the bucket has a policy that grants anything to anonymous users, rather than deleting
// that policy: someone set it on purpose or by mistake, another program may rely on it, and if
// objects have already leaked an operator needs to know. Clients reach objects only through
// vetfield.
type S3 struct {
	client          *minio.Client
	bucket          string
	timeout         time.Duration
	transferTimeout time.Duration
}

// NewS3 connects to the store described by cfg, creates the bucket if it is missing and checks that
// the bucket is not public (see S3). It fails with EUNAVAILABLE when the store cannot be reached,
// EINVALID for a bad configuration and EPRECONDITION for a public bucket.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	s, err := newS3(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	exists, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return nil, s.fail("check bucket", err)
	}
	if !exists {
		err := s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: cfg.Region})
		// Another vetfield process may have created it a moment ago.
		if err != nil && minioCode(err) != "BucketAlreadyOwnedByYou" {
			return nil, s.fail("create bucket", err)
		}
	}

	policy, err := s.client.GetBucketPolicy(ctx, s.bucket)
	if err != nil {
		return nil, s.fail("read bucket policy", err)
	}
	public, err := grantsAnonymous(policy)
	if err != nil || public {
		return nil, &domain.Error{
			Code: domain.EPRECONDITION,
			Message: fmt.Sprintf("media: bucket %q has a policy that allows anonymous access; vetfield keeps "+
				"photos private and will not use it: remove the policy (mc anonymous set none ALIAS/%s) "+
				"and start again", s.bucket, s.bucket),
			Err: err,
		}
	}
	return s, nil
}

// newS3 builds the client without touching the network.
func newS3(cfg S3Config) (*S3, error) {
	switch {
	case cfg.Endpoint == "":
		return nil, domain.Errorf(domain.EINVALID, "media: the S3 endpoint is not set")
	case strings.Contains(cfg.Endpoint, "://"):
		return nil, domain.Errorf(domain.EINVALID, "media: the S3 endpoint must be host:port without a scheme (use UseSSL for https)")
	case cfg.AccessKey == "" || cfg.SecretKey == "":
		return nil, domain.Errorf(domain.EINVALID, "media: the S3 access key and secret key must be set")
	}
	if err := s3utils.CheckValidBucketNameStrict(cfg.Bucket); err != nil {
		return nil, &domain.Error{Code: domain.EINVALID, Message: fmt.Sprintf("media: %q is not a valid bucket name", cfg.Bucket), Err: err}
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseSSL,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, &domain.Error{Code: domain.EINVALID, Message: "media: the S3 configuration is invalid", Err: err}
	}
	s := &S3{client: client, bucket: cfg.Bucket, timeout: cfg.Timeout, transferTimeout: cfg.TransferTimeout}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.transferTimeout <= 0 {
		s.transferTimeout = DefaultTransferTimeout
	}
	return s, nil
}

// Put implements Objects. A body of unknown size up to 16 MiB is buffered and sent in one request;
// a larger one is streamed as a multipart upload in 16 MiB parts, which S3 publishes atomically when
// the last part is in. Put also reads the object's stored modification time back (one HEAD), so
// that its result equals what Stat reports.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (ObjectInfo, error) {
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
	ctx, cancel := context.WithTimeout(ctx, s.transferTimeout)
	defer cancel()

	opts := minio.PutObjectOptions{ContentType: ct}
	if size < 0 {
		head, err := io.ReadAll(io.LimitReader(ctxReader{ctx: ctx, r: r}, unknownSizePart+1))
		if err != nil {
			return ObjectInfo{}, s.fail("put: read body", err)
		}
		if len(head) <= unknownSizePart {
			r, size = bytes.NewReader(head), int64(len(head))
		} else {
			r = io.MultiReader(bytes.NewReader(head), r)
			opts.PartSize = unknownSizePart
		}
	}
	if size >= 0 {
		if r, err = exactly(r, size); err != nil {
			return ObjectInfo{}, s.fail("put: measure body", err)
		}
	}
	up, err := s.client.PutObject(ctx, s.bucket, key, r, size, opts)
	if err != nil {
		return ObjectInfo{}, s.fail("put", err)
	}
	// S3 answers a PUT without its Last-Modified; asking for it would cost a request per photo for
	// a time nobody reads. The time the PUT completed stands in, to the second as S3 keeps it.
	return ObjectInfo{Key: key, Size: up.Size, ContentType: ct, ModTime: time.Now().UTC().Truncate(time.Second)}, nil
}

// Get implements Objects. The transfer timeout runs until the reader is closed.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	if err := ValidateKey(key); err != nil {
		return nil, ObjectInfo{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.transferTimeout)
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		cancel()
		return nil, ObjectInfo{}, s.fail("get", err)
	}
	// minio-go sends the request lazily; Stat sends it, so a missing object fails here and not on
	// the caller's first Read.
	st, err := obj.Stat()
	if err != nil {
		_ = obj.Close()
		cancel()
		return nil, ObjectInfo{}, s.fail("get", err)
	}
	return &s3Reader{obj: obj, cancel: cancel, s: s}, objectInfo(key, st), nil
}

// s3Reader maps read errors to domain errors and ends the request's context on Close.
type s3Reader struct {
	obj    *minio.Object
	cancel context.CancelFunc
	s      *S3
}

func (r *s3Reader) Read(p []byte) (int, error) {
	n, err := r.obj.Read(p)
	if err != nil && err != io.EOF {
		err = r.s.fail("get: read", err)
	}
	return n, err
}

func (r *s3Reader) Close() error {
	err := r.obj.Close()
	r.cancel()
	return err
}

// Stat implements Objects.
func (s *S3) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := ValidateKey(key); err != nil {
		return ObjectInfo{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	st, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return ObjectInfo{}, s.fail("stat", err)
	}
	return objectInfo(key, st), nil
}

func objectInfo(key string, st minio.ObjectInfo) ObjectInfo {
	return ObjectInfo{Key: key, Size: st.Size, ContentType: st.ContentType, ModTime: st.LastModified}
}

// Delete implements Objects.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		if minioCode(err) == "NoSuchKey" {
			return nil
		}
		return s.fail("delete", err)
	}
	return nil
}

// Ping implements Objects by asking whether the bucket exists, which proves that the server
// answers, that the credentials work and that nobody removed the bucket.
func (s *S3) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	exists, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return s.fail("ping", err)
	}
	if !exists {
		return domain.Internal("media: s3: ping", fmt.Errorf("bucket %q does not exist", s.bucket))
	}
	return nil
}

// unavailableCodes are S3 error codes that mean "the service cannot serve now, try later".
var unavailableCodes = map[string]bool{
	"ServiceUnavailable":         true,
	"SlowDown":                   true,
	"RequestTimeout":             true,
	"XMinioServerNotInitialized": true,
	"XMinioStorageFull":          true,
}

// fail maps a minio-go error to a domain error. Driver text stays in Err, for logs.
func (s *S3) fail(op string, err error) error {
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, errShortBody) {
		return shortBody(err)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return contextError(err)
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		switch {
		case er.Code == "NoSuchKey":
			return notFound(err)
		case er.StatusCode == http.StatusServiceUnavailable || unavailableCodes[er.Code]:
			return unavailable(err)
		}
		return domain.Internal("media: s3: "+op, err)
	}
	// Refused connections, DNS failures, resets and TLS handshakes all arrive as net errors
	// (*url.Error implements net.Error).
	var ne net.Error
	if errors.As(err, &ne) {
		return unavailable(err)
	}
	return domain.Internal("media: s3: "+op, err)
}

func minioCode(err error) string {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code
	}
	return ""
}

// grantsAnonymous reports whether an S3 bucket policy allows anything to anonymous users: an Allow
// statement whose principal is "*" (or {"AWS": "*"}, as `mc anonymous set` writes it), or any Allow
// with NotPrincipal. Conditions are ignored on purpose: a policy that is public only from some
// addresses is still public. A policy that does not parse counts as public, since we cannot prove
// otherwise.
func grantsAnonymous(policy string) (bool, error) {
	if strings.TrimSpace(policy) == "" {
		return false, nil
	}
	var doc struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(policy), &doc); err != nil {
		return true, fmt.Errorf("bucket policy does not parse: %w", err)
	}
	type statement struct {
		Effect       string
		Principal    json.RawMessage
		NotPrincipal json.RawMessage
	}
	var stmts []statement
	if err := json.Unmarshal(doc.Statement, &stmts); err != nil {
		var one statement
		if err := json.Unmarshal(doc.Statement, &one); err != nil {
			return true, fmt.Errorf("bucket policy statements do not parse: %w", err)
		}
		stmts = []statement{one}
	}
	for _, st := range stmts {
		if !strings.EqualFold(st.Effect, "Allow") {
			continue
		}
		if len(st.NotPrincipal) > 0 || isAnonymous(st.Principal) {
			return true, nil
		}
	}
	return false, nil
}

// isAnonymous reports whether a policy principal includes everyone.
func isAnonymous(principal json.RawMessage) bool {
	if len(principal) == 0 {
		return false
	}
	var s string
	if json.Unmarshal(principal, &s) == nil {
		return s == "*"
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(principal, &m) != nil {
		return true // neither form we know: assume the worst
	}
	for _, v := range m {
		if json.Unmarshal(v, &s) == nil && s == "*" {
			return true
		}
		var list []string
		if json.Unmarshal(v, &list) == nil {
			for _, p := range list {
				if p == "*" {
					return true
				}
			}
		}
	}
	return false
}
