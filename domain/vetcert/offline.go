package vetcert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/cases"
)

// OfflineIssue is a certificate an inspector's tablet issued or refused offline: the application,
// the laboratory act, the inspection of the objects and the vehicle, the outcome, all at the
// tablet's time At.
type OfflineIssue struct {
	// Application is the application as POST /v1/cases takes it; its ID, made by the tablet, is
	// the case's.
	Application cases.Application
	Laboratory  *LabAct
	Inspection  *Inspection
	// Refused says the tablet refused, at step RefusedAt (documents, laboratory or inspection;
	// inspection when empty) with Ground.
	Refused   bool
	RefusedAt string
	Ground    string
	At        time.Time
}

// IssueOffline records a certificate an inspector's tablet issued offline, running the case
// through the engine's steps at the tablet's time (cases.ApplyOffline). What it rests on is
// checked at the tablet's time and again at sync, as a reference is: one that either would
// refuse is kept, its paper issued already revoked with the grounds, flagged review_required and
// listed for the district's review (ListCertificates with Review). A retry answers the same case
// and writes nothing; another request that reuses the id is ECONFLICT.
func (s *Service) IssueOffline(ctx context.Context, p domain.Principal, in OfflineIssue) (*cases.Case, error) {
	if p.Role != domain.RoleSanitaryInspector || p.Territory == "" {
		return nil, domain.Errorf(domain.EFORBIDDEN, "certificates are issued by the state veterinary-sanitary inspectors")
	}
	var err error
	a := in.Application
	if a.Service != Code {
		return nil, domain.Invalid("service", "a certificate issued offline is an application to service %s", Code)
	}
	if a.ID, err = domain.ParseClientID(a.ID, "id"); err != nil {
		return nil, err
	}
	steps, err := offlineSteps(in)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(domain.MustJSON([]any{a.ApplicantIIN, a.ApplicantName, a.Representative, a.Documents, a.Data,
		in.Laboratory, in.Inspection, in.Refused, in.RefusedAt, in.Ground, in.At.UTC()}))
	hash := hex.EncodeToString(sum[:])
	taken := &domain.Error{Code: domain.ECONFLICT, Field: "id", Key: "_id", Message: "this id names another case; generate a new id for a new certificate"}
	if old, err := s.Cases.Get(ctx, domain.Principal{Role: domain.RoleAdmin}, a.ID); err == nil {
		if !old.VisibleTo(p) || old.Offline == nil || old.Offline.Request != hash {
			return nil, taken
		}
		return old, nil
	} else if !domain.IsCode(err, domain.ENOTFOUND) {
		return nil, err
	}
	c, _, err := s.Cases.ApplyOffline(ctx, p, a, cases.Offline{At: in.At, Request: hash, Steps: steps})
	if err != nil {
		return nil, err
	}
	if c.Offline == nil || c.Offline.Request != hash {
		return nil, taken // a concurrent request with another body stored the id first
	}
	return c, nil
}

// offlineSteps are the steps the tablet did after the registration, checked for what each needs.
func offlineSteps(in OfflineIssue) ([]cases.OfflineStep, error) {
	at := in.RefusedAt
	switch {
	case !in.Refused && at != "":
		return nil, domain.Invalid("refused_at", "only a refusal names the step it was made at")
	case !in.Refused && in.Ground != "":
		return nil, domain.Invalid("ground", "a certificate issued has no ground of refusal")
	case in.Refused && at == "":
		at = "inspection"
	}
	if in.Refused && at != "documents" && at != "laboratory" && at != "inspection" {
		return nil, domain.Invalid("refused_at", "a certificate is refused at documents, laboratory or inspection")
	}
	refusal := cases.StepInput{Refuse: true, Ground: in.Ground}
	steps := []cases.OfflineStep{{Name: "documents"}}
	if at == "documents" {
		steps[0].Input = refusal
		return steps, nil
	}
	if at == "laboratory" {
		return append(steps, cases.OfflineStep{Name: "laboratory", Input: refusal}), nil
	}
	if in.Laboratory == nil {
		return nil, domain.Invalid("laboratory", "give the laboratory act the certificate rests on")
	}
	steps = append(steps, cases.OfflineStep{Name: "laboratory", Field: "laboratory", Input: cases.StepInput{Data: domain.MustJSON(in.Laboratory)}})
	if in.Refused {
		return append(steps, cases.OfflineStep{Name: "inspection", Input: refusal}), nil
	}
	if in.Inspection == nil {
		return nil, domain.Invalid("inspection", "give the inspection of the objects and the vehicle")
	}
	return append(steps,
		cases.OfflineStep{Name: "inspection", Field: "inspection", Input: cases.StepInput{Data: domain.MustJSON(in.Inspection)}},
		cases.OfflineStep{Name: "hand_over", Input: cases.StepInput{HandOver: cases.HandInPerson}}), nil
}
