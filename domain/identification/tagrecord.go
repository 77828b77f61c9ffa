package identification

import (
	"context"
	"fmt"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// The record of one number: created the first time something happens to the number (it is
// fitted), then moved through its states with compare-and-swap. See tagstock.go for the ranges the
// numbers come from.

// TagRecord is the state of one number once something happened to it.
type TagRecord struct {
	domain.Meta                // ID is the 15-digit number
	Status      TagStatus      `json:"status"`
	Means       domain.IDMeans `json:"means"`
	Unit        domain.Kato    `json:"unit"`
	RangeID     string         `json:"range_id"`
	// AnimalID is the animal the number was fitted to; it stays after a loss, so the old number
	// still finds the animal.
	AnimalID string `json:"animal_id,omitempty"`
	// ReissueID is the reissue case that fitted the number, when it replaced a lost one.
	ReissueID string     `json:"reissue_id,omitempty"`
	FittedAt  *time.Time `json:"fitted_at,omitempty"`
	FittedBy  string     `json:"fitted_by,omitempty"`
	// LossCase is the reissue case that reported the number lost or damaged.
	LossCase string     `json:"loss_case,omitempty"`
	EndedAt  *time.Time `json:"ended_at,omitempty"`
	// ReplacedBy is the number that replaced this one; the two are linked both ways through the
	// animal's identifiers.
	ReplacedBy string `json:"replaced_by,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// TagsSpec declares the per-number records, found by their number (the id) only: an animal's
// numbers are listed in its identifiers. Not synced: tablets learn a number's fate through the
// animal it belongs to.
var TagsSpec = domain.CollectionSpec{Name: "tags"}

// NumberRecord reads what is recorded of one number: ENOTFOUND until it is first fitted.
func (ts *TagStock) NumberRecord(ctx context.Context, tag domain.EarTag) (*TagRecord, error) {
	return domain.GetEntity[TagRecord](ctx, ts.Store, TagsSpec.Name, string(tag))
}

// fitting is a number checked for fitting: its range, and its record if one exists.
type fitting struct {
	tag   domain.EarTag
	means domain.IDMeans
	rng   *TagRange
	field string
	// rec is the number's record as checkFit read it: nil when the number has none yet, in stock
	// when a claim was undone, or fitted to the very animal by an earlier attempt.
	rec *TagRecord
}

// ours reports whether an earlier attempt for animalID already fitted the number.
func (f fitting) ours(animalID string) bool {
	return f.rec != nil && f.rec.Status == TagFitted && f.rec.AnimalID == animalID
}

// checkFit reads, and writes nothing: is tag in stock of a unit covering unit, of the right means,
// and not yet fitted (or fitted to animalID by an earlier attempt of the same request)? Refusals
// are EPRECONDITION (not in your stock) or ECONFLICT (already fitted), both 409 with the reason.
func (ts *TagStock) checkFit(ctx context.Context, tag domain.EarTag, means domain.IDMeans, unit domain.Kato, animalID, field string) (fitting, error) {
	r, err := ts.rangeOf(ctx, tag)
	if err != nil {
		return fitting{}, err
	}
	if err := stockedFor(r, tag, means, unit, field); err != nil {
		return fitting{}, err
	}
	rec, err := ts.NumberRecord(ctx, tag)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return fitting{tag: tag, means: means, rng: r, field: field}, nil
	} else if err != nil {
		return fitting{}, err
	}
	if err := rec.refuseFit(animalID, field); err != nil {
		return fitting{}, err
	}
	return fitting{tag: tag, means: means, rng: r, field: field, rec: rec}, nil
}

// stockedFor explains why tag of range r (nil: of no range) is not in the stock of unit as a
// means, or returns nil when it is.
func stockedFor(r *TagRange, tag domain.EarTag, means domain.IDMeans, unit domain.Kato, field string) error {
	switch {
	case r == nil:
		return &domain.Error{Code: domain.EPRECONDITION, Field: field, Message: fmt.Sprintf(
			"number %s was never allocated to any unit: it is not in stock", tag)}
	case !r.Unit.Covers(unit):
		return &domain.Error{Code: domain.EPRECONDITION, Field: field, Message: fmt.Sprintf(
			"number %s is in the stock of unit %s, not of your unit %s", tag, r.Unit, unit)}
	case r.Means != means:
		return &domain.Error{Code: domain.EPRECONDITION, Field: field, Message: fmt.Sprintf(
			"number %s is stocked as a %s, not a %s", tag, r.Means, means)}
	}
	return nil
}

// refuseFit explains why the number of rec cannot be fitted to animalID, or returns nil when it
// can: it is back in stock, or already fitted to that very animal by an earlier attempt.
func (rec *TagRecord) refuseFit(animalID, field string) error {
	if rec.Status == TagInStock || (rec.Status == TagFitted && rec.AnimalID == animalID) {
		return nil
	}
	when := ""
	if rec.FittedAt != nil {
		when = " on " + domain.CivilDateOf(*rec.FittedAt).String()
	}
	msg := fmt.Sprintf("number %s was already fitted%s and is %s: a number is fitted once, ever", rec.ID, when, rec.Status)
	return &domain.Error{Code: domain.ECONFLICT, Field: field, Key: "tag", Message: msg}
}

// claim fits the number to animalID: it inserts the number's record if absent, or takes it back
// from in_stock with compare-and-swap. Of several concurrent claims exactly one wins; the others
// get ECONFLICT. A repeated claim by the same animal succeeds.
func (ts *TagStock) claim(ctx context.Context, f fitting, animalID, reissueID, by string) error {
	now := ts.Now().UTC()
	rec := &TagRecord{Meta: domain.Meta{ID: string(f.tag)}, Status: TagFitted, Means: f.means, Unit: f.rng.Unit,
		RangeID: f.rng.ID, AnimalID: animalID, ReissueID: reissueID, FittedAt: &now, FittedBy: by}
	return domain.RetryCAS(ctx, func() error {
		rec.Version = 0
		err := domain.InsertEntity(ctx, ts.Store, TagsSpec.Name, rec, nil)
		if !domain.IsCode(err, domain.ECONFLICT) {
			return err
		}
		old, err := ts.NumberRecord(ctx, f.tag)
		if err != nil {
			return err
		}
		if err := old.refuseFit(animalID, f.field); err != nil {
			return domain.Final(err)
		}
		if old.Status == TagFitted {
			return nil // our own earlier attempt
		}
		rec.Version = old.Version
		return domain.UpdateEntity(ctx, ts.Store, TagsSpec.Name, rec, nil)
	}, "number %s is being fitted concurrently; try again", f.tag)
}

// claimWrite adds the claim of f for animalID to a unit of work: the insert of the number's
// record when it has none, a compare-and-swap from in_stock at the version checkFit read, and
// nothing when an earlier attempt of the same request already fitted it. Of several concurrent
// claims exactly one unit can apply; the others fail on this step with ECONFLICT ("_id" or
// "_version"), and checking the number again then explains the refusal.
func (ts *TagStock) claimWrite(w *domain.Writes, f fitting, animalID, reissueID, by string) error {
	if f.ours(animalID) {
		return nil
	}
	now := ts.Now().UTC()
	rec := &TagRecord{Meta: domain.Meta{ID: string(f.tag)}, Status: TagFitted, Means: f.means, Unit: f.rng.Unit,
		RangeID: f.rng.ID, AnimalID: animalID, ReissueID: reissueID, FittedAt: &now, FittedBy: by}
	if f.rec == nil {
		return domain.WriteInsert(w, TagsSpec.Name, rec, nil)
	}
	rec.Version = f.rec.Version
	return domain.WriteUpdate(w, TagsSpec.Name, rec, nil)
}

// release undoes a claim of this request whose animal was never stored (another number of the
// same request was refused), so the number goes back to stock: it was never on an animal. A number
// without a record was never claimed (a unit of work that failed as a whole): nothing to undo.
func (ts *TagStock) release(ctx context.Context, tag domain.EarTag, animalID string) error {
	err := ts.change(ctx, tag, func(rec *TagRecord) (bool, error) {
		if rec.Status != TagFitted || rec.AnimalID != animalID {
			return false, nil
		}
		rec.Status, rec.AnimalID, rec.ReissueID, rec.FittedAt, rec.FittedBy = TagInStock, "", "", nil, ""
		return true, nil
	})
	if domain.IsCode(err, domain.ENOTFOUND) {
		return nil
	}
	return err
}

// markLost moves a fitted number to lost or damaged on behalf of a reissue case; repeating it
// changes nothing.
func (ts *TagStock) markLost(ctx context.Context, tag domain.EarTag, status TagStatus, caseID string) error {
	return ts.change(ctx, tag, func(rec *TagRecord) (bool, error) {
		if rec.LossCase == caseID {
			return false, nil
		}
		if rec.Status != TagFitted {
			return false, domain.Errorf(domain.EPRECONDITION, "number %s is %s, not fitted", tag, rec.Status)
		}
		now := ts.Now().UTC()
		rec.Status, rec.LossCase, rec.EndedAt = status, caseID, &now
		return true, nil
	})
}

// markReplaced links a lost or damaged number to the number that replaced it.
func (ts *TagStock) markReplaced(ctx context.Context, old, repl domain.EarTag) error {
	return ts.change(ctx, old, func(rec *TagRecord) (bool, error) {
		if rec.ReplacedBy == string(repl) {
			return false, nil
		}
		rec.ReplacedBy = string(repl)
		return true, nil
	})
}

// Retire takes a fitted number out of use for good (the animal died, was slaughtered or left the
// country), with the reason. The disposal service calls it; a repeated call changes nothing.
func (ts *TagStock) Retire(ctx context.Context, tag domain.EarTag, reason string) error {
	return ts.change(ctx, tag, func(rec *TagRecord) (bool, error) {
		switch rec.Status {
		case TagRetired, TagLost, TagDamaged:
			return false, nil
		case TagFitted:
			now := ts.Now().UTC()
			rec.Status, rec.EndedAt, rec.Reason = TagRetired, &now, reason
			return true, nil
		}
		return false, domain.Errorf(domain.EPRECONDITION, "number %s is %s, not fitted", tag, rec.Status)
	})
}

// change applies fn to the number's record with compare-and-swap retries; fn says whether it
// changed anything.
func (ts *TagStock) change(ctx context.Context, tag domain.EarTag, fn func(*TagRecord) (bool, error)) error {
	return domain.RetryCAS(ctx, func() error {
		rec, err := ts.NumberRecord(ctx, tag)
		if err != nil {
			return err
		}
		changed, err := fn(rec)
		if err != nil || !changed {
			return domain.Final(err)
		}
		return domain.UpdateEntity(ctx, ts.Store, TagsSpec.Name, rec, nil)
	}, "number %s is changing concurrently; try again", tag)
}
