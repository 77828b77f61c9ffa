package inspection

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// Photos are the evidence of an inspection: they must never be lost, swapped or forged. This file
// keeps their records and the records of uploads in progress; the bytes, their hashing and checking
// live in media (media.PhotoStore), which cannot be imported here.

// Photo is a photograph of an inspection whose bytes are in the object store under Key, exactly as
// uploaded: SHA256 was computed by the server from those bytes and matched what the tablet declared.
type Photo struct {
	domain.Meta
	InspectionID string      `json:"inspection_id"`
	ObjectID     string      `json:"object_id"`
	Territory    domain.Kato `json:"territory"`
	OwnerIIN     domain.IIN  `json:"owner_iin"`
	// Item is the code of the checklist requirement the tablet said the photo shows.
	Item string `json:"item,omitempty"`
	Key  string `json:"key"`
	// ThumbKey is where the thumbnail is or will be made; "" when none can be made (HEIC).
	ThumbKey    string `json:"thumb_key,omitempty"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
	// Exif is what the camera wrote in the file; Device what the tablet reported itself. Both are
	// kept: Android strips a photo's GPS unless asked, and a camera's clock may be wrong.
	Exif       *PhotoExif `json:"exif,omitempty"`
	Device     domain.Fix `json:"device"`
	UploadedBy string     `json:"uploaded_by"`
	UploadedAt time.Time  `json:"uploaded_at"`
	UploadedMs int64      `json:"uploaded_ms"`
}

// PhotoExif is what a photo's EXIF block says about when and where it was taken.
type PhotoExif struct {
	TakenAt *time.Time `json:"taken_at,omitempty"`
	// TimeSource says how TakenAt's zone is known: "offset" (the camera wrote its UTC offset),
	// "gps" (the GPS receiver's UTC time) or "assumed" (the camera's local time, read as Asia/Almaty).
	TimeSource string `json:"time_source,omitempty"`
	// GPS is the camera's position as written, not checked against Kazakhstan: it is evidence.
	GPS *domain.GeoPoint `json:"gps,omitempty"`
	// Orientation is the EXIF orientation (1–8), 0 when absent.
	Orientation int `json:"orientation,omitempty"`
}

// PhotosSpec declares the photos' records. They reach tablets through sync; the bytes do not.
var PhotosSpec = domain.CollectionSpec{
	Name:   "photos",
	Synced: true,
	Indexes: []domain.Index{
		{Name: "photos_inspection", Fields: []string{"inspection_id", "uploaded_ms"}},
	},
}

func (ph *Photo) scope() []string {
	return []string{domain.ScopeTerritory(ph.Territory), domain.ScopeOwner(ph.OwnerIIN)}
}

// VisibleTo reports whether p may see ph: as for its inspection.
func (ph *Photo) VisibleTo(p domain.Principal) bool { return p.CanSeeOwned(ph.Territory, ph.OwnerIIN) }

// UploadState is where an upload stands.
type UploadState string

// The states of an upload. Only open uploads take bytes.
const (
	UploadOpen      UploadState = "open"
	UploadComplete  UploadState = "complete"
	UploadFailed    UploadState = "failed"
	UploadCancelled UploadState = "cancelled"
	UploadExpired   UploadState = "expired"
)

// Segment is a run of an upload's bytes kept in the object store until the upload completes.
type Segment struct {
	Key    string `json:"key"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
}

// Upload is a photo on its way from a tablet. The bytes received so far are in the object store as
// segments; Offset says how many, and HashState is the SHA-256 state after them, so a resumed upload
// hashes only its new bytes. Its id becomes the photo's id.
type Upload struct {
	domain.Meta
	InspectionID string      `json:"inspection_id"`
	ObjectID     string      `json:"object_id"`
	Territory    domain.Kato `json:"territory"`
	OwnerIIN     domain.IIN  `json:"owner_iin"`
	Item         string      `json:"item,omitempty"`
	CreatedBy    string      `json:"created_by"`
	Size         int64       `json:"size"`
	// SHA256 is the hash the tablet declared, in lower-case hex.
	SHA256       string     `json:"sha256"`
	DeclaredType string     `json:"declared_type"`
	Device       domain.Fix `json:"device"`

	Offset    int64  `json:"offset"`
	HashState []byte `json:"hash_state,omitempty"`
	// Head is the upload's first bytes, enough to tell the type before the rest arrives.
	Head []byte `json:"head,omitempty"`
	// ContentType is the type the bytes show, once Head tells it.
	ContentType string    `json:"content_type,omitempty"`
	Segments    []Segment `json:"segments"`
	// Photo is the photo a complete upload became, kept so that it can be recorded again if a
	// failure came between closing the upload and recording the photo.
	Photo *Photo `json:"photo,omitempty"`

	State     UploadState `json:"state"`
	Reason    string      `json:"reason,omitempty"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
	ExpiresAt time.Time   `json:"expires_at"`
	ExpiresMs int64       `json:"expires_ms"`
}

// UploadsSpec declares uploads in progress. They are the server's business and are not synced.
var UploadsSpec = domain.CollectionSpec{
	Name: "photo_uploads",
	Indexes: []domain.Index{
		{Name: "uploads_state", Fields: []string{"state", "expires_ms"}},
		{Name: "uploads_inspection", Fields: []string{"inspection_id", "state"}},
	},
}

// Photo limits.
const (
	DefaultMaxPhotoSize    = 20 << 20
	DefaultUploadTTL       = 24 * time.Hour
	MaxPhotosPerInspection = 500
)

// PhotoTypes are the media types a photo may have, checked against the bytes by media.
var PhotoTypes = []string{"image/jpeg", "image/png", "image/heic", "image/heif"}

var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Photos keeps the records of photos and of uploads in progress.
type Photos struct {
	Store domain.Store
	Now   domain.Clock
	// MaxSize is the largest photo taken, DefaultMaxPhotoSize when 0.
	MaxSize int64
	// UploadTTL is how long an upload may stay idle before it is cleaned up, DefaultUploadTTL when 0.
	UploadTTL time.Duration
}

// Limit returns the largest photo taken.
func (ps *Photos) Limit() int64 {
	if ps.MaxSize > 0 {
		return ps.MaxSize
	}
	return DefaultMaxPhotoSize
}

// TTL returns how long an idle upload lives.
func (ps *Photos) TTL() time.Duration {
	if ps.UploadTTL > 0 {
		return ps.UploadTTL
	}
	return DefaultUploadTTL
}

// NewUpload is what a tablet declares before sending a photo.
type NewUpload struct {
	// ID, when set (a UUID made by the tablet), makes creating idempotent and lets the act name
	// the photo before its bytes arrive.
	ID          string
	Size        int64
	SHA256      string
	ContentType string
	Item        string
	Device      domain.Fix
}

// CreateUpload starts an upload of a photo for in, which the caller has loaded as p. Only the
// executor (or an admin) uploads, and only during the visit. A size over the limit is refused here,
// before any byte is sent.
func (ps *Photos) CreateUpload(ctx context.Context, p domain.Principal, in *Inspection, nu NewUpload) (*Upload, bool, error) {
	if err := mustBeExecutor(p, in); err != nil {
		return nil, false, err
	}
	now := ps.Now().UTC()
	switch {
	case nu.ID != "" && !isCanonicalUUID(nu.ID):
		return nil, false, domain.Invalid("id", "an id made by the client is a UUID")
	case nu.Size <= 0:
		return nil, false, domain.Invalid("size", "give the photo's size in bytes")
	case nu.Size > ps.Limit():
		return nil, false, &domain.Error{Code: domain.ETOOLARGE, Field: "size",
			Message: fmt.Sprintf("a photo is at most %d bytes; this one is %d", ps.Limit(), nu.Size)}
	case !sha256Pattern.MatchString(nu.SHA256):
		return nil, false, domain.Invalid("sha256", "give the photo's SHA-256 as 64 lower-case hex digits")
	case !isPhotoType(nu.ContentType):
		return nil, false, &domain.Error{Code: domain.EUNSUPPORTED, Field: "content_type",
			Message: "photos are JPEG, PNG or HEIC (image/jpeg, image/png, image/heic, image/heif)"}
	case nu.Item != "" && !itemCodePattern.MatchString(nu.Item):
		return nil, false, domain.Invalid("item", "an item is a checklist code")
	}
	if err := nu.Device.Validate("device", now); err != nil {
		return nil, false, err
	}
	if nu.ID != "" {
		// A retry answers its own upload. An id taken by an upload the caller cannot reach (of
		// another inspector, another district) is refused as taken, before anything is counted
		// or written, and the answer names nothing of it.
		old, err := domain.GetEntity[Upload](ctx, ps.Store, UploadsSpec.Name, nu.ID)
		if err != nil && !domain.IsCode(err, domain.ENOTFOUND) {
			return nil, false, err
		}
		if err == nil {
			if _, gerr := ps.GetUpload(ctx, p, nu.ID); gerr != nil || old.InspectionID != in.ID || old.Size != nu.Size || old.SHA256 != nu.SHA256 {
				return nil, false, &domain.Error{Code: domain.ECONFLICT, Field: "id", Message: "this id belongs to another upload"}
			}
			return old, false, nil
		}
	}
	if err := mustBeIn(in, "add photos", InspOnSite); err != nil {
		return nil, false, err
	}
	n, err := ps.Store.Incr(ctx, "photos:"+in.ID, 1, time.Time{})
	if err != nil {
		return nil, false, err
	}
	if n > MaxPhotosPerInspection {
		return nil, false, domain.Errorf(domain.EPRECONDITION, "an inspection holds at most %d photos", MaxPhotosPerInspection)
	}
	exp := now.Add(ps.TTL())
	u := &Upload{Meta: domain.Meta{ID: nu.ID}, InspectionID: in.ID, ObjectID: in.ObjectID, Territory: in.Territory,
		OwnerIIN: in.OwnerIIN, Item: nu.Item, CreatedBy: p.UserID, Size: nu.Size, SHA256: nu.SHA256,
		DeclaredType: nu.ContentType, Device: nu.Device, Segments: []Segment{}, State: UploadOpen,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: exp, ExpiresMs: exp.UnixMilli()}
	if u.ID == "" {
		u.ID = domain.NewID()
	}
	if err := domain.InsertEntity(ctx, ps.Store, UploadsSpec.Name, u, nil); err != nil {
		if domain.IsCode(err, domain.ECONFLICT) && nu.ID != "" {
			return nil, false, &domain.Error{Code: domain.ECONFLICT, Field: "id", Message: "this id belongs to another upload"}
		}
		return nil, false, err
	}
	return u, true, nil
}

func isPhotoType(ct string) bool {
	for _, t := range PhotoTypes {
		if ct == t {
			return true
		}
	}
	return false
}

// GetUpload returns an upload to the account that started it, or to an admin; to anyone else it
// does not exist.
func (ps *Photos) GetUpload(ctx context.Context, p domain.Principal, id string) (*Upload, error) {
	u, err := domain.GetEntity[Upload](ctx, ps.Store, UploadsSpec.Name, id)
	// An upload is its creator's, and only while the territory is still theirs: a user moved to
	// another district can no longer add bytes to, or read, what they began there.
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && p.Role != domain.RoleAdmin && (p.UserID != u.CreatedBy || !p.CanSeeTerritory(u.Territory))) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such upload")
	}
	return u, err
}

// SaveUpload stores a changed upload if nobody changed it since it was read (ECONFLICT otherwise),
// and pushes its expiry on: an upload is cleaned up when idle, not while bytes keep coming.
func (ps *Photos) SaveUpload(ctx context.Context, u *Upload) error {
	now := ps.Now().UTC()
	u.UpdatedAt = now
	if u.State == UploadOpen {
		u.ExpiresAt = now.Add(ps.TTL())
	}
	u.ExpiresMs = u.ExpiresAt.UnixMilli()
	return domain.UpdateEntity(ctx, ps.Store, UploadsSpec.Name, u, nil)
}

// Complete closes an upload with the photo it became, then records the photo. Closing first decides
// any race with a cleanup or a cancellation: if the upload was ended meanwhile the answer is EGONE
// and no photo is recorded; if another request completed it, its photo is the answer. If recording
// fails after closing, RecordPhoto from the upload's Photo finishes it later.
func (ps *Photos) Complete(ctx context.Context, u *Upload, ph *Photo) (*Photo, error) {
	ph.ID, ph.UploadedMs = u.ID, ph.UploadedAt.UnixMilli()
	u.State, u.Offset, u.Segments, u.HashState, u.Photo = UploadComplete, u.Size, []Segment{}, nil, ph
	if err := ps.SaveUpload(ctx, u); err != nil {
		if !domain.IsCode(err, domain.ECONFLICT) {
			return nil, err
		}
		fresh, gerr := domain.GetEntity[Upload](ctx, ps.Store, UploadsSpec.Name, u.ID)
		if gerr != nil {
			return nil, gerr
		}
		*u = *fresh
		switch {
		case u.State == UploadComplete && u.Photo != nil:
			ph = u.Photo
		case u.State == UploadOpen:
			return nil, domain.Errorf(domain.ECONFLICT, "another request moved the upload on to offset %d; ask for the offset and resume", u.Offset)
		default:
			return nil, domain.Errorf(domain.EGONE, "the upload was %s meanwhile", u.State)
		}
	}
	return ps.RecordPhoto(ctx, ph)
}

// RecordPhoto stores a photo's record; one already stored under its id is answered as is.
func (ps *Photos) RecordPhoto(ctx context.Context, ph *Photo) (*Photo, error) {
	err := domain.InsertEntity(ctx, ps.Store, PhotosSpec.Name, ph, ph.scope())
	if domain.IsCode(err, domain.ECONFLICT) {
		return ps.Photo(ctx, ph.ID)
	}
	if err != nil {
		return nil, err
	}
	return ph, nil
}

// Photo returns a photo's record by id with no access check, for media's own work.
func (ps *Photos) Photo(ctx context.Context, id string) (*Photo, error) {
	return domain.GetEntity[Photo](ctx, ps.Store, PhotosSpec.Name, id)
}

// Get returns the photo with id if p may see it; otherwise ENOTFOUND.
func (ps *Photos) Get(ctx context.Context, p domain.Principal, id string) (*Photo, error) {
	ph, err := ps.Photo(ctx, id)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !ph.VisibleTo(p)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such photo")
	}
	return ph, err
}

// List pages through the photos of an inspection the caller has loaded, oldest first.
func (ps *Photos) List(ctx context.Context, in *Inspection, after string, limit int) ([]*Photo, string, error) {
	return domain.ListEntities[Photo](ctx, ps.Store, PhotosSpec.Name,
		domain.Query{Index: "photos_inspection", Eq: []any{in.ID}, After: after, Limit: limit})
}

// OfInspection returns every photo of an inspection.
func (ps *Photos) OfInspection(ctx context.Context, inspectionID string) ([]*Photo, error) {
	var all []*Photo
	after := ""
	for {
		page, next, err := domain.ListEntities[Photo](ctx, ps.Store, PhotosSpec.Name,
			domain.Query{Index: "photos_inspection", Eq: []any{inspectionID}, After: after, Limit: domain.MaxPageSize})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		after = next
	}
}

// known reports whether id is a photo of the inspection, stored or still uploading. An upload
// that closed but whose photo record was not written (a failure between the two writes of
// Complete) is a photo of the inspection too: its record is written here.
func (ps *Photos) known(ctx context.Context, inspectionID, id string) error {
	if ph, err := ps.Photo(ctx, id); err == nil && ph.InspectionID == inspectionID {
		return nil
	} else if err != nil && !domain.IsCode(err, domain.ENOTFOUND) {
		return err
	}
	u, err := domain.GetEntity[Upload](ctx, ps.Store, UploadsSpec.Name, id)
	if err != nil && !domain.IsCode(err, domain.ENOTFOUND) {
		return err
	}
	if err == nil && u.InspectionID == inspectionID {
		switch {
		case u.State == UploadOpen:
			return nil
		case u.State == UploadComplete && u.Photo != nil:
			_, err := ps.RecordPhoto(ctx, u.Photo)
			return err
		}
	}
	return domain.Invalid("", "%s is not a photo of this inspection", id)
}

// recorded returns the photo with id of the inspection, writing its record from its closed upload
// if a failure came between closing the upload and recording the photo; ENOTFOUND when neither
// the record nor a closed upload exists.
func (ps *Photos) recorded(ctx context.Context, inspectionID, id string) (*Photo, error) {
	u, err := domain.GetEntity[Upload](ctx, ps.Store, UploadsSpec.Name, id)
	if err != nil {
		return nil, err
	}
	if u.InspectionID != inspectionID || u.State != UploadComplete || u.Photo == nil {
		return nil, domain.Errorf(domain.ENOTFOUND, "photo %s is not recorded", id)
	}
	return ps.RecordPhoto(ctx, u.Photo)
}

// Expired returns up to limit open uploads idle past their expiry at now, for the cleanup.
func (ps *Photos) Expired(ctx context.Context, now time.Time, limit int) ([]*Upload, error) {
	ups, _, err := domain.ListEntities[Upload](ctx, ps.Store, UploadsSpec.Name,
		domain.Query{Index: "uploads_state", Eq: []any{string(UploadOpen)}, To: now.UnixMilli(), Limit: limit})
	return ups, err
}
