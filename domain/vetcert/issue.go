package vetcert

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/cases"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/inspection"
	"github.com/vetfield/vetfield/domain/lifecycle"
)

// Inspection is what the inspector found on the objects and the vehicle.
type Inspection struct {
	Vehicle      string `json:"vehicle"`
	VehicleState string `json:"vehicle_state"`
	Seal         string `json:"seal,omitempty"`
	ObjectsState string `json:"objects_state"`
	// MovementID is the movement of the animals the certificate covers, when dispatched: its
	// receipt closes the certificate.
	MovementID string `json:"movement_id,omitempty"`
}

// Basis is what a certificate rests on, re-read at its issue.
type Basis struct {
	References []string                    `json:"references,omitempty"`
	Animals    []epizootic.ReferenceAnimal `json:"animals,omitempty"`
	Species    []domain.Species            `json:"species,omitempty"`
	RegNumber  string                      `json:"reg_number,omitempty"`
	Conclusion string                      `json:"conclusion,omitempty"`
	Checked    []epizootic.SituationCheck  `json:"checked"`
}

// Grounds checks what the certificate of case c would rest on at now: references issued, their
// papers valid and not expired; the producing object's number and a valid conclusion of
// conformity; the epizootic situation at the origin and (domestic) the destination; an export of
// products under a restriction. It answers the basis and the grounds against it, each a sentence.
func (s *Service) Grounds(ctx context.Context, c *cases.Case, now time.Time) (Basis, []string, error) {
	var app Application
	c.GetData("application", &app)
	b := Basis{Checked: []epizootic.SituationCheck{}}
	var grounds []string
	admin := domain.Principal{Role: domain.RoleAdmin}
	validity := s.ReferenceValidity
	if validity == 0 {
		validity = lifecycle.DefaultReferenceValidity
	}
	switch app.Consignment {
	case ConsignAnimals:
		for _, id := range app.ReferenceIDs {
			ref, err := s.References.Get(ctx, admin, id)
			if err != nil {
				return b, nil, err
			}
			b.References = append(b.References, ref.DocumentNumber)
			b.Animals = append(b.Animals, ref.Animals...)
			for _, a := range ref.Animals {
				if a.Species != "" && !slices.Contains(b.Species, a.Species) {
					b.Species = append(b.Species, a.Species)
				}
			}
			if ref.Outcome != epizootic.RefIssued || ref.ReviewOpen {
				grounds = append(grounds, fmt.Sprintf("the reference %s was not issued", ref.DocumentNumber))
				continue
			}
			doc, err := s.Documents.Get(ctx, ref.DocumentID)
			if err != nil {
				return b, nil, err
			}
			switch {
			case doc.Status != documents.DocValid:
				grounds = append(grounds, fmt.Sprintf("the reference %s is %s", doc.Number, doc.Status))
			case !now.Before(ref.IssuedAt.Add(validity)):
				grounds = append(grounds, fmt.Sprintf("the reference %s expired on %s", doc.Number,
					ref.IssuedAt.Add(validity).In(domain.Almaty).Format("02.01.2006 15:04")))
			}
		}
	default:
		obj, err := s.Objects.Get(ctx, admin, app.ObjectID)
		if err != nil {
			return b, nil, err
		}
		b.RegNumber = obj.RegNumber
		if obj.RegNumber == "" {
			grounds = append(grounds, "the producing object has no registration number")
		}
		conclusion, err := s.conclusion(ctx, obj)
		if err != nil {
			return b, nil, err
		}
		if conclusion == nil {
			grounds = append(grounds, "the producing object has no valid veterinary-sanitary conclusion of conformity")
		} else {
			b.Conclusion = conclusion.Number
		}
	}
	places := []domain.Kato{c.Territory}
	if !app.Export {
		places = append(places, domain.Kato(app.DestinationTerritory))
	}
	for _, t := range places {
		if app.Consignment == ConsignAnimals {
			check, gs, err := s.References.CheckSituation(ctx, t, now, "certificate", b.Species)
			if err != nil {
				return b, nil, err
			}
			b.Checked = append(b.Checked, check)
			for _, g := range gs {
				grounds = append(grounds, g.TextRU)
			}
			continue
		}
		in, err := s.Restriction.InForce(ctx, t, now)
		if err != nil {
			return b, nil, err
		}
		for _, r := range in {
			for _, p := range app.Products {
				if app.Consignment == ConsignProducts && r.ConcernsProduct(p.Kind, p.Species) {
					grounds = append(grounds, strings.TrimSpace(r.Cite("ru"))+": "+p.Kind.Name("ru"))
				}
			}
		}
	}
	return b, grounds, nil
}

// conclusion is the object's newest valid conclusion of conformity from service 1, or nil.
func (s *Service) conclusion(ctx context.Context, obj *inspection.ProductionObject) (*documents.Document, error) {
	list, _, err := s.Inspections.List(ctx, domain.Principal{Role: domain.RoleAdmin}, inspection.InspectionFilter{ObjectID: obj.ID, Limit: 20})
	if err != nil {
		return nil, err
	}
	for _, in := range list {
		if in.State != inspection.InspConcluded || in.Decision == nil || in.Decision.Outcome != inspection.OutcomeConformity {
			continue
		}
		doc, err := s.Documents.Get(ctx, in.Decision.ConclusionID)
		if err == nil && doc.Status == documents.DocValid {
			return doc, nil
		}
	}
	return nil, nil
}

// inspect records the inspection of the objects and the vehicle, re-checks what the certificate
// rests on and issues it. Anything found against it is 409 with the grounds: the inspector then
// refuses with a motivated refusal citing them.
func (s *Service) inspect(ctx context.Context, r *cases.Run) error {
	var in Inspection
	if err := r.DecodeData(&in); err != nil {
		return err
	}
	var err error
	if in.Vehicle, err = domain.TrimmedText(in.Vehicle, "data.vehicle", 20, false); err != nil {
		return err
	}
	if in.Seal, err = domain.TrimmedText(in.Seal, "data.seal", 60, true); err != nil {
		return err
	}
	for field, v := range map[string]string{"data.vehicle_state": in.VehicleState, "data.objects_state": in.ObjectsState} {
		if v != StateSatisfactory && v != StateUnsatisfactory {
			return domain.Invalid(field, "the state is satisfactory or unsatisfactory")
		}
	}
	if in.VehicleState != StateSatisfactory || in.ObjectsState != StateSatisfactory {
		return domain.Errorf(domain.EPRECONDITION, "the vehicle or the objects are not in a satisfactory state: refuse with a motivated refusal citing it")
	}
	var app Application
	r.Case.GetData("application", &app)
	var lab LabAct
	r.Case.GetData("lab_act", &lab)
	basis, grounds, err := s.Grounds(ctx, r.Case, r.Now)
	if err != nil {
		return err
	}
	offline := !r.SyncedAt.IsZero()
	if offline {
		// Issued on a tablet offline: checked at the tablet's time and again at sync, as a
		// reference is. What either would refuse is kept, its paper issued already revoked.
		_, atSync, err := s.Grounds(ctx, r.Case, r.SyncedAt)
		if err != nil {
			return err
		}
		for _, g := range atSync {
			if !slices.Contains(grounds, g) {
				grounds = append(grounds, g)
			}
		}
	} else if len(grounds) > 0 {
		return domain.Errorf(domain.EPRECONDITION, "the certificate cannot be issued: %s; refuse with a motivated refusal citing it", strings.Join(grounds, "; "))
	}
	if in.MovementID != "" {
		if app.Consignment != ConsignAnimals {
			return domain.Invalid("data.movement_id", "only a certificate for animals covers a movement")
		}
		m, err := s.Movements.Get(ctx, r.Principal, in.MovementID)
		if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !slices.Contains(app.ReferenceIDs, m.ReferenceID)) {
			return domain.Invalid("data.movement_id", "no movement under the certificate's references with this id")
		} else if err != nil {
			return err
		}
		if m.Status == lifecycle.MovementCancelled {
			return domain.Invalid("data.movement_id", "the movement was cancelled")
		}
	}
	tests := make([]string, 0, len(lab.Tests))
	for _, t := range lab.Tests {
		tests = append(tests, t.Name+": "+t.Result)
	}
	destination := app.Destination
	if app.Export {
		destination = strings.TrimSpace(app.Country + " " + app.Destination)
	}
	supersedes := ""
	if app.Supersedes != "" && len(grounds) == 0 {
		if old, err := s.Documents.Get(ctx, app.Supersedes); err == nil && old.Status == documents.DocValid {
			supersedes = old.ID
		}
	}
	revoke := ""
	if offline && len(grounds) > 0 {
		revoke = revokeReason(r.Now, grounds)
	}
	draft := documents.Draft{Type: documents.DocCertificate, ID: domain.DerivedID("case", r.Case.ID, "certificate"),
		Supersedes: supersedes, RevokeReason: revoke,
		Subject: documents.Subject{Kind: documents.SubjectCase, ID: r.Case.ID, Name: r.Case.Subject.Name, RegNumber: basis.RegNumber,
			OwnerIIN: r.Case.Applicant.IIN, Territory: r.Case.Territory},
		Issuer: documents.Issuer{UserID: r.Principal.UserID, Name: r.ActorName, Unit: domain.Kato(domain.AreaOf(r.Case.Territory).District)},
		Content: map[string]any{
			"service":        Regulation,
			"application":    r.Case.Registration.Number,
			"consignment":    app.Consignment,
			"export_country": app.Country,
			"destination":    destination,
			"references":     basis.References,
			"identification": basis.Animals,
			"products":       app.Products,
			"reg_number":     basis.RegNumber,
			"conclusion":     basis.Conclusion,
			"laboratory":     lab.Laboratory,
			"lab_act":        lab.ActNumber + " (" + lab.ActDate.String() + ")",
			"lab_tests":      tests,
			"vehicle_plate":  in.Vehicle,
			"seal":           in.Seal,
			"checked":        basis.Checked,
		}}
	if offline {
		// Issued on a tablet: the paper says so, and when by its clock; one the checks refuse
		// says it waits for review (and is issued already revoked).
		content := draft.Content.(map[string]any)
		content["offline"], content["decided_at"] = true, r.Now.UTC()
		if len(grounds) > 0 {
			content["review_required"] = true
		}
	}
	doc, err := r.Adopt(ctx, draft)
	if err != nil {
		return err
	}
	if err := s.writeCertificate(ctx, r, app, in, doc, grounds); err != nil {
		return err
	}
	r.Record["vehicle"], r.Record["vehicle_state"], r.Record["objects_state"] = in.Vehicle, in.VehicleState, in.ObjectsState
	if in.Seal != "" {
		r.Record["seal"] = in.Seal
	}
	if in.MovementID != "" {
		r.Record["movement_id"] = in.MovementID
		r.Case.SetData("movement_id", in.MovementID)
	}
	r.Record["certificate"] = doc.Number
	if supersedes != "" {
		r.After = append(r.After, func(ctx context.Context) error { return s.Documents.MarkSuperseded(ctx, supersedes, doc) })
	}
	r.Results = append(r.Results, cases.Result{Type: string(doc.Type), ID: doc.ID, Number: doc.Number})
	return nil
}

// Certificate statuses, beside the paper's own (valid, superseded, revoked).
const (
	StatusOpen   = "open"
	StatusClosed = "closed"
)

// Status says whether the certificate of case c is closed: the movement it covers was received.
// It reads the movement rather than keeping a copy of its state, so the receipt closes it at once
// and lifecycle needs no hook.
func (s *Service) Status(ctx context.Context, c *cases.Case) (string, error) {
	var id string
	if !c.GetData("movement_id", &id) || id == "" {
		return StatusOpen, nil
	}
	m, err := s.Movements.Get(ctx, domain.Principal{Role: domain.RoleAdmin}, id)
	if err != nil {
		return "", err
	}
	if m.Status == lifecycle.MovementReceived {
		return StatusClosed, nil
	}
	return StatusOpen, nil
}
