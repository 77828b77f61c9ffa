package inspection

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
)

// ConclusionContent is what a veterinary-sanitary conclusion states besides its subject: the
// outcome, the violations with their recommendations for a non-conformity, and the photos the act
// relied on with their SHA-256, so the signed paper also pins the evidence.
type ConclusionContent struct {
	Service         string           `json:"service"`
	Outcome         string           `json:"outcome"`
	Application     string           `json:"application"`
	ApplicationDate domain.CivilDate `json:"application_date"`
	ObjectKind      ObjectKind       `json:"object_kind"`
	Address         string           `json:"address"`
	ActDate         domain.CivilDate `json:"act_date"`
	Executor        string           `json:"executor"`
	Violations      []ViolationEntry `json:"violations"`
	Photos          []PhotoEntry     `json:"photos"`
}

// ViolationEntry is one violation as the conclusion lists it.
type ViolationEntry struct {
	Code           string `json:"code"`
	Requirement    string `json:"requirement"`
	Description    string `json:"description"`
	Recommendation string `json:"recommendation"`
}

// PhotoEntry names one photo of the evidence.
type PhotoEntry struct {
	ID     string `json:"id"`
	SHA256 string `json:"sha256"`
}

// Decide records the head's decision and issues the conclusion with its QR code. The outcome must
// agree with the checklist (any violation makes it a non-conformity), and every photo of the
// inspection, and every photo the act or the checklist names, must be in the object store with the
// SHA-256 it was uploaded with; otherwise nothing is decided.
//
// The conclusion is issued first, under an id derived from the application's, and only then does
// the application move to concluded naming it, number and all, in one write: no reader or tablet
// ever sees an application that names a paper that does not exist. A crash in between leaves a
// paper no application names yet; repeating the decision adopts it. Repeating a decision that
// succeeded answers the application as it is.
func (s *Inspections) Decide(ctx context.Context, p domain.Principal, id, outcome string) (*Inspection, error) {
	if err := mustBeHead(p); err != nil {
		return nil, err
	}
	if outcome != OutcomeConformity && outcome != OutcomeNonConformity {
		return nil, domain.Invalid("outcome", "the outcome is conformity or non_conformity")
	}
	cur, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if cur.State == InspConcluded && cur.Decision != nil && cur.Decision.Outcome == outcome {
		if cur.Decision.ConclusionNumber != "" {
			return cur, nil // a retry of a decision that succeeded
		}
		// Recorded before conclusions were issued first: issue it now.
		photos, err := s.evidence(ctx, cur, false)
		if err != nil {
			return nil, err
		}
		doc, err := s.issueConclusion(ctx, p, cur, cur.Decision.ConclusionID, outcome, photos)
		if err != nil {
			return nil, err
		}
		return s.change(ctx, p, id, func(in *Inspection, _ time.Time) error {
			in.Decision.ConclusionNumber = doc.Number
			return nil
		})
	}
	if err := mustBeIn(cur, "decide", InspActSubmitted); err != nil {
		return nil, err
	}
	if err := cur.agrees(outcome); err != nil {
		return nil, err
	}
	photos, err := s.evidence(ctx, cur, true)
	if err != nil {
		return nil, err
	}
	doc, err := s.issueConclusion(ctx, p, cur, inspectionDocID(cur.ID, "conclusion"), outcome, photos)
	if err != nil {
		return nil, err
	}
	var done *Inspection
	in, err := s.change(ctx, p, id, func(in *Inspection, now time.Time) error {
		if in.State == InspConcluded && in.Decision != nil && in.Decision.ConclusionID == doc.ID {
			if in.Decision.ConclusionNumber == "" {
				in.Decision.ConclusionNumber = doc.Number
				return nil
			}
			done = in // a concurrent retry of the same decision stored it first
			return documents.ErrUnchanged
		}
		if err := mustBeIn(in, "decide", InspActSubmitted); err != nil {
			return err
		}
		in.Decision = &Decision{Outcome: outcome, At: now, By: p.UserID, ConclusionID: doc.ID, ConclusionNumber: doc.Number}
		in.done(StepDecision, now)
		in.State = InspConcluded
		return nil
	})
	if err == documents.ErrUnchanged {
		return done, nil
	}
	return in, err
}

// issueConclusion issues the conclusion paper under docID; a paper already issued under it (by an
// attempt that stopped before recording it) is answered if it states the same outcome.
func (s *Inspections) issueConclusion(ctx context.Context, p domain.Principal, in *Inspection, docID, outcome string, photos []*Photo) (*documents.Document, error) {
	decided := *in
	decided.Decision = &Decision{Outcome: outcome}
	doc, err := s.Documents.Issue(ctx, documents.Draft{Type: documents.DocConclusion, ID: docID,
		Subject: in.subject(), Issuer: s.issuer(ctx, p, in), Content: decided.conclusion(photos)})
	if err != nil {
		return nil, err
	}
	var c ConclusionContent
	if err := json.Unmarshal(doc.Content, &c); err != nil {
		return nil, domain.Internal("conclusion content", err)
	}
	if c.Outcome != outcome {
		return nil, domain.Errorf(domain.EPRECONDITION, "conclusion %s was already issued with the outcome %s", doc.Number, c.Outcome)
	}
	return doc, nil
}

// agrees checks the head's outcome against the checklist.
func (in *Inspection) agrees(outcome string) error {
	n := len(in.Violations())
	switch {
	case n > 0 && outcome == OutcomeConformity:
		return domain.Invalid("outcome", "the checklist records %d violation(s): the conclusion is non_conformity", n)
	case n == 0 && outcome == OutcomeNonConformity:
		return domain.Invalid("outcome", "the checklist records no violation: the conclusion is conformity")
	}
	return nil
}

// evidence returns the photos of the inspection after checking that every photo the act and the
// checklist name has been uploaded and, with verify, that each photo's bytes are still in the object
// store as uploaded.
func (s *Inspections) evidence(ctx context.Context, in *Inspection, verify bool) ([]*Photo, error) {
	photos, err := s.Photos.OfInspection(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, ph := range photos {
		have[ph.ID] = true
	}
	for _, id := range in.referencedPhotos() {
		if have[id] {
			continue
		}
		// Its upload may have closed with the record left unwritten: finish it.
		ph, err := s.Photos.recorded(ctx, in.ID, id)
		if domain.IsCode(err, domain.ENOTFOUND) {
			return nil, domain.Errorf(domain.EPRECONDITION, "photo %s, named by the act or the checklist, has not finished uploading", id)
		} else if err != nil {
			return nil, err
		}
		have[id] = true
		photos = append(photos, ph)
	}
	if !verify {
		return photos, nil
	}
	if s.Evidence == nil {
		return nil, domain.Internal("inspections: evidence", errors.New("no evidence checker is wired"))
	}
	for _, ph := range photos {
		if err := s.Evidence.VerifyPhoto(ctx, ph); err != nil {
			return nil, err
		}
	}
	return photos, nil
}

// subject is what the papers of an application are about: the object, as registered.
func (in *Inspection) subject() documents.Subject {
	return documents.Subject{Kind: documents.SubjectObject, ID: in.ObjectID, RegNumber: in.Object.RegNumber, Name: in.Object.Name,
		OwnerIIN: in.OwnerIIN, Territory: in.Territory}
}

// issuer is p, on behalf of the district department of the object's territory.
func (s *Inspections) issuer(ctx context.Context, p domain.Principal, in *Inspection) documents.Issuer {
	name := p.Username
	if u, err := s.Users.Get(ctx, p.UserID); err == nil && u.FullName != "" {
		name = u.FullName
	}
	return documents.Issuer{UserID: p.UserID, Name: name, Unit: domain.Kato(domain.AreaOf(in.Territory).District)}
}

// conclusion is the content of the conclusion paper.
func (in *Inspection) conclusion(photos []*Photo) ConclusionContent {
	c := ConclusionContent{Service: "veterinary-sanitary conclusion (service 1)", Outcome: in.Decision.Outcome,
		Application: in.Receipt.Number, ApplicationDate: domain.CivilDateOf(in.Receipt.RegisteredAt),
		ObjectKind: in.Object.Kind, Address: in.Object.Address,
		Violations: []ViolationEntry{}, Photos: make([]PhotoEntry, 0, len(photos))}
	if in.Act != nil {
		c.ActDate = domain.CivilDateOf(in.Act.At)
	}
	if in.Assignment != nil {
		c.Executor = in.Assignment.ExecutorName
	}
	for _, it := range in.Violations() {
		c.Violations = append(c.Violations, ViolationEntry{Code: it.Code, Requirement: it.Requirement,
			Description: it.Violation.Description, Recommendation: it.Violation.Recommendation})
	}
	for _, ph := range photos {
		c.Photos = append(c.Photos, PhotoEntry{ID: ph.ID, SHA256: ph.SHA256})
	}
	return c
}
