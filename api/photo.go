package api

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humafiber"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/inspection"
)

// Photos are private: their bytes are read only through these routes, which check the caller's
// territory (or ownership) like every other record. There are no presigned URLs, so a photo's
// address is never a capability that outlives the caller's access.
func (s *Server) registerPhotos() {
	register(s, huma.Operation{
		OperationID: "listPhotos", Method: http.MethodGet, Path: "/v1/inspections/{id}/photos", Tags: []string{"photos"},
		Summary: "The photos of an inspection, oldest first", Errors: []int{404},
	}, authenticated, s.listPhotos)
	register(s, huma.Operation{
		OperationID: "getPhotoInfo", Method: http.MethodGet, Path: "/v1/photos/{id}/info", Tags: []string{"photos"},
		Summary: "A photo's record: hash, size, EXIF time and GPS, the tablet's GPS", Errors: []int{404},
	}, authenticated, s.getPhotoInfo)
	register(s, huma.Operation{
		OperationID: "getPhoto", Method: http.MethodGet, Path: "/v1/photos/{id}", Tags: []string{"photos"},
		Summary: "A photo's bytes, exactly as uploaded", Errors: []int{404},
		Responses: map[string]*huma.Response{"200": {Description: "The photo; ETag is its SHA-256.", Content: map[string]*huma.MediaType{
			"image/jpeg": {}, "image/png": {}, "image/heic": {}, "image/heif": {}}}},
	}, authenticated, s.getPhoto)
	register(s, huma.Operation{
		OperationID: "getThumbnail", Method: http.MethodGet, Path: "/v1/photos/{id}/thumbnail", Tags: []string{"photos"},
		Summary:     "A photo's thumbnail (JPEG, 320 px on its longer side, upright)",
		Description: "HEIC photos have none (404): the server has no HEIC decoder.", Errors: []int{404},
	}, authenticated, s.getThumbnail)
}

// PhotoView is a photo's record as the API shows it.
type PhotoView struct {
	ID           string     `json:"id"`
	InspectionID string     `json:"inspection_id"`
	ObjectID     string     `json:"object_id"`
	Item         string     `json:"item,omitempty"`
	ContentType  string     `json:"content_type" doc:"From the bytes, not from the client."`
	Size         int64      `json:"size"`
	SHA256       string     `json:"sha256" doc:"Computed by the server and matched against the tablet's."`
	Width        int        `json:"width,omitempty"`
	Height       int        `json:"height,omitempty"`
	Thumbnail    bool       `json:"thumbnail" doc:"Whether /thumbnail can answer."`
	Exif         *ExifView  `json:"exif,omitempty"`
	Device       DeviceView `json:"device"`
	UploadedBy   string     `json:"uploaded_by"`
	UploadedAt   time.Time  `json:"uploaded_at"`
}

// ExifView is what the photo's EXIF block says.
type ExifView struct {
	TakenAt     *time.Time `json:"taken_at,omitempty"`
	TimeSource  string     `json:"time_source,omitempty" enum:"offset,gps,assumed" doc:"offset: the camera wrote its UTC offset; gps: the GPS receiver's UTC time; assumed: the camera's local time read as Asia/Almaty."`
	GPS         *GeoView   `json:"gps,omitempty"`
	Orientation int        `json:"orientation,omitempty"`
}

func viewPhoto(ph *inspection.Photo) PhotoView {
	v := PhotoView{ID: ph.ID, InspectionID: ph.InspectionID, ObjectID: ph.ObjectID, Item: ph.Item, ContentType: ph.ContentType,
		Size: ph.Size, SHA256: ph.SHA256, Width: ph.Width, Height: ph.Height, Thumbnail: ph.ThumbKey != "",
		Device:     DeviceView{GPS: viewGeo(ph.Device.GPS), DeviceTime: ph.Device.DeviceTime},
		UploadedBy: ph.UploadedBy, UploadedAt: ph.UploadedAt}
	if x := ph.Exif; x != nil {
		v.Exif = &ExifView{TakenAt: x.TakenAt, TimeSource: x.TimeSource, GPS: viewGeo(x.GPS), Orientation: x.Orientation}
	}
	return v
}

type listPhotosInput struct {
	ID     string `path:"id" maxLength:"64" doc:"The inspection's id."`
	Cursor string `query:"cursor" maxLength:"512"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

type listPhotosOutput struct{ Body Page[PhotoView] }

// listPhotos answers GET /v1/inspections/{id}/photos.
func (s *Server) listPhotos(ctx context.Context, in *listPhotosInput) (*listPhotosOutput, error) {
	insp, err := s.Inspection.Inspections.Get(ctx, principal(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	photos, next, err := s.PhotoStore.Photos.List(ctx, insp, in.Cursor, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &listPhotosOutput{Body: Page[PhotoView]{Items: make([]PhotoView, 0, len(photos)), NextCursor: next}}
	for _, ph := range photos {
		out.Body.Items = append(out.Body.Items, viewPhoto(ph))
	}
	return out, nil
}

type photoIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type photoInfoOutput struct{ Body PhotoView }

// getPhotoInfo answers GET /v1/photos/{id}/info.
func (s *Server) getPhotoInfo(ctx context.Context, in *photoIDInput) (*photoInfoOutput, error) {
	ph, err := s.PhotoStore.Photos.Get(ctx, principal(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &photoInfoOutput{Body: viewPhoto(ph)}, nil
}

// getPhoto answers GET /v1/photos/{id}, streaming the bytes from the object store.
func (s *Server) getPhoto(ctx context.Context, in *photoIDInput) (*huma.StreamResponse, error) {
	rc, ph, err := s.PhotoStore.Open(ctx, principal(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		hctx.SetHeader("Content-Type", ph.ContentType)
		hctx.SetHeader("ETag", `"`+ph.SHA256+`"`)
		hctx.SetHeader("Cache-Control", "private, max-age=86400, immutable")
		hctx.SetHeader("X-Content-Type-Options", "nosniff")
		hctx.SetHeader("Content-Disposition", `inline; filename="`+ph.ID+"."+extOf(ph.ContentType)+`"`)
		hctx.SetStatus(http.StatusOK)
		// fasthttp copies the stream to the connection after the handler and closes it then.
		humafiber.Unwrap(hctx).Context().SetBodyStream(rc, int(ph.Size))
	}}, nil
}

func extOf(ct string) string {
	switch ct {
	case "image/jpeg":
		return "jpg"
	case "image/png":
		return "png"
	}
	return "heic"
}

// getThumbnail answers GET /v1/photos/{id}/thumbnail.
func (s *Server) getThumbnail(ctx context.Context, in *photoIDInput) (*binaryOutput, error) {
	rc, size, err := s.PhotoStore.Thumbnail(ctx, principal(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, size+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != size {
		return nil, domain.Internal("thumbnail", io.ErrUnexpectedEOF)
	}
	return &binaryOutput{ContentType: "image/jpeg", CacheControl: "private, max-age=86400", Body: data}, nil
}
