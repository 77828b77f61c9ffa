package identification

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
)

// Reissue of lost or damaged tags (service 4 of REGULATIONS.md): "when an ear tag is lost or
// damaged so that the individual number cannot be read, the repeated service — with a new
// individual number — is rendered within 2 working days from the day the tags arrive at the
// service provider". A case opens awaiting_tags when the loss is reported, gets its due date when
// the tags arrive, and is completed by fitting a new number from stock and issuing a new passport
// that supersedes the old one. A case completed after its due date is recorded as late, with the
// working days it was late by.

// ReissueStatus is where a case stands.
type ReissueStatus string

// Case states, in order.
const (
	ReissueAwaitingTags ReissueStatus = "awaiting_tags"
	ReissueTagsArrived  ReissueStatus = "tags_arrived"
	ReissueCompleted    ReissueStatus = "completed"
	// ReissueWithdrawn closes a case whose animal left the register before a new number was
	// fitted (see Reissues.WithdrawWrites): no tag is fitted to a dead or exported animal.
	ReissueWithdrawn ReissueStatus = "withdrawn"
)

// Valid reports whether s is a known status.
func (s ReissueStatus) Valid() bool {
	return s == ReissueAwaitingTags || s == ReissueTagsArrived || s == ReissueCompleted || s == ReissueWithdrawn
}

// ReissueWorkingDays is the regulation's deadline: working days from the day the tags arrive.
const ReissueWorkingDays = 2

// Reissue is one case of a lost or damaged number.
type Reissue struct {
	domain.Meta
	AnimalID  string      `json:"animal_id"`
	HoldingID string      `json:"holding_id"`
	Territory domain.Kato `json:"territory"`
	OwnerIIN  domain.IIN  `json:"owner_iin"`
	// Kind is lost or damaged.
	Kind     TagStatus      `json:"kind"`
	OldTag   domain.EarTag  `json:"old_tag"`
	Means    domain.IDMeans `json:"means"`
	Note     string         `json:"note,omitempty"`
	Status   ReissueStatus  `json:"status"`
	OpenedAt time.Time      `json:"opened_at"`
	OpenedBy string         `json:"opened_by"`

	// ArrivedOn is the day the replacement tags arrived; the clock runs from it, or from the day
	// the case was opened when the tags were already in stock.
	ArrivedOn  domain.CivilDate `json:"arrived_on,omitzero"`
	ClockStart domain.CivilDate `json:"clock_start,omitzero"`
	ArrivalBy  string           `json:"arrival_by,omitempty"`
	// Due is the exclusive deadline (00:00 after DueDay, the last working day allowed).
	Due    *time.Time       `json:"due,omitempty"`
	DueDay domain.CivilDate `json:"due_day,omitzero"`

	// NewTag is pinned before it is fitted, so a retried completion finishes with the same
	// number.
	NewTag domain.EarTag `json:"new_tag,omitempty"`
	// NewTagFitted is set once NewTag is fitted; a pinned number that is not may be replaced.
	NewTagFitted  bool       `json:"new_tag_fitted,omitempty"`
	OldPassportID string     `json:"old_passport_id,omitempty"`
	PassportID    string     `json:"passport_id,omitempty"`
	CompletedAt   *time.Time `json:"completed_at,omitempty"`
	CompletedBy   string     `json:"completed_by,omitempty"`
	// WithdrawnBy is the disposal that withdrew the case, with its time.
	WithdrawnBy string     `json:"withdrawn_by,omitempty"`
	WithdrawnAt *time.Time `json:"withdrawn_at,omitempty"`
	Late        bool       `json:"late"`
	LateDays    int        `json:"late_days,omitempty"`

	// OpenKey is the animal's id while the case is open, so a unique index allows one open case
	// per animal; "closed:<id>" after.
	OpenKey string `json:"open_key"`
	// KeyMS orders lists: the due time once known, the opening time before.
	KeyMS int64 `json:"key_ms"`
	// T2, T4 and T6 are the first 2, 4 and 6 digits of Territory (oblast, district, rural
	// district), so staff list their territory's cases in due order through one index.
	T2 string `json:"t2"`
	T4 string `json:"t4"`
	T6 string `json:"t6"`
}

// ReissuesSpec declares the cases.
var ReissuesSpec = domain.CollectionSpec{
	Name:   "reissues",
	Synced: true,
	Indexes: []domain.Index{
		{Name: "reissues_open", Fields: []string{"open_key"}, Unique: true},
		{Name: "reissues_status", Fields: []string{"status", "key_ms"}},
		{Name: "reissues_t2", Fields: []string{"status", "t2", "key_ms"}},
		{Name: "reissues_t4", Fields: []string{"status", "t4", "key_ms"}},
		{Name: "reissues_t6", Fields: []string{"status", "t6", "key_ms"}},
	},
}

func (c *Reissue) scope() []string { return domain.OwnedScope(c.Territory, c.OwnerIIN) }

// Reissues runs the cases.
type Reissues struct {
	Store     domain.Store
	Now       domain.Clock
	Calendar  *domain.Calendar
	Animals   *Animals
	Stock     *TagStock
	Documents *documents.Documents
}

// TagLoss is a report of a lost or damaged number.
type TagLoss struct {
	// ID is client-generated (a UUID) and becomes the case's id.
	ID string
	// Kind is TagLost or TagDamaged.
	Kind TagStatus
	// Number is the number lost; empty means the animal's individual number.
	Number string
	Note   string
}

// ReportTagLoss opens a case awaiting tags, on behalf of a vet of the animal's territory or its
// owner. An animal has at most one open case.
func (rs *Reissues) ReportTagLoss(ctx context.Context, by domain.Principal, animalID string, in TagLoss) (*Reissue, error) {
	if by.Role != domain.RoleVet && by.Role != domain.RoleFarmer {
		return nil, domain.Errorf(domain.EFORBIDDEN, "a loss is reported by a vet or by the owner")
	}
	id, err := domain.ParseClientID(in.ID, "id")
	if err != nil {
		return nil, err
	}
	if in.Kind != TagLost && in.Kind != TagDamaged {
		return nil, domain.Invalid("kind", "kind is lost or damaged")
	}
	note, err := domain.TrimmedLines(in.Note, "note", 500, true)
	if err != nil {
		return nil, err
	}
	a, err := rs.Animals.Get(ctx, by, animalID)
	if err != nil {
		return nil, err
	}
	if c, err := rs.load(ctx, id); err == nil {
		if c.AnimalID != a.ID {
			return nil, &domain.Error{Code: domain.ECONFLICT, Field: "id", Message: "this id names another case; generate a new one"}
		}
		return c, rs.applyLoss(ctx, c, by)
	} else if !domain.IsCode(err, domain.ENOTFOUND) {
		return nil, err
	}
	number := in.Number
	if number == "" {
		number = string(a.Tag)
	}
	i := a.Identifier(number)
	switch {
	case i < 0:
		return nil, domain.Invalid("number", "the animal carries no ear tag, bolus or chip with this number")
	case a.Identifiers[i].Status != domain.IdentActive:
		return nil, &domain.Error{Code: domain.EPRECONDITION, Field: "number", Message: fmt.Sprintf(
			"number %s is already %s", number, a.Identifiers[i].Status)}
	case a.OpenReissue != "":
		return nil, domain.Errorf(domain.EPRECONDITION, "a reissue case (%s) is already open for this animal", a.OpenReissue)
	case a.InTransit != "":
		return nil, domain.Errorf(domain.EPRECONDITION, "the animal is in transit (movement %s): report the loss at the destination once it is received", a.InTransit)
	case a.Status == AnimalDisposed:
		return nil, a.RefuseDisposed()
	}
	now := rs.Now().UTC()
	c := &Reissue{Meta: domain.Meta{ID: id}, AnimalID: a.ID, HoldingID: a.HoldingID, Territory: a.Territory,
		OwnerIIN: a.OwnerIIN, Kind: in.Kind, OldTag: domain.EarTag(number), Means: a.Identifiers[i].Means, Note: note,
		Status: ReissueAwaitingTags, OpenedAt: now, OpenedBy: by.UserID, OpenKey: a.ID, KeyMS: now.UnixMilli()}
	c.T2, c.T4, c.T6 = string(a.Territory[:2]), string(a.Territory[:4]), string(a.Territory[:6])
	if err := domain.InsertEntity(ctx, rs.Store, ReissuesSpec.Name, c, c.scope()); err != nil {
		var e *domain.Error
		if !errors.As(err, &e) || e.Code != domain.ECONFLICT {
			return nil, err
		}
		if e.Key == "reissues_open" {
			return nil, domain.Errorf(domain.EPRECONDITION, "a reissue case is already open for this animal")
		}
		return rs.ReportTagLoss(ctx, by, animalID, in) // a concurrent retry stored it: answer that
	}
	return c, rs.applyLoss(ctx, c, by)
}

// applyLoss makes the rest of the world agree with an opened case: the number is lost or damaged
// in stock and on the animal, the animal points at the case, the history has the event. Each step
// is idempotent, so a retried report finishes what a failed one began.
func (rs *Reissues) applyLoss(ctx context.Context, c *Reissue, by domain.Principal) error {
	if err := rs.Stock.markLost(ctx, c.OldTag, c.Kind, c.ID); err != nil {
		return err
	}
	a, err := rs.Animals.change(ctx, c.AnimalID, func(a *Animal) (bool, error) {
		changed := false
		i := a.Identifier(string(c.OldTag))
		if i >= 0 && a.Identifiers[i].Status == domain.IdentActive {
			a.Identifiers = cloneIdentifiers(a.Identifiers)
			a.Identifiers[i].Status = domain.IdentifierStatus(c.Kind)
			changed = true
		}
		// A retired old number means a completion already applied the case to the animal (and
		// closed it there) before dying: it must not be reopened.
		if a.OpenReissue == "" && c.Status != ReissueCompleted && (i < 0 || a.Identifiers[i].Status != domain.IdentRetired) {
			a.OpenReissue, changed = c.ID, true
		}
		return changed, nil
	})
	if err != nil {
		return err
	}
	_, err = rs.Animals.RecordEvent(ctx, a, AnimalEvent{Meta: domain.Meta{ID: domain.DerivedID("event", c.ID, "tag_lost")},
		Kind: EventTagLost, At: c.OpenedAt, By: c.OpenedBy, Unit: by.Territory, Tag: string(c.OldTag), ReissueID: c.ID,
		Details: domain.MustJSON(map[string]string{"kind": string(c.Kind), "note": c.Note})})
	return err
}

func cloneIdentifiers(xs []domain.Identifier) []domain.Identifier {
	return append([]domain.Identifier(nil), xs...)
}

// TagsArrived records the day the replacement tags arrived at the unit and sets the due date: the
// end of the second working day after it. Repeating it with the same day changes nothing; another
// day is refused, since the clock has started.
func (rs *Reissues) TagsArrived(ctx context.Context, by domain.Principal, id string, on domain.CivilDate) (*Reissue, error) {
	if by.Role != domain.RoleVet && by.Role != domain.RoleAdmin {
		return nil, domain.Errorf(domain.EFORBIDDEN, "the unit's vets record the arrival of tags")
	}
	c, err := rs.Get(ctx, by, id)
	if err != nil {
		return nil, err
	}
	today := domain.CivilDateOf(rs.Now())
	switch {
	case on.IsZero():
		return nil, domain.Invalid("date", "give the day the tags arrived (2006-01-02)")
	case on.Compare(today) > 0:
		return nil, domain.Invalid("date", "the arrival day %s is in the future (today is %s in Almaty)", on, today)
	case on.Compare(today.AddDays(-366)) < 0:
		return nil, domain.Invalid("date", "the arrival day %s is more than a year ago", on)
	}
	start := domain.CivilDateOf(c.OpenedAt)
	if on.Compare(start) > 0 {
		start = on
	}
	due, err := rs.Calendar.DueAfter(ctx, start.Start(), ReissueWorkingDays)
	if err != nil {
		return nil, err
	}
	// The report may have died between storing the case and applying the loss: finish it.
	if err := rs.applyLoss(ctx, c, by); err != nil {
		return nil, err
	}
	c, err = rs.change(ctx, c.ID, func(c *Reissue) (bool, error) {
		switch {
		case c.Status == ReissueAwaitingTags:
		case c.ArrivedOn == on:
			return false, nil
		case c.Status == ReissueCompleted:
			return false, domain.Errorf(domain.EPRECONDITION, "the case is completed")
		default:
			return false, &domain.Error{Code: domain.EPRECONDITION, Field: "date", Message: fmt.Sprintf(
				"the tags were recorded as arrived on %s; the clock has started", c.ArrivedOn)}
		}
		c.Status, c.ArrivedOn, c.ClockStart, c.ArrivalBy = ReissueTagsArrived, on, start, by.UserID
		c.Due, c.DueDay, c.KeyMS = &due, domain.CivilDateOf(due).AddDays(-1), due.UnixMilli()
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return c, rs.event(ctx, c, EventTagsArrived, by, map[string]any{"arrived_on": on, "due": due, "due_day": c.DueDay})
}

// event records what happened to the case in the animal's history, once.
func (rs *Reissues) event(ctx context.Context, c *Reissue, kind EventKind, by domain.Principal, details any) error {
	a, err := rs.Animals.Load(ctx, c.AnimalID)
	if err != nil {
		return err
	}
	tag := string(c.OldTag)
	if c.NewTag != "" && kind == EventReissued {
		tag = string(c.NewTag)
	}
	_, err = rs.Animals.RecordEvent(ctx, a, AnimalEvent{Meta: domain.Meta{ID: domain.DerivedID("event", c.ID, string(kind))},
		Kind: kind, By: by.UserID, Unit: by.Territory, Tag: tag, ReissueID: c.ID, DocumentID: c.PassportID,
		Details: domain.MustJSON(details)})
	return err
}

// load reads a case whoever asks.
func (rs *Reissues) load(ctx context.Context, id string) (*Reissue, error) {
	return domain.GetEntity[Reissue](ctx, rs.Store, ReissuesSpec.Name, id)
}

// Get returns the case if by may see it (staff of the animal's territory, its owner, admins);
// otherwise ENOTFOUND.
func (rs *Reissues) Get(ctx context.Context, by domain.Principal, id string) (*Reissue, error) {
	c, err := rs.load(ctx, id)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !by.CanSeeOwned(c.Territory, c.OwnerIIN)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such reissue case")
	}
	return c, err
}

// change applies fn to the case with compare-and-swap retries; fn says whether it changed
// anything.
func (rs *Reissues) change(ctx context.Context, id string, fn func(*Reissue) (bool, error)) (*Reissue, error) {
	var c *Reissue
	err := domain.RetryCAS(ctx, func() error {
		var err error
		if c, err = rs.load(ctx, id); err != nil {
			return err
		}
		changed, err := fn(c)
		if err != nil || !changed {
			return domain.Final(err)
		}
		return domain.UpdateEntity(ctx, rs.Store, ReissuesSpec.Name, c, c.scope())
	}, "the case is changing concurrently; try again")
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ReissueClock is where a case stands against its deadline.
type ReissueClock struct {
	// Due is nil until the tags arrive.
	Due    *time.Time
	DueDay domain.CivilDate
	// Overdue is set from the due time on while the case is open, and for good when it was
	// completed late.
	Overdue bool
	// WorkingDaysOverdue counts the working days past DueDay up to now (or up to completion).
	WorkingDaysOverdue int
}

// Clock tells where c stands against its deadline now.
func (rs *Reissues) Clock(ctx context.Context, c *Reissue) (ReissueClock, error) {
	rc := ReissueClock{Due: c.Due, DueDay: c.DueDay}
	switch {
	case c.Due == nil, c.Status == ReissueWithdrawn:
	case c.Status == ReissueCompleted:
		rc.Overdue, rc.WorkingDaysOverdue = c.Late, c.LateDays
	default:
		now := rs.Now()
		if !now.Before(*c.Due) {
			n, err := rs.Calendar.WorkingDaysBetween(ctx, c.DueDay.Start(), now)
			if err != nil {
				return rc, err
			}
			rc.Overdue, rc.WorkingDaysOverdue = true, n
		}
	}
	return rc, nil
}

// ReissueFilter selects cases to list.
type ReissueFilter struct {
	// Status defaults to tags_arrived: the cases running against the clock.
	Status ReissueStatus
	// Overdue keeps the cases past their due date: open ones now, completed ones that were late.
	Overdue bool
	After   string
	Limit   int
}

// List pages through the cases of by's territory (every case for an admin) in one status, in due
// order (cases awaiting tags in the order they were opened).
func (rs *Reissues) List(ctx context.Context, by domain.Principal, f ReissueFilter) ([]*Reissue, string, error) {
	if f.Status == "" {
		f.Status = ReissueTagsArrived
	}
	if !f.Status.Valid() {
		return nil, "", domain.Invalid("status", "status is awaiting_tags, tags_arrived, completed or withdrawn")
	}
	if f.Overdue && f.Status == ReissueAwaitingTags {
		return nil, "", domain.Invalid("overdue", "cases awaiting tags have no due date yet")
	}
	q := domain.Query{Index: "reissues_status", Eq: []any{string(f.Status)}, After: f.After, Limit: f.Limit}
	switch {
	case by.Role == domain.RoleAdmin:
	case by.Role.IsStaff():
		level := min(by.Territory.Level(), 3)
		n := domain.KatoGroups[level-1]
		q.Index = "reissues_t" + strconv.Itoa(n)
		q.Eq = append(q.Eq, string(by.Territory[:n]))
	default:
		return nil, "", domain.Errorf(domain.EFORBIDDEN, "cases are listed for staff")
	}
	if f.Overdue && f.Status == ReissueTagsArrived {
		q.To = rs.Now().UnixMilli() + 1 // due at or before now
	}
	cs, next, err := domain.ListEntities[Reissue](ctx, rs.Store, ReissuesSpec.Name, q)
	if err != nil {
		return nil, "", err
	}
	out := cs[:0]
	for _, c := range cs {
		if by.CanSeeTerritory(c.Territory) && (!f.Overdue || f.Status != ReissueCompleted || c.Late) {
			out = append(out, c)
		}
	}
	return out, next, nil
}
