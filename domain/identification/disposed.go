package identification

import (
	"context"

	"github.com/vetfield/vetfield/domain"
)

// What service 4 does for an animal that left the register (package lifecycle records the
// disposal): its numbers are retired for good in the same unit of work, and no paper is issued
// for it again.

// RefuseDisposed explains why nothing more is issued for a, or returns nil while it is on the
// register.
func (a *Animal) RefuseDisposed() error {
	if a.Status != AnimalDisposed {
		return nil
	}
	how, on := "", ""
	if a.Disposal != nil {
		how, on = " ("+a.Disposal.Kind+")", " on "+a.Disposal.Date.String()
	}
	return domain.Errorf(domain.EPRECONDITION, "the animal left the register%s%s: no paper is issued for it", on, how)
}

// RetireWrites adds to w the retirement of every number of a that is still fitted to it (its ear
// tags, boluses, chips), with the reason: compare-and-swap updates of the numbers' records at the
// versions read now. A number already retired, or lost or damaged before, is left as it is, so a
// retried disposal adds only what is missing. A retired number is never in stock again.
func (ts *TagStock) RetireWrites(ctx context.Context, w *domain.Writes, a *Animal, reason string) error {
	var numbers []string
	for _, x := range a.Identifiers {
		if x.Means.Stocked() {
			numbers = append(numbers, x.Number)
		}
	}
	recs, err := getMany[TagRecord](ctx, ts.Store, TagsSpec.Name, numbers)
	if err != nil {
		return err
	}
	now := ts.Now().UTC()
	for _, n := range numbers {
		rec := recs[n]
		if rec == nil || rec.Status != TagFitted || rec.AnimalID != a.ID {
			continue
		}
		rec.Status, rec.EndedAt, rec.Reason = TagRetired, &now, reason
		if err := domain.WriteUpdate(w, TagsSpec.Name, rec, nil); err != nil {
			return err
		}
	}
	return nil
}

// WithdrawWrites adds to w the withdrawal of the reissue case open for a, if any, on behalf of
// the disposal disposalID: the animal left the register, so no new number will be fitted to it,
// and the case leaves the lists of cases running against the clock. A case whose new number is
// fitted already (a completion under way) is not withdrawn: EPRECONDITION, finish it first. The
// caller clears a.OpenReissue in the same unit of work.
func (rs *Reissues) WithdrawWrites(ctx context.Context, w *domain.Writes, a *Animal, disposalID string) error {
	c, err := domain.GetEntityBy[Reissue](ctx, rs.Store, ReissuesSpec.Name, "reissues_open", a.ID)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return nil
	} else if err != nil {
		return err
	}
	if c.NewTagFitted {
		return domain.Errorf(domain.EPRECONDITION,
			"reissue case %s is being completed (number %s is fitted): finish it first", c.ID, c.NewTag)
	}
	now := rs.Now().UTC()
	c.Status, c.OpenKey, c.KeyMS, c.WithdrawnBy, c.WithdrawnAt = ReissueWithdrawn, "closed:"+c.ID, now.UnixMilli(), disposalID, &now
	return domain.WriteUpdate(w, ReissuesSpec.Name, c, c.scope())
}
