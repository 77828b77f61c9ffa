package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humafiber"
	"github.com/gofiber/fiber/v2"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/inspection"
	"github.com/vetfield/vetfield/media"
)

// Photo uploads, resumable over links that drop (see media.PhotoStore for the design):
//
//	POST   /v1/inspections/{id}/photos   declare size, SHA-256 and type → 201, Location /v1/uploads/{uid}
//	PATCH  /v1/uploads/{uid}             Upload-Offset: n, Content-Type: application/offset+octet-stream
//	HEAD   /v1/uploads/{uid}             Upload-Offset and Upload-Length, to resume after a drop
//	GET    /v1/uploads/{uid}             the same as JSON, with the photo once complete
//	DELETE /v1/uploads/{uid}             give up; the bytes are removed
//
// The server keeps the bytes of a PATCH that breaks off half-way; the tablet asks HEAD for the
// offset and sends the rest. This is the core of tus 1.0 (offset semantics, 409 on a wrong offset,
// the offset+octet-stream type) with a whole-file SHA-256 declared up front.

// uploadIdle is how long a PATCH body may send nothing before the connection is given up; every
// byte that arrives gives it this long again, so a slow but live link is never cut.
const uploadIdle = 30 * time.Second

// offsetOctetStream is tus's media type for PATCH bodies.
const offsetOctetStream = "application/offset+octet-stream"

func (s *Server) registerUploads() {
	staff := roles(domain.RoleAdmin, domain.RoleVet, domain.RoleInspector)
	register(s, huma.Operation{
		OperationID: "createUpload", Method: http.MethodPost, Path: "/v1/inspections/{id}/photos", Tags: []string{"photos"},
		Summary: "Start uploading a photo of an inspection",
		Description: "Declares the photo's size, SHA-256 and type, and the tablet's own GPS and time. A size over the " +
			"limit (20 MiB by default) is refused here with 413; a type other than JPEG, PNG or HEIC with 415. The bytes " +
			"follow by PATCH to the Location answered. With a client-made `id` a retry answers the same upload.",
		DefaultStatus: http.StatusCreated, Errors: []int{404, 409, 413, 415},
	}, staff, s.createUpload)
	register(s, huma.Operation{
		OperationID: "patchUpload", Method: http.MethodPatch, Path: "/v1/uploads/{id}", Tags: []string{"photos"},
		Summary: "Send bytes of a photo at an offset",
		Description: "Upload-Offset must equal the server's offset (409 otherwise). Bytes that arrive are kept even if " +
			"the connection drops; ask HEAD for the offset and resume. The request with the last byte completes the photo: " +
			"422 if its SHA-256 differs from the declared one, 415 if the bytes are not a JPEG, PNG or HEIC image; in both " +
			"cases nothing is kept.",
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
			offsetOctetStream: {Schema: &huma.Schema{Type: "string", Format: "binary"}}}},
		Errors: []int{404, 409, 410, 413, 415, 429},
	}, staff, s.patchUpload)
	register(s, huma.Operation{
		OperationID: "headUpload", Method: http.MethodHead, Path: "/v1/uploads/{id}", Tags: []string{"photos"},
		Summary: "The offset to resume an upload from", Errors: []int{404},
	}, staff, s.headUpload)
	register(s, huma.Operation{
		OperationID: "getUpload", Method: http.MethodGet, Path: "/v1/uploads/{id}", Tags: []string{"photos"},
		Summary: "An upload's state, and its photo once complete", Errors: []int{404},
	}, staff, s.getUpload)
	register(s, huma.Operation{
		OperationID: "cancelUpload", Method: http.MethodDelete, Path: "/v1/uploads/{id}", Tags: []string{"photos"},
		Summary: "Give up an upload; its bytes are removed", DefaultStatus: http.StatusNoContent, Errors: []int{404, 409},
	}, staff, s.cancelUpload)
}

// DeviceView is what the tablet reports of itself when a photo is taken.
type DeviceView struct {
	GPS        *GeoView   `json:"gps,omitempty" doc:"The tablet's own position (Android strips it from photos unless asked)."`
	DeviceTime *time.Time `json:"device_time,omitempty" doc:"The tablet's clock when the photo was taken."`
}

// UploadView is an upload as the API shows it.
type UploadView struct {
	ID           string                 `json:"id"`
	InspectionID string                 `json:"inspection_id"`
	State        inspection.UploadState `json:"state" enum:"open,complete,failed,cancelled,expired"`
	Offset       int64                  `json:"offset" doc:"Bytes the server has; resume from here."`
	Size         int64                  `json:"size"`
	SHA256       string                 `json:"sha256"`
	ContentType  string                 `json:"content_type,omitempty" doc:"The type the bytes show, once known."`
	Reason       string                 `json:"reason,omitempty" doc:"Why a failed upload failed."`
	ExpiresAt    time.Time              `json:"expires_at" doc:"An upload idle until then is removed."`
	Photo        *PhotoView             `json:"photo,omitempty"`
}

func viewUpload(u *inspection.Upload) UploadView {
	v := UploadView{ID: u.ID, InspectionID: u.InspectionID, State: u.State, Offset: u.Offset, Size: u.Size,
		SHA256: u.SHA256, ContentType: u.ContentType, Reason: u.Reason, ExpiresAt: u.ExpiresAt}
	if u.Photo != nil {
		pv := viewPhoto(u.Photo)
		v.Photo = &pv
	}
	return v
}

type createUploadInput struct {
	ID   string `path:"id" maxLength:"64" doc:"The inspection's id."`
	Body struct {
		ID          string     `json:"id,omitempty" format:"uuid" doc:"Made by the tablet: a retry answers the same upload, and the act can name the photo at once."`
		Size        int64      `json:"size" minimum:"1"`
		SHA256      string     `json:"sha256" pattern:"^[0-9a-f]{64}$" doc:"Of the whole file, lower-case hex."`
		ContentType string     `json:"content_type" maxLength:"100" doc:"image/jpeg, image/png, image/heic or image/heif; the server checks the bytes."`
		Item        string     `json:"item,omitempty" maxLength:"32" doc:"Code of the checklist requirement the photo shows."`
		Device      DeviceView `json:"device,omitempty"`
	}
}

type uploadOutput struct {
	Status       int
	Location     string `header:"Location"`
	UploadOffset string `header:"Upload-Offset"`
	UploadLength string `header:"Upload-Length"`
	CacheControl string `header:"Cache-Control"`
	Body         UploadView
}

func uploadOut(status int, u *inspection.Upload) *uploadOutput {
	return &uploadOutput{Status: status, UploadOffset: strconv.FormatInt(u.Offset, 10),
		UploadLength: strconv.FormatInt(u.Size, 10), CacheControl: "no-store", Body: viewUpload(u)}
}

// createUpload answers POST /v1/inspections/{id}/photos.
func (s *Server) createUpload(ctx context.Context, in *createUploadInput) (*uploadOutput, error) {
	b := in.Body
	u, created, err := s.PhotoStore.Create(ctx, principal(ctx), in.ID, inspection.NewUpload{ID: b.ID, Size: b.Size, SHA256: b.SHA256,
		ContentType: b.ContentType, Item: b.Item, Device: domain.Fix{GPS: b.Device.GPS.point(), DeviceTime: b.Device.DeviceTime}})
	if err != nil {
		return nil, inBody(err, "id") // the path's id is the inspection's; the upload's is the body's
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	out := uploadOut(status, u)
	out.Location = "/v1/uploads/" + u.ID
	return out, nil
}

type patchUploadInput struct {
	ID           string `path:"id" maxLength:"64"`
	UploadOffset int64  `header:"Upload-Offset" required:"true" minimum:"0"`
	ContentType  string `header:"Content-Type"`

	// Filled by Resolve: the body is read as a stream, not by huma.
	body     io.Reader
	length   int64
	deadline func(time.Time) error
}

// Resolve takes the body stream and its length from the request before the handler runs.
func (in *patchUploadInput) Resolve(ctx huma.Context) []error {
	in.body = ctx.BodyReader()
	in.length = int64(humafiber.Unwrap(ctx).Request().Header.ContentLength())
	in.deadline = ctx.SetReadDeadline
	return nil
}

// idleReader pushes the connection's read deadline on before every read.
type idleReader struct {
	r   io.Reader
	set func(time.Time) error
}

func (r idleReader) Read(p []byte) (int, error) {
	_ = r.set(time.Now().Add(uploadIdle))
	return r.r.Read(p)
}

// patchUpload answers PATCH /v1/uploads/{id}.
func (s *Server) patchUpload(ctx context.Context, in *patchUploadInput) (*uploadOutput, error) {
	if in.ContentType != offsetOctetStream {
		return nil, &domain.Error{Code: domain.EUNSUPPORTED, Field: "header.Content-Type", Message: "a PATCH body is " + offsetOctetStream}
	}
	length := in.length
	if length < 0 {
		length = -1 // chunked or no length: refused by the store with a clear reason
	}
	u, _, err := s.PhotoStore.Write(ctx, principal(ctx), in.ID,
		media.Chunk{Offset: in.UploadOffset, Length: length, Body: idleReader{r: in.body, set: in.deadline}})
	if err != nil {
		return nil, err
	}
	return uploadOut(http.StatusOK, u), nil
}

type uploadIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type headUploadOutput struct {
	UploadOffset string `header:"Upload-Offset"`
	UploadLength string `header:"Upload-Length"`
	CacheControl string `header:"Cache-Control"`
}

// headUpload answers HEAD /v1/uploads/{id}.
func (s *Server) headUpload(ctx context.Context, in *uploadIDInput) (*headUploadOutput, error) {
	u, err := s.PhotoStore.Status(ctx, principal(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &headUploadOutput{UploadOffset: strconv.FormatInt(u.Offset, 10), UploadLength: strconv.FormatInt(u.Size, 10),
		CacheControl: "no-store"}, nil
}

// getUpload answers GET /v1/uploads/{id}.
func (s *Server) getUpload(ctx context.Context, in *uploadIDInput) (*uploadOutput, error) {
	u, err := s.PhotoStore.Status(ctx, principal(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return uploadOut(http.StatusOK, u), nil
}

// cancelUpload answers DELETE /v1/uploads/{id}.
func (s *Server) cancelUpload(ctx context.Context, in *uploadIDInput) (*struct{}, error) {
	_, err := s.PhotoStore.Cancel(ctx, principal(ctx), in.ID)
	return nil, err
}

// maxDrain is the most of an unread request body the server reads to keep a connection open; a
// longer remainder (a refused upload) closes the connection instead.
const maxDrain = MaxJSONBody + 64<<10

// drainBody runs after every handler. With streamed request bodies, a handler that answers before
// reading its whole body (a 413, or an upload refused at its first bytes) would leave the rest on
// the connection, where the next request would be read from the middle of it: so the rest is read
// and dropped if short, and the connection is closed after the answer if not.
func (s *Server) drainBody(c *fiber.Ctx) error {
	err := c.Next()
	req := c.Request()
	body := req.BodyStream() // nil once the body was read whole (Body() closes the stream)
	if body == nil || req.Header.ContentLength() == 0 {
		return err
	}
	n, derr := io.CopyN(io.Discard, body, maxDrain+1)
	if derr == nil || n > maxDrain || derr != io.EOF {
		c.Context().SetConnectionClose()
	}
	return err
}

// inBody places a service's error about one of fields in the body, for an operation whose path
// parameter has the same name as a body field (the path's id is the parent's, the body's the new
// record's): register would otherwise place it in the path.
func inBody(err error, fields ...string) error {
	var de *domain.Error
	if !errors.As(err, &de) {
		return err
	}
	name, _, _ := strings.Cut(de.Field, ".")
	name, _, _ = strings.Cut(name, "[")
	if !slices.Contains(fields, name) {
		return err
	}
	placed := *de
	placed.Field = "body." + de.Field
	return &placed
}
