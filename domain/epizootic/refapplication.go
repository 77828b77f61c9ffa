package epizootic

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/identification"
)

// Application statuses.
const (
	AppPending = "pending"
	AppIssued  = "issued"
	AppRefused = "refused"
)

// ReferenceApplication is a farmer's application for a reference for their own animals or
// products. It waits in the queue of the vets of the holding's territory, who examine the animals
// and decide; the decision is a Reference, whose time of application is the application's.
type ReferenceApplication struct {
	domain.Meta
	HoldingID   string             `json:"holding_id"`
	Territory   domain.Kato        `json:"territory"`
	OwnerIIN    domain.IIN         `json:"owner_iin"`
	AnimalIDs   []string           `json:"animal_ids"`
	Products    []ReferenceProduct `json:"products"`
	Purpose     ReferencePurpose   `json:"purpose"`
	Destination string             `json:"destination"`
	AppliedAt   time.Time          `json:"applied_at"`
	AppliedBy   string             `json:"applied_by"`
	Status      string             `json:"status"`
	ReferenceID string             `json:"reference_id,omitempty"`
	// DecidingReferenceID claims a pending application for the decision that will issue that
	// reference (by DecidingBy), so two vets cannot both decide it.
	DecidingReferenceID string     `json:"deciding_reference_id,omitempty"`
	DecidingBy          string     `json:"deciding_by,omitempty"`
	DecidedAt           *time.Time `json:"decided_at,omitempty"`
	DecidedBy           string     `json:"decided_by,omitempty"`
	CreateHash          string     `json:"create_hash"`
	AppliedAtMS         int64      `json:"applied_at_ms"`
}

// ReferenceApplicationsSpec declares the applications. Synced to the territory's staff (their
// queue, offline) and to the applicant.
var ReferenceApplicationsSpec = domain.CollectionSpec{
	Name:   "reference_applications",
	Synced: true,
	Indexes: []domain.Index{
		{Name: "refapps_status", Fields: []string{"status", "territory", "applied_at_ms"}},
		{Name: "refapps_owner", Fields: []string{"owner_iin", "applied_at_ms"}},
	},
}

func (a *ReferenceApplication) scope() []string { return domain.OwnedScope(a.Territory, a.OwnerIIN) }

// ReferenceApplications registers farmers' applications and has vets decide them.
type ReferenceApplications struct {
	Store          domain.Store
	Now            domain.Clock
	Identification *identification.Service
	References     *References
}

// NewReferenceApplication is what a farmer gives to apply.
type NewReferenceApplication struct {
	// ID is client-generated (a UUID): a retry answers the same application.
	ID          string
	HoldingID   string
	AnimalIDs   []string
	Products    []ReferenceProduct
	Purpose     ReferencePurpose
	Destination string
}

// Apply registers a farmer's application for their own animals or products.
func (ra *ReferenceApplications) Apply(ctx context.Context, by domain.Principal, in NewReferenceApplication) (*ReferenceApplication, error) {
	if by.Role != domain.RoleFarmer || by.IIN == "" {
		return nil, domain.Errorf(domain.EFORBIDDEN, "farmers apply for references for their own animals; vets issue them directly")
	}
	// The reference's own rules check the common fields, with a placeholder examination.
	probe := NewReference{ID: in.ID, HoldingID: in.HoldingID, Products: in.Products, Purpose: in.Purpose,
		Destination: in.Destination, ExamResult: ExamHealthy}
	for _, id := range in.AnimalIDs {
		probe.Animals = append(probe.Animals, ReferenceAnimalInput{ID: id})
	}
	if err := probe.normalize(); err != nil {
		if e, ok := err.(*domain.Error); ok && e.Field == "animals" {
			e.Field = "animal_ids"
		}
		return nil, err
	}
	if old, err := ra.load(ctx, probe.ID); err == nil {
		return ra.retry(by, old, in)
	} else if !domain.IsCode(err, domain.ENOTFOUND) {
		return nil, err
	}
	// Another farmer's holding or animal is answered as one that does not exist: not found.
	h, err := ra.Identification.Holdings.Get(ctx, by, in.HoldingID)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return nil, &domain.Error{Code: domain.ENOTFOUND, Field: "holding_id", Message: "no holding of yours with this id"}
	} else if err != nil {
		return nil, err
	}
	for i, id := range in.AnimalIDs {
		a, err := ra.Identification.Animals.Get(ctx, by, id)
		switch {
		case domain.IsCode(err, domain.ENOTFOUND):
			return nil, &domain.Error{Code: domain.ENOTFOUND, Field: fmt.Sprintf("animal_ids[%d]", i), Message: "no animal of yours with this id"}
		case err != nil:
			return nil, err
		case a.HoldingID != h.ID:
			return nil, domain.Invalid(fmt.Sprintf("animal_ids[%d]", i), "your animal %s is kept on another holding; apply for each holding apart", a.Tag)
		}
	}
	now := ra.Now().UTC()
	a := &ReferenceApplication{Meta: domain.Meta{ID: probe.ID}, HoldingID: h.ID, Territory: h.Territory, OwnerIIN: h.OwnerIIN,
		AnimalIDs: in.AnimalIDs, Products: probe.Products, Purpose: probe.Purpose, Destination: probe.Destination,
		AppliedAt: now, AppliedBy: by.UserID, Status: AppPending, CreateHash: applicationHash(in), AppliedAtMS: now.UnixMilli()}
	if a.AnimalIDs == nil {
		a.AnimalIDs = []string{}
	}
	if a.Products == nil {
		a.Products = []ReferenceProduct{}
	}
	if err := domain.InsertEntity(ctx, ra.Store, ReferenceApplicationsSpec.Name, a, a.scope()); domain.IsCode(err, domain.ECONFLICT) {
		old, lerr := ra.load(ctx, a.ID)
		if lerr != nil {
			return nil, lerr
		}
		return ra.retry(by, old, in)
	} else if err != nil {
		return nil, err
	}
	return a, nil
}

func applicationHash(in NewReferenceApplication) string {
	sum := sha256.Sum256(domain.MustJSON([]any{in.HoldingID, in.AnimalIDs, in.Products, in.Purpose, in.Destination}))
	return hex.EncodeToString(sum[:])
}

func (ra *ReferenceApplications) retry(by domain.Principal, old *ReferenceApplication, in NewReferenceApplication) (*ReferenceApplication, error) {
	if old.OwnerIIN != by.IIN || old.CreateHash != applicationHash(in) {
		return nil, &domain.Error{Code: domain.ECONFLICT, Field: "id", Key: "_id", Message: "this id names another application; generate a new one"}
	}
	return old, nil
}

func (ra *ReferenceApplications) load(ctx context.Context, id string) (*ReferenceApplication, error) {
	return domain.GetEntity[ReferenceApplication](ctx, ra.Store, ReferenceApplicationsSpec.Name, id)
}

// Get returns the application if by may see it: the applicant, staff of its territory, admins.
func (ra *ReferenceApplications) Get(ctx context.Context, by domain.Principal, id string) (*ReferenceApplication, error) {
	a, err := ra.load(ctx, id)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !by.CanSeeOwned(a.Territory, a.OwnerIIN)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such application")
	}
	return a, err
}

// List pages through the applications by may see, oldest first (the queue's order), optionally of
// one status: a farmer's own, a territory's for staff.
func (ra *ReferenceApplications) List(ctx context.Context, by domain.Principal, status, after string, limit int) ([]*ReferenceApplication, string, error) {
	if status != "" && status != AppPending && status != AppIssued && status != AppRefused {
		return nil, "", domain.Invalid("status", "the status is pending, issued or refused")
	}
	var q domain.Query
	switch {
	case by.Role == domain.RoleFarmer:
		q = domain.Query{Index: "refapps_owner", Eq: []any{string(by.IIN)}, After: after, Limit: limit}
	case status == "":
		return nil, "", domain.Invalid("status", "give the status of the applications to list (pending for the queue)")
	default:
		q = domain.Query{Index: "refapps_status", Eq: []any{status}, After: after, Limit: limit}
		if by.Role.IsStaff() {
			q.From, q.To = domain.TerritoryRange(by.Territory)
		}
	}
	all, next, err := domain.ListEntities[ReferenceApplication](ctx, ra.Store, ReferenceApplicationsSpec.Name, q)
	if err != nil {
		return nil, "", err
	}
	out := all[:0]
	for _, a := range all {
		if by.CanSeeOwned(a.Territory, a.OwnerIIN) && (status == "" || a.Status == status) {
			out = append(out, a)
		}
	}
	return out, next, nil
}

// ApplicationDecision is what the examining vet gives: the id of the reference (a UUID made by the
// tablet, so a retry answers the same one) and the examination.
type ApplicationDecision struct {
	ReferenceID  string
	ExamResult   string
	ExamNote     string
	RefuseReason string
}

// Decide examines an application and issues the reference or a refusal, checked as of the moment
// the farmer applied (and of now). A vet of another territory gets ENOTFOUND.
//
// Two vets may open the same pending application at once, each with a reference id of their own.
// So a decision first claims the application for its reference id (a CAS on the pending record);
// only the decision holding the claim issues, and then sets the final status. Another decision
// finds the claim and is refused (ECONFLICT); a retry of the same decision (same reference id)
// resumes it at whatever step it stopped, and answers the same result.
func (ra *ReferenceApplications) Decide(ctx context.Context, by domain.Principal, id string, d ApplicationDecision) (*ReferenceApplication, *Reference, *documents.Document, error) {
	if by.Role != domain.RoleVet {
		return nil, nil, nil, domain.Errorf(domain.EFORBIDDEN, "only vets decide applications")
	}
	a, err := ra.Get(ctx, by, id)
	if err != nil {
		return nil, nil, nil, err
	}
	refID, err := domain.ParseClientID(d.ReferenceID, "reference_id")
	if err != nil {
		return nil, nil, nil, err
	}
	// An id taken by another reference (of another application, another district) is refused
	// before the application is claimed for it: a claim for a reference that can never be this
	// application's would hold the application for good.
	if old, err := ra.References.load(ctx, refID); err == nil && old.ApplicationID != a.ID {
		return nil, nil, nil, &domain.Error{Code: domain.ECONFLICT, Field: "reference_id", Key: "_id",
			Message: "this reference id is taken; generate a new one"}
	} else if err != nil && !domain.IsCode(err, domain.ENOTFOUND) {
		return nil, nil, nil, err
	}
	if a.Status != AppPending && a.ReferenceID != refID {
		return nil, nil, nil, domain.Errorf(domain.EPRECONDITION, "the application was already decided (%s)", a.Status)
	}
	applied := a.AppliedAt
	in := NewReference{ID: refID, HoldingID: a.HoldingID, Products: a.Products, Purpose: a.Purpose,
		Destination: a.Destination, ExamResult: d.ExamResult, ExamNote: d.ExamNote, RefuseReason: d.RefuseReason,
		AppliedAt: &applied, applicationID: a.ID}
	for _, x := range a.AnimalIDs {
		in.Animals = append(in.Animals, ReferenceAnimalInput{ID: x})
	}
	// A decision that cannot be valid does not claim the application.
	probe := in
	if err := probe.normalize(); err != nil {
		return nil, nil, nil, err
	}
	if a.Status == AppPending {
		if a, err = ra.claim(ctx, id, refID, by); err != nil {
			return nil, nil, nil, err
		}
	}
	ref, doc, err := ra.References.Issue(ctx, by, in)
	if err != nil {
		if a.Status == AppPending && (domain.IsCode(err, domain.EINVALID) || domain.IsCode(err, domain.ENOTFOUND) || domain.IsCode(err, domain.EFORBIDDEN)) {
			ra.release(ctx, id, refID)
		}
		return nil, nil, nil, err
	}
	var cur *ReferenceApplication
	err = domain.RetryCAS(ctx, func() error {
		var err error
		if cur, err = ra.load(ctx, id); err != nil {
			return err
		}
		if cur.Status != AppPending {
			if cur.ReferenceID != ref.ID {
				return domain.Errorf(domain.ECONFLICT, "the application was decided by another reference meanwhile")
			}
			return nil
		}
		if cur.DecidingReferenceID != ref.ID {
			return domain.Errorf(domain.ECONFLICT, "another vet is deciding this application")
		}
		now := ra.Now().UTC()
		cur.Status, cur.ReferenceID, cur.DecidedAt, cur.DecidedBy = AppIssued, ref.ID, &now, ref.IssuedBy
		if ref.Outcome == RefRefused {
			cur.Status = AppRefused
		}
		return domain.UpdateEntity(ctx, ra.Store, ReferenceApplicationsSpec.Name, cur, cur.scope())
	}, "the application is changing concurrently; try again")
	if err != nil {
		return nil, nil, nil, err
	}
	return cur, ref, doc, nil
}

// claim reserves a pending application for the decision that will issue reference refID. The
// claim is a field of its own, not ReferenceID: until the reference exists, no record names it.
func (ra *ReferenceApplications) claim(ctx context.Context, id, refID string, by domain.Principal) (*ReferenceApplication, error) {
	var cur *ReferenceApplication
	err := domain.RetryCAS(ctx, func() error {
		var err error
		if cur, err = ra.load(ctx, id); err != nil {
			return err
		}
		switch {
		case cur.Status != AppPending:
			if cur.ReferenceID == refID {
				return nil // this very decision finished meanwhile
			}
			return domain.Errorf(domain.EPRECONDITION, "the application was already decided (%s)", cur.Status)
		case cur.DecidingReferenceID == refID:
			return nil // a retry: resume
		case cur.DecidingReferenceID != "":
			return &domain.Error{Code: domain.ECONFLICT, Field: "reference_id",
				Message: "another vet is deciding this application; reload it"}
		}
		cur.DecidingReferenceID, cur.DecidingBy = refID, by.UserID
		return domain.UpdateEntity(ctx, ra.Store, ReferenceApplicationsSpec.Name, cur, cur.scope())
	}, "the application is changing concurrently; try again")
	if err != nil {
		return nil, err
	}
	return cur, nil
}

// release gives up the claim of a decision the references refused before issuing anything (an
// input error), so the application goes back to the queue. It is best effort: a claim that stays
// only means the same decision must be retried, corrected, to finish.
func (ra *ReferenceApplications) release(ctx context.Context, id, refID string) {
	if _, err := ra.References.load(ctx, refID); !domain.IsCode(err, domain.ENOTFOUND) {
		return // the reference exists (or the store fails): keep the claim
	}
	if _, err := ra.References.Documents.Get(ctx, domain.DerivedID("reference-document", refID)); !domain.IsCode(err, domain.ENOTFOUND) {
		return // its paper exists: only this decision may finish it
	}
	cur, err := ra.load(ctx, id)
	if err != nil || cur.Status != AppPending || cur.DecidingReferenceID != refID {
		return
	}
	cur.DecidingReferenceID, cur.DecidingBy = "", ""
	_ = domain.UpdateEntity(ctx, ra.Store, ReferenceApplicationsSpec.Name, cur, cur.scope())
}
