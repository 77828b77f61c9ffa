package inspection

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
)

// Limits of an application's text.
const (
	MaxApplicationDocs = 30
	MaxDocName         = 300
	MaxChecklistItems  = 200
	MaxItemPhotos      = 20
	MaxActPhotos       = 200
	MaxLongText        = 4000
)

// NewApplication is an application registered by the office.
type NewApplication struct {
	// ID, when set (a UUID made by the tablet), makes registering idempotent.
	ID       string
	ObjectID string
	// ApplicantIIN defaults to the object's owner.
	ApplicantIIN string
	Applicant    string
	// Documents lists the documents handed in with the application.
	Documents []string
}

// Register accepts and registers an application and answers its receipt. Staff register
// applications for objects in their territory; admins anywhere. created is false when ID names an
// application already registered (a retried request).
func (s *Inspections) Register(ctx context.Context, p domain.Principal, a NewApplication) (in *Inspection, created bool, err error) {
	if !p.Role.IsStaff() && p.Role != domain.RoleAdmin {
		return nil, false, domain.Errorf(domain.EFORBIDDEN, "applications are registered by staff")
	}
	if a.ID != "" {
		if !isCanonicalUUID(a.ID) {
			return nil, false, domain.Invalid("id", "an id made by the client is a UUID")
		}
		// A retry answers the application it registered; an id that names one the caller may
		// not see is answered as not found before anything is written or a number taken.
		old, err := domain.GetEntity[Inspection](ctx, s.Store, InspectionsSpec.Name, a.ID)
		switch {
		case err == nil && old.VisibleTo(p):
			return old, false, nil
		case err == nil:
			return nil, false, domain.Errorf(domain.ENOTFOUND, "no such inspection")
		case !domain.IsCode(err, domain.ENOTFOUND):
			return nil, false, err
		}
	}
	obj, err := s.Objects.Get(ctx, p, a.ObjectID)
	if err != nil {
		if domain.IsCode(err, domain.ENOTFOUND) {
			// Another district's object is answered as one that does not exist.
			return nil, false, &domain.Error{Code: domain.ENOTFOUND, Field: "object_id", Message: "no such production object"}
		}
		return nil, false, err
	}
	docs, err := inspList("documents", a.Documents, 1, MaxApplicationDocs, MaxDocName)
	if err != nil {
		return nil, false, err
	}
	applicant := obj.OwnerIIN
	if a.ApplicantIIN != "" {
		if applicant, err = domain.ParseIIN(a.ApplicantIIN); err != nil {
			return nil, false, domain.Invalid("applicant_iin", "%s", err.(*domain.Error).Message)
		}
	}
	if utf8.RuneCountInString(a.Applicant) > MaxObjectName {
		return nil, false, domain.Invalid("applicant", "an applicant's name has at most %d characters", MaxObjectName)
	}
	now := s.Now().UTC()
	due, err := s.Calendar.DueAfter(ctx, now, 1)
	if err != nil {
		return nil, false, err
	}
	number, err := s.receiptNumber(ctx, obj.Territory, now)
	if err != nil {
		return nil, false, err
	}
	in = &Inspection{Meta: domain.Meta{ID: a.ID}, ObjectID: obj.ID, Territory: obj.Territory, OwnerIIN: obj.OwnerIIN,
		Object:       ObjectSnapshot{Kind: obj.Kind, Name: obj.Name, RegNumber: obj.RegNumber, Address: obj.Address},
		ApplicantIIN: applicant, Applicant: strings.TrimSpace(a.Applicant), Documents: docs,
		Receipt: Receipt{Number: number, RegisteredAt: now, RegisteredBy: p.UserID},
		State:   InspRegistered, Checklist: []ChecklistItem{}, UpdatedAt: now}
	if in.ID == "" {
		in.ID = domain.NewID()
	}
	in.addDeadline(StepAssign, due)
	in.index()
	if err := domain.InsertEntity(ctx, s.Store, InspectionsSpec.Name, in, in.scope()); err != nil {
		if domain.IsCode(err, domain.ECONFLICT) && a.ID != "" {
			old, gerr := s.Get(ctx, p, a.ID)
			return old, false, gerr
		}
		return nil, false, err
	}
	return in, true, nil
}

// receiptNumber numbers applications per year and district: "VSZ-2026-313200-000017".
func (s *Inspections) receiptNumber(ctx context.Context, t domain.Kato, now time.Time) (string, error) {
	year := now.In(domain.Almaty).Year()
	unit := documents.UnitCode(domain.Kato(domain.AreaOf(t).District))
	seq, err := s.Store.Incr(ctx, fmt.Sprintf("receipt:VSZ:%d:%s", year, unit), 1, time.Time{})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("VSZ-%04d-%s-%s", year, unit, domain.ZeroPad(seq, 6)), nil
}
