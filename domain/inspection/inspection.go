package inspection

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/documents"
)

// Service 1 of REGULATIONS.md, the veterinary-sanitary conclusion for an object of state
// veterinary-sanitary control, as one record per application that moves through these states:
//
//	registered ── head names an executor (≤ 1 wd) ──▶ assigned
//	assigned ── executor checks completeness the same day ──▶ accepted, or refused (motivated refusal)
//	accepted ── notice to the legal-statistics body, at least one day before ──▶ (visit may start)
//	accepted ── the executor starts the visit on site (GPS, time) ──▶ on_site
//	on_site ── checklist, photos, the inspection act (within 3 wd of acceptance) ──▶ act_submitted
//	act_submitted ── the head decides (≤ 1 wd) ──▶ concluded, with the conclusion document
//
// The head is an admin (vetfield has no separate head role yet); the executor is the vet or
// inspector the head names, and only they (or an admin) do the executor's steps.

// InspectionState is where an application stands.
type InspectionState string

// The states of an application.
const (
	InspRegistered   InspectionState = "registered"
	InspAssigned     InspectionState = "assigned"
	InspAccepted     InspectionState = "accepted"
	InspOnSite       InspectionState = "on_site"
	InspActSubmitted InspectionState = "act_submitted"
	InspConcluded    InspectionState = "concluded"
	InspRefused      InspectionState = "refused"
)

// Step names a deadline of the regulation.
type Step string

// The steps that have deadlines. Registration itself (≤ 30 min) and handing over (≤ 30 min) happen
// inside one request and are not tracked.
const (
	StepAssign       Step = "assign"       // the head names the executor: ≤ 1 wd after registration
	StepCompleteness Step = "completeness" // the executor checks the documents: the day of assignment
	StepNotice       Step = "notice"       // the notice to the legal-statistics body: the day before the last day of the visit
	StepAct          Step = "act"          // visit and act: ≤ 3 wd after the documents were found complete
	StepDecision     Step = "decision"     // the head decides: ≤ 1 wd after the act
)

// Deadline is one step's due time, an exclusive bound (work is on time when done before Due), and
// when the step was done.
type Deadline struct {
	Step   Step       `json:"step"`
	Due    time.Time  `json:"due"`
	DoneAt *time.Time `json:"done_at,omitempty"`
}

// Late reports whether the step missed its deadline: done at or after Due, or still pending at now.
func (d Deadline) Late(now time.Time) bool {
	if d.DoneAt != nil {
		return !d.DoneAt.Before(d.Due)
	}
	return !now.Before(d.Due)
}

// Outcomes of a conclusion.
const (
	OutcomeConformity    = "conformity"
	OutcomeNonConformity = "non_conformity"
)

// ObjectSnapshot is what an application records of its object when registered, so the papers
// name the object as it was then.
type ObjectSnapshot struct {
	Kind      ObjectKind `json:"kind"`
	Name      string     `json:"name"`
	RegNumber string     `json:"reg_number,omitempty"`
	Address   string     `json:"address"`
}

// Receipt is the registration mark the applicant gets back: a number and the time.
type Receipt struct {
	Number       string    `json:"number"`
	RegisteredAt time.Time `json:"registered_at"`
	RegisteredBy string    `json:"registered_by"`
}

// Assignment names the executor.
type Assignment struct {
	ExecutorID   string    `json:"executor_id"`
	ExecutorName string    `json:"executor_name"`
	At           time.Time `json:"at"`
	By           string    `json:"by"`
}

// Completeness is the executor's check of the documents. An incomplete set ends the application
// with a motivated refusal naming Ground.
type Completeness struct {
	Complete      bool      `json:"complete"`
	Missing       []string  `json:"missing,omitempty"`
	Ground        string    `json:"ground,omitempty"`
	At            time.Time `json:"at"`
	By            string    `json:"by"`
	RefusalID     string    `json:"refusal_id,omitempty"`
	RefusalNumber string    `json:"refusal_number,omitempty"`
}

// Notice records the notification of the legal-statistics body, which the regulation requires at
// least one day before the inspection.
type Notice struct {
	// Addressee is the body notified, e.g. the oblast department of the Committee on Legal
	// Statistics; Reference its outgoing number or the portal's registration number.
	Addressee  string           `json:"addressee"`
	Reference  string           `json:"reference"`
	PlannedFor domain.CivilDate `json:"planned_for"`
	At         time.Time        `json:"at"`
	By         string           `json:"by"`
}

// Visit is the start of the inspection on site.
type Visit struct {
	StartedAt time.Time  `json:"started_at"`
	By        string     `json:"by"`
	Fix       domain.Fix `json:"fix"`
}

// ChecklistItem is one requirement checked on site: conform, or a violation with what was found
// and what the owner must do.
type ChecklistItem struct {
	Code        string     `json:"code"`
	Requirement string     `json:"requirement"`
	Conform     bool       `json:"conform"`
	Violation   *Violation `json:"violation,omitempty"`
	// Photos are ids of photos of this inspection that show the item.
	Photos []string `json:"photos,omitempty"`
}

// Violation is a requirement found broken, with the recommendation to remove it.
type Violation struct {
	Description    string `json:"description"`
	Recommendation string `json:"recommendation"`
}

// Act is the inspection act the executor submits for decision.
type Act struct {
	Summary string     `json:"summary"`
	At      time.Time  `json:"at"`
	By      string     `json:"by"`
	Fix     domain.Fix `json:"fix"`
	// Photos are the photos the act relies on besides those of checklist items.
	Photos []string `json:"photos,omitempty"`
}

// Decision is the head's decision and the conclusion issued for it.
type Decision struct {
	Outcome          string    `json:"outcome"`
	At               time.Time `json:"at"`
	By               string    `json:"by"`
	ConclusionID     string    `json:"conclusion_id"`
	ConclusionNumber string    `json:"conclusion_number,omitempty"`
}

// Inspection is one application for a veterinary-sanitary conclusion and everything done on it.
type Inspection struct {
	domain.Meta
	ObjectID     string          `json:"object_id"`
	Object       ObjectSnapshot  `json:"object"`
	Territory    domain.Kato     `json:"territory"`
	OwnerIIN     domain.IIN      `json:"owner_iin"`
	ApplicantIIN domain.IIN      `json:"applicant_iin"`
	Applicant    string          `json:"applicant,omitempty"`
	Documents    []string        `json:"documents"`
	Receipt      Receipt         `json:"receipt"`
	State        InspectionState `json:"state"`
	Deadlines    []Deadline      `json:"deadlines"`
	Assignment   *Assignment     `json:"assignment,omitempty"`
	Completeness *Completeness   `json:"completeness,omitempty"`
	Notice       *Notice         `json:"notice,omitempty"`
	Visit        *Visit          `json:"visit,omitempty"`
	Checklist    []ChecklistItem `json:"checklist"`
	Act          *Act            `json:"act,omitempty"`
	Decision     *Decision       `json:"decision,omitempty"`
	UpdatedAt    time.Time       `json:"updated_at"`

	// Indexed copies.
	domain.AreaKeys
	ReceiptNumber string `json:"receipt_number"`
	RegisteredMs  int64  `json:"registered_ms"`
	// NextDueMs is the earliest pending deadline, 0 when none is pending: the overdue list is the
	// range (0, now].
	NextDueMs int64 `json:"next_due_ms"`
}

// InspectionsSpec declares the applications for conclusions. They reach tablets through sync.
var InspectionsSpec = domain.CollectionSpec{
	Name:   "inspections",
	Synced: true,
	Indexes: []domain.Index{
		{Name: "inspections_receipt", Fields: []string{"receipt_number"}, Unique: true},
		{Name: "inspections_object", Fields: []string{"object_id", "registered_ms"}},
		{Name: "inspections_owner", Fields: []string{"owner_iin", "registered_ms"}},
		{Name: "inspections_all", Fields: []string{"registered_ms"}},
		{Name: "inspections_oblast", Fields: []string{"oblast", "registered_ms"}},
		{Name: "inspections_district", Fields: []string{"district", "registered_ms"}},
		{Name: "inspections_due_all", Fields: []string{"next_due_ms"}},
		{Name: "inspections_due_oblast", Fields: []string{"oblast", "next_due_ms"}},
		{Name: "inspections_due_district", Fields: []string{"district", "next_due_ms"}},
	},
}

// scope is who sees an application through sync: staff of its territory and the object's owner.
func (in *Inspection) scope() []string {
	return []string{domain.ScopeTerritory(in.Territory), domain.ScopeOwner(in.OwnerIIN)}
}

// VisibleTo reports whether p may read in: staff whose territory covers the object, admins, the
// object's owner.
func (in *Inspection) VisibleTo(p domain.Principal) bool {
	return p.CanSeeOwned(in.Territory, in.OwnerIIN)
}

// Pending returns the deadlines not yet met, in due order.
func (in *Inspection) Pending() []Deadline {
	var out []Deadline
	for _, d := range in.Deadlines {
		if d.DoneAt == nil {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b Deadline) int { return a.Due.Compare(b.Due) })
	return out
}

// Overdue returns the pending deadlines past due at now.
func (in *Inspection) Overdue(now time.Time) []Deadline {
	var out []Deadline
	for _, d := range in.Pending() {
		if d.Late(now) {
			out = append(out, d)
		}
	}
	return out
}

// addDeadline starts the clock of a step.
func (in *Inspection) addDeadline(s Step, due time.Time) {
	in.Deadlines = append(in.Deadlines, Deadline{Step: s, Due: due.UTC()})
}

// done marks a step done at now, if it is pending.
func (in *Inspection) done(s Step, now time.Time) {
	for i := range in.Deadlines {
		if in.Deadlines[i].Step == s && in.Deadlines[i].DoneAt == nil {
			t := now.UTC()
			in.Deadlines[i].DoneAt = &t
		}
	}
}

// dropPending forgets the deadlines of steps that will never happen (after a refusal).
func (in *Inspection) dropPending() {
	in.Deadlines = slices.DeleteFunc(in.Deadlines, func(d Deadline) bool { return d.DoneAt == nil })
}

// index refreshes the indexed copies before a write.
func (in *Inspection) index() {
	in.AreaKeys = domain.AreaOf(in.Territory)
	in.ReceiptNumber = in.Receipt.Number
	in.RegisteredMs = in.Receipt.RegisteredAt.UnixMilli()
	in.NextDueMs = 0
	if p := in.Pending(); len(p) > 0 {
		in.NextDueMs = max(p[0].Due.UnixMilli(), 1)
	}
}

// Evidence checks that a photo's bytes are still in the object store exactly as uploaded.
// media.PhotoStore implements it; domain cannot reach the object store itself.
type Evidence interface {
	VerifyPhoto(ctx context.Context, ph *Photo) error
}

// Inspections runs the workflow of service 1.
type Inspections struct {
	Store     domain.Store
	Now       domain.Clock
	Calendar  *domain.Calendar
	Documents *documents.Documents
	Objects   *ObjectRegister
	Users     *accounts.Accounts
	Photos    *Photos
	// Evidence re-checks photos before a conclusion is issued.
	Evidence Evidence
}

// Get returns the application with id if p may see it; otherwise ENOTFOUND.
func (s *Inspections) Get(ctx context.Context, p domain.Principal, id string) (*Inspection, error) {
	in, err := domain.GetEntity[Inspection](ctx, s.Store, InspectionsSpec.Name, id)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !in.VisibleTo(p)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such inspection")
	}
	return in, err
}

// InspectionFilter selects applications to list.
type InspectionFilter struct {
	Territory domain.Kato
	ObjectID  string
	// Overdue lists only applications with a step past its deadline, the most overdue first.
	Overdue bool
	After   string
	Limit   int
}

// List pages through the applications p may see: newest first, or with Overdue those with a step
// past its deadline, oldest deadline first. A page may hold fewer than Limit when some were filtered
// out; Next says whether more follow.
func (s *Inspections) List(ctx context.Context, p domain.Principal, f InspectionFilter) ([]*Inspection, string, error) {
	now := s.Now()
	territory := p.Territory
	if p.Role == domain.RoleAdmin || p.Role == domain.RoleFarmer {
		territory = ""
	}
	territory, ok := domain.Narrowest(territory, f.Territory)
	if !ok {
		return []*Inspection{}, "", nil
	}
	suffix, eq := domain.AreaQuery(territory)
	var q domain.Query
	switch {
	case f.ObjectID != "":
		// Every application of an object is in the object's territory and of its owner: an
		// object the caller may not see, or outside the territory asked for, has none to list,
		// and answers as an object that does not exist — no page, no cursor to count them by.
		obj, err := s.Objects.Get(ctx, p, f.ObjectID)
		if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !territory.Covers(obj.Territory)) {
			return []*Inspection{}, "", nil
		} else if err != nil {
			return nil, "", err
		}
		q = domain.Query{Index: "inspections_object", Eq: []any{obj.ID}, Desc: true}
	case p.Role == domain.RoleFarmer:
		q = domain.Query{Index: "inspections_owner", Eq: []any{string(p.IIN)}, Desc: true}
	case f.Overdue:
		q = domain.Query{Index: "inspections_due_" + suffix, Eq: eq, From: int64(1), To: now.UnixMilli() + 1}
	default:
		q = domain.Query{Index: "inspections_" + suffix, Eq: eq, Desc: true}
	}
	q.After, q.Limit = f.After, f.Limit
	list, next, err := domain.ListEntities[Inspection](ctx, s.Store, InspectionsSpec.Name, q)
	if err != nil {
		return nil, "", err
	}
	out := list[:0]
	for _, in := range list {
		if !in.VisibleTo(p) || !territory.Covers(in.Territory) {
			continue
		}
		if f.Overdue && len(in.Overdue(now)) == 0 {
			continue
		}
		out = append(out, in)
	}
	return out, next, nil
}

// change applies fn to the current application and stores it, retrying when another writer got
// there first; fn sees the fresh record and the time, and decides whether the change is allowed.
func (s *Inspections) change(ctx context.Context, p domain.Principal, id string, fn func(in *Inspection, now time.Time) error) (*Inspection, error) {
	var in *Inspection
	err := domain.RetryCAS(ctx, func() error {
		var err error
		if in, err = s.Get(ctx, p, id); err != nil {
			return err
		}
		now := s.Now().UTC()
		if err := fn(in, now); err != nil {
			return domain.Final(err)
		}
		in.UpdatedAt = now
		in.index()
		return domain.UpdateEntity(ctx, s.Store, InspectionsSpec.Name, in, in.scope())
	}, "the inspection is changing concurrently; try again")
	if err != nil {
		return nil, err
	}
	return in, nil
}

// mustBeExecutor allows the assigned executor and admins; anyone else who may see the application
// is EFORBIDDEN.
func mustBeExecutor(p domain.Principal, in *Inspection) error {
	if p.Role == domain.RoleAdmin || (in.Assignment != nil && in.Assignment.ExecutorID == p.UserID) {
		return nil
	}
	return domain.Errorf(domain.EFORBIDDEN, "only the executor the head assigned, or an admin, does this step")
}

// mustBeHead allows the head, who in vetfield is an admin.
func mustBeHead(p domain.Principal) error {
	if p.Role == domain.RoleAdmin {
		return nil
	}
	return domain.Errorf(domain.EFORBIDDEN, "only the head of the department (an admin) does this step")
}

// mustBeIn refuses a step in the wrong state with a reason the caller can act on.
func mustBeIn(in *Inspection, step string, states ...InspectionState) error {
	if slices.Contains(states, in.State) {
		return nil
	}
	return domain.Errorf(domain.EPRECONDITION, "cannot %s: the inspection is %s", step, in.State)
}

// inspectionDocID gives the document an application issues at a step a fixed id, so a retried or
// concurrent request issues the same paper instead of a second one.
func inspectionDocID(inspectionID, what string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("vetfield:inspection:"+inspectionID+":"+what)).String()
}

// inspList trims a list of short texts and checks its length and each item's.
func inspList(field string, items []string, minItems, maxItems, maxLen int) ([]string, error) {
	if len(items) < minItems || len(items) > maxItems {
		return nil, domain.Invalid(field, "give %d to %d items", minItems, maxItems)
	}
	out := make([]string, 0, len(items))
	for i, s := range items {
		s = strings.TrimSpace(s)
		if n := utf8.RuneCountInString(s); n == 0 || n > maxLen {
			return nil, domain.Invalid(fmt.Sprintf("%s[%d]", field, i), "each item has 1 to %d characters", maxLen)
		}
		out = append(out, s)
	}
	return out, nil
}

// inspText trims s and checks its length.
func inspText(field, s string, minLen, maxLen int) (string, error) {
	return domain.TrimmedLines(s, field, maxLen, minLen == 0)
}
