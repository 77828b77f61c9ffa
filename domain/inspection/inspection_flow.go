package inspection

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
)

// The steps of service 1 after registration; see inspection.go for the whole path.

// Assign names the executor: a vet or inspector whose territory covers the object. Only the head
// assigns; a new assignment replaces the old one while the documents are not yet checked.
func (s *Inspections) Assign(ctx context.Context, p domain.Principal, id, executorID string) (*Inspection, error) {
	if err := mustBeHead(p); err != nil {
		return nil, err
	}
	u, err := s.Users.Get(ctx, executorID)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && u.Disabled) {
		return nil, domain.Invalid("executor_id", "no such active account")
	} else if err != nil {
		return nil, err
	}
	return s.change(ctx, p, id, func(in *Inspection, now time.Time) error {
		if err := mustBeIn(in, "assign an executor", InspRegistered, InspAssigned); err != nil {
			return err
		}
		if !u.Role.IsStaff() || !u.Principal().CanSeeTerritory(in.Territory) {
			return domain.Invalid("executor_id", "the executor must be a vet or inspector whose territory covers %s", in.Territory)
		}
		name := u.FullName
		if name == "" {
			name = u.Username
		}
		in.Assignment = &Assignment{ExecutorID: u.ID, ExecutorName: name, At: now, By: p.UserID}
		if in.State == InspRegistered {
			// "The same day": the executor checks the documents by the end of the day they got them.
			due, err := s.Calendar.DueAfter(ctx, now, 0)
			if err != nil {
				return err
			}
			in.done(StepAssign, now)
			in.addDeadline(StepCompleteness, due)
		}
		in.State = InspAssigned
		return nil
	})
}

// CompletenessCheck is the executor's finding on the documents handed in.
type CompletenessCheck struct {
	Complete bool
	// Missing lists what is missing; Ground is the refusal's ground as the paper states it.
	Missing []string
	Ground  string
}

// CheckCompleteness records the executor's check. Complete documents start the three working days
// of the visit; incomplete ones end the application with a motivated refusal citing the ground.
// Repeating a finding that was recorded answers the application as it is; repeating an incomplete
// finding after a failure finishes issuing the same refusal.
//
// The refusal is issued first, under an id derived from the application's, and only then does the
// application move to refused naming it, number and all, in one write: no reader or tablet ever
// sees a RefusalID that names no document. A crash in between leaves a refusal no application
// names yet: repeating the incomplete finding adopts it (its ground is the paper's), and a
// complete finding is refused while it exists.
func (s *Inspections) CheckCompleteness(ctx context.Context, p domain.Principal, id string, c CompletenessCheck) (*Inspection, error) {
	var ground string
	var missing []string
	if !c.Complete {
		var err error
		if ground, err = inspText("ground", c.Ground, 1, MaxLongText); err != nil {
			return nil, err
		}
		if missing, err = inspList("missing", c.Missing, 0, MaxApplicationDocs, MaxDocName); err != nil {
			return nil, err
		}
	}
	cur, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := mustBeExecutor(p, cur); err != nil {
		return nil, err
	}
	if done := cur.Completeness; done != nil && done.Complete == c.Complete {
		switch {
		case c.Complete && cur.State != InspAssigned:
			return cur, nil // a retry of a complete finding that was recorded
		case !c.Complete && cur.State == InspRefused && done.RefusalNumber != "":
			return cur, nil // a retry of a refusal that was issued
		case !c.Complete && cur.State == InspRefused:
			// Recorded before refusals were issued first: issue it now.
			doc, err := s.issueRefusal(ctx, p, cur, done.RefusalID, done.Ground, done.Missing)
			if err != nil {
				return nil, err
			}
			return s.change(ctx, p, id, func(in *Inspection, _ time.Time) error {
				in.Completeness.RefusalNumber = doc.Number
				return nil
			})
		}
	}
	if err := mustBeIn(cur, "check completeness", InspAssigned); err != nil {
		return nil, err
	}
	refusalID := inspectionDocID(cur.ID, "refusal")
	if c.Complete {
		return s.change(ctx, p, id, func(in *Inspection, now time.Time) error {
			if err := mustBeExecutor(p, in); err != nil {
				return err
			}
			if err := mustBeIn(in, "check completeness", InspAssigned); err != nil {
				return err
			}
			if doc, err := s.Documents.Get(ctx, refusalID); err == nil {
				return domain.Errorf(domain.EPRECONDITION, "the motivated refusal %s was already issued for this application: "+
					"repeat the incomplete finding to finish recording it", doc.Number)
			} else if !domain.IsCode(err, domain.ENOTFOUND) {
				return err
			}
			in.Completeness = &Completeness{Complete: true, At: now, By: p.UserID}
			in.done(StepCompleteness, now)
			actDue, err := s.Calendar.DueAfter(ctx, now, 3)
			if err != nil {
				return err
			}
			// The visit may be on the last of the three days at the latest, and the notice must be
			// a day before it: so the notice is due by the start of that last day.
			in.addDeadline(StepNotice, domain.CivilDateOf(actDue).AddDays(-1).Start())
			in.addDeadline(StepAct, actDue)
			in.State = InspAccepted
			return nil
		})
	}
	doc, err := s.issueRefusal(ctx, p, cur, refusalID, ground, missing)
	if err != nil {
		return nil, err
	}
	// The paper states the ground: an earlier attempt's paper keeps its own.
	var paper struct {
		Ground  string   `json:"ground"`
		Missing []string `json:"missing"`
	}
	if err := json.Unmarshal(doc.Content, &paper); err != nil {
		return nil, domain.Internal("refusal content", err)
	}
	var done *Inspection
	in, err := s.change(ctx, p, id, func(in *Inspection, now time.Time) error {
		if err := mustBeExecutor(p, in); err != nil {
			return err
		}
		if in.State == InspRefused && in.Completeness != nil && in.Completeness.RefusalID == doc.ID {
			if in.Completeness.RefusalNumber == "" {
				in.Completeness.RefusalNumber = doc.Number
				return nil
			}
			done = in // a concurrent retry stored it first
			return documents.ErrUnchanged
		}
		if err := mustBeIn(in, "check completeness", InspAssigned); err != nil {
			return err
		}
		in.Completeness = &Completeness{Complete: false, Missing: paper.Missing, Ground: paper.Ground, At: now, By: p.UserID,
			RefusalID: doc.ID, RefusalNumber: doc.Number}
		if in.Completeness.Missing == nil {
			in.Completeness.Missing = []string{}
		}
		in.done(StepCompleteness, now)
		in.State = InspRefused
		in.dropPending()
		return nil
	})
	if err == documents.ErrUnchanged {
		return done, nil
	}
	if domain.IsCode(err, domain.EPRECONDITION) && !s.names(ctx, p, id, doc.ID) {
		// A complete finding was recorded between issuing the refusal and recording it: the
		// refusal never took effect, so it must not stay genuine.
		s.withdraw(ctx, doc, p.UserID, "the documents were found complete at the same time; this refusal never took effect")
	}
	return in, err
}

// names reports whether the application id names document docID as its refusal or conclusion;
// true when it cannot tell, so nothing is withdrawn on a doubt.
func (s *Inspections) names(ctx context.Context, p domain.Principal, id, docID string) bool {
	in, err := s.Get(ctx, p, id)
	if err != nil {
		return true
	}
	return (in.Completeness != nil && in.Completeness.RefusalID == docID) || (in.Decision != nil && in.Decision.ConclusionID == docID)
}

// withdraw revokes a paper no application will name, best effort: the failed request's own error
// is what the caller needs.
func (s *Inspections) withdraw(ctx context.Context, doc *documents.Document, by, reason string) {
	_ = s.Documents.ChangeStatus(ctx, doc.ID, func(d *documents.Document) error {
		if d.Status != documents.DocValid {
			return documents.ErrUnchanged
		}
		now := s.Now().UTC()
		d.Status, d.RevokedAt, d.RevokedBy, d.RevokeReason = documents.DocRevoked, &now, by, reason
		return nil
	})
}

// issueRefusal issues the motivated refusal of an application whose documents are incomplete, under
// docID; a retry answers the paper already issued.
func (s *Inspections) issueRefusal(ctx context.Context, p domain.Principal, in *Inspection, docID, ground string, missing []string) (*documents.Document, error) {
	if missing == nil {
		missing = []string{}
	}
	return s.Documents.Issue(ctx, documents.Draft{
		Type: documents.DocRefusal, ID: docID, Subject: in.subject(),
		Issuer: s.issuer(ctx, p, in),
		Content: map[string]any{
			"service":          "veterinary-sanitary conclusion (service 1)",
			"application":      in.Receipt.Number,
			"application_date": domain.CivilDateOf(in.Receipt.RegisteredAt),
			"ground":           ground,
			"missing":          missing,
		},
	})
}

// NoticeInput is the notice to the legal-statistics body.
type NoticeInput struct {
	Addressee  string
	Reference  string
	PlannedFor domain.CivilDate
}

// RecordNotice records that the legal-statistics body was notified of the inspection planned for a
// day at least one day after today. Recording again (a new date) replaces the notice, until the
// visit starts.
func (s *Inspections) RecordNotice(ctx context.Context, p domain.Principal, id string, n NoticeInput) (*Inspection, error) {
	addressee, err := inspText("addressee", n.Addressee, 1, MaxDocName)
	if err != nil {
		return nil, err
	}
	reference, err := inspText("reference", n.Reference, 1, 100)
	if err != nil {
		return nil, err
	}
	if n.PlannedFor.IsZero() {
		return nil, domain.Invalid("planned_for", "give the day the inspection is planned for")
	}
	return s.change(ctx, p, id, func(in *Inspection, now time.Time) error {
		if err := mustBeExecutor(p, in); err != nil {
			return err
		}
		if err := mustBeIn(in, "record the notice", InspAccepted); err != nil {
			return err
		}
		if earliest := domain.CivilDateOf(now).AddDays(1); n.PlannedFor.Compare(earliest) < 0 {
			return domain.Invalid("planned_for", "the legal-statistics body is notified at least one day before the inspection: "+
				"notified today, the inspection can be planned for %s at the earliest", earliest)
		}
		in.Notice = &Notice{Addressee: addressee, Reference: reference, PlannedFor: n.PlannedFor, At: now, By: p.UserID}
		in.done(StepNotice, now)
		return nil
	})
}

// Start records that the executor began the inspection on site, with the tablet's GPS. It is
// refused without a notice, and earlier than the day after the notice or the planned day.
func (s *Inspections) Start(ctx context.Context, p domain.Principal, id string, fix domain.Fix) (*Inspection, error) {
	if fix.GPS == nil {
		return nil, domain.Invalid("gps", "an inspection on site starts with the inspector's position")
	}
	return s.change(ctx, p, id, func(in *Inspection, now time.Time) error {
		if err := mustBeExecutor(p, in); err != nil {
			return err
		}
		if err := mustBeIn(in, "start the inspection", InspAccepted); err != nil {
			return err
		}
		if err := fix.Validate("body", now); err != nil {
			return err
		}
		if in.Notice == nil {
			return domain.Errorf(domain.EPRECONDITION, "the legal-statistics body has not been notified: record the notice first; "+
				"the inspection may start from the day after it")
		}
		noticeDay := domain.CivilDateOf(in.Notice.At)
		from := noticeDay.AddDays(1)
		if in.Notice.PlannedFor.Compare(from) > 0 {
			from = in.Notice.PlannedFor
		}
		if now.Before(from.Start()) {
			return domain.Errorf(domain.EPRECONDITION, "the legal-statistics body was notified on %s for an inspection on %s: "+
				"the inspection may start from %s (Asia/Almaty), at least one day after the notice", noticeDay, in.Notice.PlannedFor, from)
		}
		in.Visit = &Visit{StartedAt: now, By: p.UserID, Fix: fix}
		in.State = InspOnSite
		return nil
	})
}

var itemCodePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)

// SetChecklist replaces the checklist of a visit in progress. Every item is conform, or a violation
// with its description and recommendation.
func (s *Inspections) SetChecklist(ctx context.Context, p domain.Principal, id string, items []ChecklistItem) (*Inspection, error) {
	clean, err := checkItems(items)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, p, id, func(in *Inspection, _ time.Time) error {
		if err := mustBeExecutor(p, in); err != nil {
			return err
		}
		if err := mustBeIn(in, "record the checklist", InspOnSite); err != nil {
			return err
		}
		in.Checklist = clean
		return nil
	})
}

func checkItems(items []ChecklistItem) ([]ChecklistItem, error) {
	if len(items) == 0 || len(items) > MaxChecklistItems {
		return nil, domain.Invalid("items", "a checklist has 1 to %d requirements", MaxChecklistItems)
	}
	out := make([]ChecklistItem, 0, len(items))
	seen := map[string]bool{}
	for i, it := range items {
		f := fmt.Sprintf("items[%d].", i)
		if !itemCodePattern.MatchString(it.Code) {
			return nil, domain.Invalid(f+"code", "a code has 1 to 32 letters, digits, '.', '_' or '-'")
		}
		if seen[it.Code] {
			return nil, domain.Invalid(f+"code", "code %s appears twice", it.Code)
		}
		seen[it.Code] = true
		req, err := inspText(f+"requirement", it.Requirement, 1, MaxDocName*3)
		if err != nil {
			return nil, err
		}
		c := ChecklistItem{Code: it.Code, Requirement: req, Conform: it.Conform}
		switch {
		case it.Conform && it.Violation != nil:
			return nil, domain.Invalid(f+"violation", "a requirement that is met has no violation")
		case !it.Conform && it.Violation == nil:
			return nil, domain.Invalid(f+"violation", "a requirement not met needs the violation's description and recommendation")
		case !it.Conform:
			v := Violation{}
			if v.Description, err = inspText(f+"violation.description", it.Violation.Description, 1, MaxLongText); err != nil {
				return nil, err
			}
			if v.Recommendation, err = inspText(f+"violation.recommendation", it.Violation.Recommendation, 1, MaxLongText); err != nil {
				return nil, err
			}
			c.Violation = &v
		}
		if len(it.Photos) > MaxItemPhotos {
			return nil, domain.Invalid(f+"photos", "at most %d photos per requirement", MaxItemPhotos)
		}
		for j, ph := range it.Photos {
			if !isCanonicalUUID(ph) {
				return nil, domain.Invalid(fmt.Sprintf("%sphotos[%d]", f, j), "a photo id is a UUID")
			}
		}
		c.Photos = slices.Compact(slices.Sorted(slices.Values(it.Photos)))
		out = append(out, c)
	}
	return out, nil
}

// ActInput is the inspection act.
type ActInput struct {
	Summary string
	Fix     domain.Fix
	Photos  []string
}

// SubmitAct closes the visit with the inspection act and starts the head's working day to decide.
// Every photo the act or the checklist names must be a photo of this inspection, uploaded or still
// uploading; a conclusion waits until each is stored and verified.
func (s *Inspections) SubmitAct(ctx context.Context, p domain.Principal, id string, a ActInput) (*Inspection, error) {
	summary, err := inspText("summary", a.Summary, 1, MaxLongText)
	if err != nil {
		return nil, err
	}
	if a.Fix.GPS == nil {
		return nil, domain.Invalid("gps", "the act records the inspector's position")
	}
	if len(a.Photos) > MaxActPhotos {
		return nil, domain.Invalid("photos", "at most %d photos", MaxActPhotos)
	}
	cur, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	for i, ph := range a.Photos {
		if err := s.Photos.known(ctx, cur.ID, ph); domain.IsCode(err, domain.EINVALID) {
			return nil, domain.Invalid(fmt.Sprintf("photos[%d]", i), "%s", err.(*domain.Error).Message)
		} else if err != nil {
			return nil, err
		}
	}
	for _, it := range cur.Checklist {
		for _, ph := range it.Photos {
			if err := s.Photos.known(ctx, cur.ID, ph); domain.IsCode(err, domain.EINVALID) {
				return nil, domain.Errorf(domain.EPRECONDITION, "checklist item %s: %s", it.Code, err.(*domain.Error).Message)
			} else if err != nil {
				return nil, err
			}
		}
	}
	return s.change(ctx, p, id, func(in *Inspection, now time.Time) error {
		if err := mustBeExecutor(p, in); err != nil {
			return err
		}
		if err := mustBeIn(in, "submit the act", InspOnSite); err != nil {
			return err
		}
		if err := a.Fix.Validate("body", now); err != nil {
			return err
		}
		if len(in.Checklist) == 0 {
			return domain.Errorf(domain.EPRECONDITION, "record the checklist before the act")
		}
		due, err := s.Calendar.DueAfter(ctx, now, 1)
		if err != nil {
			return err
		}
		in.Act = &Act{Summary: summary, At: now, By: p.UserID, Fix: a.Fix,
			Photos: slices.Compact(slices.Sorted(slices.Values(a.Photos)))}
		in.done(StepAct, now)
		in.addDeadline(StepDecision, due)
		in.State = InspActSubmitted
		return nil
	})
}

// Violations returns the checklist's violations in checklist order.
func (in *Inspection) Violations() []ChecklistItem {
	var out []ChecklistItem
	for _, it := range in.Checklist {
		if !it.Conform {
			out = append(out, it)
		}
	}
	return out
}

// referencedPhotos lists the photos the act and the checklist name.
func (in *Inspection) referencedPhotos() []string {
	var ids []string
	if in.Act != nil {
		ids = append(ids, in.Act.Photos...)
	}
	for _, it := range in.Checklist {
		ids = append(ids, it.Photos...)
	}
	return slices.Compact(slices.Sorted(slices.Values(ids)))
}
