package epizootic

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"time"
	"unicode/utf8"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/identification"
)

// ReferencePurpose is what the owner wants the reference for.
type ReferencePurpose string

// The purposes of service 2: sale, movement (transport to another place), slaughter, seasonal
// grazing away from the holding, an exhibition, processing of products.
const (
	PurposeSale       ReferencePurpose = "sale"
	PurposeMovement   ReferencePurpose = "movement"
	PurposeSlaughter  ReferencePurpose = "slaughter"
	PurposeGrazing    ReferencePurpose = "grazing"
	PurposeExhibition ReferencePurpose = "exhibition"
	PurposeProcessing ReferencePurpose = "processing"
)

// Valid reports whether p is a known purpose.
func (p ReferencePurpose) Valid() bool {
	switch p {
	case PurposeSale, PurposeMovement, PurposeSlaughter, PurposeGrazing, PurposeExhibition, PurposeProcessing:
		return true
	}
	return false
}

// Examination results.
const (
	ExamHealthy   = "healthy"
	ExamUnhealthy = "unhealthy"
)

// Reference outcomes.
const (
	RefIssued  = "issued"
	RefRefused = "refused"
)

// Limits of a reference.
const (
	MaxRefAnimals    = 500 // a flock of a campaign, as a movement and a group identification take
	MaxRefProducts   = 50
	MaxDestination   = 300
	MaxExamNote      = 1000
	MaxProductOrigin = 300
	MaxOfflineAge    = 30 * 24 * time.Hour
	maxClockAhead    = 5 * time.Minute
)

// MaxApplicationAge bounds how long before the decision an application may have been made: a
// reference is decided on the day of application (REGULATIONS.md), so an older date is a typing
// error (the year 0001 of an empty date field), not a late case.
const MaxApplicationAge = 30 * 24 * time.Hour

// Reference is one application for a veterinary reference and its outcome: the reference paper
// (DocReference) or a motivated refusal (DocRefusal). It keeps what was checked — the identification
// state of each animal and the restrictions in force at each moment — and both the time of
// application and the time of the decision, so a decision not made on the day of application
// shows as late.
type Reference struct {
	domain.Meta
	HoldingID   string             `json:"holding_id"`
	HoldingName string             `json:"holding_name"`
	Territory   domain.Kato        `json:"territory"`
	OwnerIIN    domain.IIN         `json:"owner_iin"`
	OwnerName   string             `json:"owner_name"`
	Animals     []ReferenceAnimal  `json:"animals"`
	Products    []ReferenceProduct `json:"products"`
	Purpose     ReferencePurpose   `json:"purpose"`
	Destination string             `json:"destination"`
	ExamResult  string             `json:"exam_result"`
	ExamNote    string             `json:"exam_note,omitempty"`
	// AppliedAt is when the owner applied; IssuedAt when the vet decided (on a tablet offline, by
	// its clock); SyncedAt when an offline decision reached the server.
	AppliedAt time.Time        `json:"applied_at"`
	IssuedAt  time.Time        `json:"issued_at"`
	SyncedAt  *time.Time       `json:"synced_at,omitempty"`
	Offline   bool             `json:"offline,omitempty"`
	Outcome   string           `json:"outcome"`
	Grounds   []Ground         `json:"grounds"`
	Checked   []SituationCheck `json:"checked"`
	// DocumentID is derived from the reference's id, so a retry issues the same paper.
	DocumentID     string            `json:"document_id"`
	DocumentType   documents.DocType `json:"document_type"`
	DocumentNumber string            `json:"document_number,omitempty"`
	Late           bool              `json:"late"`
	// ReviewRequired marks a reference a tablet issued offline that a restriction in force (or the
	// identification database) would have refused: it is kept, its paper revoked with the reason,
	// and it waits in the district's review queue until a supervisor closes it.
	ReviewRequired bool        `json:"review_required,omitempty"`
	ReviewOpen     bool        `json:"review_open"`
	ReviewedAt     *time.Time  `json:"reviewed_at,omitempty"`
	ReviewedBy     string      `json:"reviewed_by,omitempty"`
	ReviewNote     string      `json:"review_note,omitempty"`
	IssuedBy       string      `json:"issued_by"`
	IssuedByName   string      `json:"issued_by_name"`
	Unit           domain.Kato `json:"unit"`
	ApplicationID  string      `json:"application_id,omitempty"`
	CreateHash     string      `json:"create_hash"`
	IssuedAtMS     int64       `json:"issued_at_ms"`
}

// ReferencesSpec declares the references. Synced to the staff of the holding's territory and to
// the owner.
var ReferencesSpec = domain.CollectionSpec{
	Name:   "references",
	Synced: true,
	Indexes: []domain.Index{
		{Name: "references_territory", Fields: []string{"territory", "issued_at_ms"}},
		{Name: "references_owner", Fields: []string{"owner_iin", "issued_at_ms"}},
		{Name: "references_late", Fields: []string{"late", "territory", "issued_at_ms"}},
		{Name: "references_review", Fields: []string{"review_open", "territory", "issued_at_ms"}},
	},
}

func (r *Reference) scope() []string { return domain.OwnedScope(r.Territory, r.OwnerIIN) }

// ReferenceAnimalInput names an animal by its id or by its individual number.
type ReferenceAnimalInput struct {
	ID  string
	Tag string
}

// NewReference is what a vet gives to decide on a reference.
type NewReference struct {
	// ID is generated by the tablet (a UUID) and becomes the reference's id: a retry answers the
	// same reference and paper.
	ID          string
	HoldingID   string
	Animals     []ReferenceAnimalInput
	Products    []ReferenceProduct
	Purpose     ReferencePurpose
	Destination string
	ExamResult  string
	ExamNote    string
	// AppliedAt is when the owner applied; default now (the application is made at the counter).
	AppliedAt *time.Time
	// RefuseReason, when set, refuses the reference on a ground the vet states.
	RefuseReason string
	// applicationID links a reference decided on a farmer's application.
	applicationID string
}

// OfflineIssue is how a tablet issued a reference while offline.
type OfflineIssue struct {
	// At is when the tablet issued it, by its clock.
	At time.Time
	// Refused is true when the tablet refused it.
	Refused bool
}

// References issues veterinary references and motivated refusals.
type References struct {
	Store          domain.Store
	Now            domain.Clock
	Documents      *documents.Documents
	Identification *identification.Service
	Restrictions   *Restrictions
	Territories    *Territories
}

// Issue decides on a reference at the counter or in the field: it checks the animals and the
// epizootic situation and issues the reference or a motivated refusal. A vet issues only for
// holdings in their territory; another district's holding is ENOTFOUND.
func (rf *References) Issue(ctx context.Context, by domain.Principal, in NewReference) (*Reference, *documents.Document, error) {
	return rf.decide(ctx, by, in, nil)
}

// IssueOffline records a reference a tablet issued offline. It is checked against the situation at
// the moment the tablet says it issued it and at the moment it reaches the server; if either would
// have refused it, it is kept as a record but its paper is revoked with the ground and it waits
// for review by the district: never silently valid.
func (rf *References) IssueOffline(ctx context.Context, by domain.Principal, in NewReference, off OfflineIssue) (*Reference, *documents.Document, error) {
	return rf.decide(ctx, by, in, &off)
}

// normalize checks the request's fields in the order of the API's body.
func (in *NewReference) normalize() (err error) {
	if in.ID, err = domain.ParseClientID(in.ID, "id"); err != nil {
		return err
	}
	if in.HoldingID == "" {
		return domain.Invalid("holding_id", "give the holding the animals or products come from")
	}
	if len(in.Animals) == 0 && len(in.Products) == 0 {
		return domain.Invalid("animals", "give the animals, or the products and raw materials, the reference is for")
	}
	if len(in.Animals) > MaxRefAnimals {
		return domain.Invalid("animals", "at most %d animals in one reference", MaxRefAnimals)
	}
	if len(in.Products) > MaxRefProducts {
		return domain.Invalid("products", "at most %d products in one reference", MaxRefProducts)
	}
	for i := range in.Products {
		p := &in.Products[i]
		f := fmt.Sprintf("products[%d]", i)
		switch {
		case !p.Kind.Valid():
			return domain.Invalid(f+".kind", "unknown product %q: one of meat, milk, hides, wool, offal, poultry, eggs, honey", domain.Clip(string(p.Kind)))
		case p.Species != "" && !p.Species.Valid():
			return domain.Invalid(f+".species", "unknown species %q", domain.Clip(string(p.Species)))
		case p.Kind.fromSpecies() && p.Species == "":
			return domain.Invalid(f+".species", "give the species %s comes from", p.Kind)
		case !p.Kind.fromSpecies() && p.Species != "":
			return domain.Invalid(f+".species", "%s comes from no identified species; leave species out", p.Kind)
		case !(p.Quantity > 0) || p.Quantity > 1e7:
			return domain.Invalid(f+".quantity", "give a positive quantity")
		}
		if p.Unit, err = domain.TrimmedText(p.Unit, f+".unit", 20, false); err != nil {
			return err
		}
		if p.Origin, err = domain.TrimmedText(p.Origin, f+".origin", MaxProductOrigin, false); err != nil {
			return err
		}
	}
	if !in.Purpose.Valid() {
		return domain.Invalid("purpose", "the purpose is sale, movement, slaughter, grazing, exhibition or processing")
	}
	if in.Destination, err = domain.TrimmedText(in.Destination, "destination", MaxDestination, false); err != nil {
		return err
	}
	switch in.ExamResult {
	case ExamHealthy:
	case ExamUnhealthy:
		if in.ExamNote, err = domain.TrimmedLines(in.ExamNote, "exam_note", MaxExamNote, false); err != nil {
			return domain.Invalid("exam_note", "say what the examination found")
		}
	default:
		return domain.Invalid("exam_result", "the examination result is healthy or unhealthy")
	}
	if in.ExamNote, err = domain.TrimmedLines(in.ExamNote, "exam_note", MaxExamNote, true); err != nil {
		return err
	}
	in.RefuseReason, err = domain.TrimmedLines(in.RefuseReason, "refuse_reason", MaxExamNote, true)
	return err
}

// decide runs Issue and IssueOffline.
func (rf *References) decide(ctx context.Context, by domain.Principal, in NewReference, off *OfflineIssue) (*Reference, *documents.Document, error) {
	if by.Role != domain.RoleVet || by.Territory == "" {
		return nil, nil, domain.Errorf(domain.EFORBIDDEN, "only vets issue references")
	}
	if err := in.normalize(); err != nil {
		return nil, nil, err
	}
	hash := requestHash(in, off)
	if old, err := rf.load(ctx, in.ID); err == nil {
		return rf.resume(ctx, by, old, hash)
	} else if !domain.IsCode(err, domain.ENOTFOUND) {
		return nil, nil, err
	}
	h, err := rf.Identification.Holdings.Get(ctx, by, in.HoldingID)
	if err != nil {
		return nil, nil, err // another district's holding is not found, as if it did not exist
	}
	now := rf.Now().UTC()
	issued := now
	if off != nil {
		issued = off.At.UTC()
		switch {
		case off.At.IsZero():
			issued = now
		case issued.After(now.Add(maxClockAhead)):
			return nil, nil, domain.Invalid("at", "the tablet's time %s is ahead of the server's: set the tablet's clock", issued.Format(time.RFC3339))
		case issued.Before(now.Add(-MaxOfflineAge)):
			return nil, nil, domain.Invalid("at", "a reference issued offline more than %d days ago cannot be synced; issue it anew", int(MaxOfflineAge.Hours()/24))
		}
	}
	applied := issued
	if in.AppliedAt != nil {
		applied = in.AppliedAt.UTC()
		if applied.After(issued.Add(maxClockAhead)) {
			return nil, nil, domain.Invalid("applied_at", "the application cannot come after the decision")
		}
		if applied.Before(issued.Add(-MaxApplicationAge)) {
			return nil, nil, domain.Invalid("applied_at", "an application is decided within %d days of it; this one is older", int(MaxApplicationAge.Hours()/24))
		}
	}
	moments := []moment{{"application", applied}}
	if !issued.Equal(applied) {
		moments = append(moments, moment{"issue", issued})
	}
	if off != nil && !now.Equal(issued) {
		moments = append(moments, moment{"sync", now})
	}
	animals, checks, grounds, err := rf.assess(ctx, by, h, in, moments)
	if err != nil {
		return nil, nil, err
	}
	r := &Reference{Meta: domain.Meta{ID: in.ID}, HoldingID: h.ID, HoldingName: h.Name, Territory: h.Territory,
		OwnerIIN: h.OwnerIIN, OwnerName: h.OwnerName, Animals: animals, Products: in.Products,
		Purpose: in.Purpose, Destination: in.Destination, ExamResult: in.ExamResult, ExamNote: in.ExamNote,
		AppliedAt: applied, IssuedAt: issued, Offline: off != nil, Grounds: grounds, Checked: checks,
		DocumentID: domain.DerivedID("reference-document", in.ID), IssuedBy: by.UserID,
		IssuedByName: rf.Identification.Animals.StaffName(ctx, by), Unit: by.Territory,
		ApplicationID: in.applicationID, CreateHash: hash, IssuedAtMS: issued.UnixMilli()}
	if r.Products == nil {
		r.Products = []ReferenceProduct{}
	}
	if r.Grounds == nil {
		r.Grounds = []Ground{}
	}
	r.Outcome, r.DocumentType = RefIssued, documents.DocReference
	switch {
	case len(grounds) > 0 && off != nil && !off.Refused:
		// The tablet issued what the server would refuse: keep it, flag it, revoke its paper.
		r.ReviewRequired, r.ReviewOpen = true, true
	case len(grounds) > 0 || (off != nil && off.Refused):
		r.Outcome, r.DocumentType = RefRefused, documents.DocRefusal
		if len(grounds) == 0 {
			return nil, nil, domain.Invalid("data.refuse_reason", "a refusal states its ground: give refuse_reason")
		}
	}
	if off != nil {
		r.SyncedAt = &now
	}
	r.Late = domain.CivilDateOf(r.IssuedAt) != domain.CivilDateOf(r.AppliedAt)
	// The paper is issued before the record that names it, under an id derived from the
	// reference's so that issuing is idempotent: a crash in between leaves a paper that no
	// reference names yet — which the retry adopts below — and never a reference whose
	// document_id names nothing (readers and sync would see that dangling id).
	doc, err := rf.issuePaper(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	if err := r.adopt(doc); err != nil {
		return nil, nil, err
	}
	r.DocumentNumber = doc.Number
	if err := domain.InsertEntity(ctx, rf.Store, ReferencesSpec.Name, r, r.scope()); domain.IsCode(err, domain.ECONFLICT) {
		old, lerr := rf.load(ctx, in.ID) // a concurrent retry stored it first
		if lerr != nil {
			return nil, nil, lerr
		}
		return rf.resume(ctx, by, old, hash)
	} else if err != nil {
		return nil, nil, err
	}
	return rf.finish(ctx, r)
}

// requestHash tells a retry from another request that reused the id.
func requestHash(in NewReference, off *OfflineIssue) string {
	sum := sha256.Sum256(domain.MustJSON([]any{in.HoldingID, in.Animals, in.Products, in.Purpose, in.Destination,
		in.ExamResult, in.ExamNote, in.AppliedAt, in.RefuseReason, in.applicationID, off}))
	return hex.EncodeToString(sum[:])
}

// resume answers a retried decision: the same request finishes what the first attempt left
// undone; a different request that reused the id is refused.
func (rf *References) resume(ctx context.Context, by domain.Principal, old *Reference, hash string) (*Reference, *documents.Document, error) {
	if !by.CanSeeOwned(old.Territory, old.OwnerIIN) {
		return nil, nil, &domain.Error{Code: domain.ECONFLICT, Field: "id", Key: "_id", Message: "this id is taken; generate a new id for a new reference"}
	}
	if old.CreateHash != hash {
		return nil, nil, &domain.Error{Code: domain.ECONFLICT, Field: "id", Key: "_id",
			Message: "this id names another reference; generate a new id for a new reference"}
	}
	return rf.finish(ctx, old)
}

// finish issues the paper, revokes it when the reference waits for review, records the event in
// each animal's history and notes the paper's number. Every step is idempotent, so it runs again
// on every retry.
func (rf *References) finish(ctx context.Context, r *Reference) (*Reference, *documents.Document, error) {
	doc, err := rf.issuePaper(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	if r.ReviewRequired && doc.Status == documents.DocValid {
		// Only a paper issued before papers could be issued revoked gets here.
		staff := domain.Principal{UserID: r.IssuedBy, Role: domain.RoleVet, Territory: r.Unit}
		if doc, err = rf.Documents.Revoke(ctx, doc.ID, staff, r.revokeReason()); err != nil {
			return nil, nil, err
		}
	}
	for _, x := range r.Animals {
		if x.ID == "" {
			continue
		}
		a, err := rf.Identification.Animals.Load(ctx, x.ID)
		if err != nil {
			return nil, nil, err
		}
		_, err = rf.Identification.Animals.RecordEvent(ctx, a, identification.AnimalEvent{Meta: domain.Meta{ID: domain.DerivedID("event", a.ID, "reference", r.ID)},
			Kind: "reference", At: r.IssuedAt, By: r.IssuedBy, Unit: r.Unit, Tag: x.Tag, DocumentID: doc.ID,
			Details: domain.MustJSON(map[string]any{"reference_id": r.ID, "outcome": r.Outcome, "purpose": r.Purpose,
				"document_number": doc.Number, "review_required": r.ReviewRequired})})
		if err != nil {
			return nil, nil, err
		}
	}
	if r.DocumentNumber == "" {
		if r, err = rf.change(ctx, r.ID, func(x *Reference) bool {
			if x.DocumentNumber != "" {
				return false
			}
			x.DocumentNumber = doc.Number
			return true
		}); err != nil {
			return nil, nil, err
		}
	}
	return r, doc, nil
}

// issuePaper issues r's paper under its derived id; a retry answers the paper already issued. The
// paper of a reference that waits for review is issued already revoked with the reason, in the one
// insert, so it is never valid, not even for a moment.
func (rf *References) issuePaper(ctx context.Context, r *Reference) (*documents.Document, error) {
	d := documents.Draft{ID: r.DocumentID, Type: r.DocumentType, Subject: r.subject(),
		Issuer:  documents.Issuer{UserID: r.IssuedBy, Name: r.IssuedByName, Unit: r.Unit, UnitName: rf.Territories.UnitName(ctx, r.Unit)},
		Content: r.content()}
	if r.ReviewRequired {
		d.RevokeReason = r.revokeReason()
	}
	return rf.Documents.Issue(ctx, d)
}

// adopt makes r the decision its paper states. The paper is issued before the reference is
// stored, so when an earlier attempt stopped in between, the paper already exists with the
// decision of that attempt: it is numbered and signed (and on a tablet's printout for an offline
// one), so it is the decision, even if the situation changed since. A paper of another request
// that reused the id is a conflict.
func (r *Reference) adopt(doc *documents.Document) error {
	var c referenceContent
	if err := json.Unmarshal(doc.Content, &c); err != nil {
		return domain.Internal("reference content", err)
	}
	mine := r.content()
	sameProducts := (len(c.Products) == 0 && len(mine.Products) == 0) || reflect.DeepEqual(c.Products, mine.Products)
	if c.Reference != r.ID || c.Purpose != mine.Purpose || c.Destination != mine.Destination ||
		c.Examination != mine.Examination || c.Offline != mine.Offline || !sameProducts ||
		doc.Subject.Territory != r.Territory || doc.Subject.OwnerIIN != r.OwnerIIN {
		return &domain.Error{Code: domain.ECONFLICT, Field: "id", Key: "_id",
			Message: "this id names another reference; generate a new id for a new reference"}
	}
	r.Outcome, r.DocumentType = c.Result, doc.Type
	r.Grounds, r.Animals, r.Checked = c.Grounds, c.Animals, c.Checked
	if r.Grounds == nil {
		r.Grounds = []Ground{}
	}
	if r.Animals == nil {
		r.Animals = []ReferenceAnimal{}
	}
	if r.Checked == nil {
		r.Checked = []SituationCheck{}
	}
	r.AppliedAt, r.IssuedAt, r.IssuedAtMS = c.AppliedAt.UTC(), c.DecidedAt.UTC(), c.DecidedAt.UnixMilli()
	r.ReviewRequired, r.ReviewOpen = c.ReviewRequired, c.ReviewRequired
	r.IssuedBy, r.IssuedByName, r.Unit = doc.Issuer.UserID, doc.Issuer.Name, doc.Issuer.Unit
	r.Late = domain.CivilDateOf(r.IssuedAt) != domain.CivilDateOf(r.AppliedAt)
	return nil
}

// revokeReason is what a buyer scanning a reference under review reads.
func (r *Reference) revokeReason() string {
	kk, ru := r.Grounds[0].TextKK, r.Grounds[0].TextRU
	s := fmt.Sprintf("Анықтама байланыссыз берілген (%s), тексеруден өтпеді: %s Аудандық ветеринариялық қызмет қарайды. / "+
		"Справка выдана без связи (%s) и не прошла проверку: %s Передана на рассмотрение районной ветслужбы.",
		r.IssuedAt.In(domain.Almaty).Format("02.01.2006 15:04"), kk, r.IssuedAt.In(domain.Almaty).Format("02.01.2006 15:04"), ru)
	if utf8.RuneCountInString(s) > documents.MaxRevokeReason {
		s = string([]rune(s)[:documents.MaxRevokeReason-1]) + "…"
	}
	return s
}

// change applies edit with CAS retries; edit returns false when there is nothing to change.
func (rf *References) change(ctx context.Context, id string, edit func(*Reference) bool) (*Reference, error) {
	var r *Reference
	err := domain.RetryCAS(ctx, func() error {
		var err error
		if r, err = rf.load(ctx, id); err != nil || !edit(r) {
			return err
		}
		return domain.UpdateEntity(ctx, rf.Store, ReferencesSpec.Name, r, r.scope())
	}, "the reference is changing concurrently; try again")
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (rf *References) load(ctx context.Context, id string) (*Reference, error) {
	return domain.GetEntity[Reference](ctx, rf.Store, ReferencesSpec.Name, id)
}

// Get returns the reference with id if by may see it (staff of its territory, its owner, admins);
// otherwise ENOTFOUND.
func (rf *References) Get(ctx context.Context, by domain.Principal, id string) (*Reference, error) {
	r, err := rf.load(ctx, id)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !by.CanSeeOwned(r.Territory, r.OwnerIIN)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such reference")
	}
	return r, err
}

// subject is what the paper is about: the animal when there is one identified animal, else the
// application itself with the holding's name.
func (r *Reference) subject() documents.Subject {
	if len(r.Animals) == 1 && len(r.Products) == 0 && r.Animals[0].ID != "" {
		a := r.Animals[0]
		return documents.Subject{Kind: documents.SubjectAnimal, ID: a.ID, Tag: a.Tag, Species: string(a.Species), OwnerIIN: r.OwnerIIN, Territory: r.Territory}
	}
	name := r.HoldingName
	if len(name) > 100 {
		name = string([]rune(name)[:60])
	}
	return documents.Subject{Kind: documents.SubjectApplicant, ID: r.ID, Name: name, OwnerIIN: r.OwnerIIN, Territory: r.Territory}
}
