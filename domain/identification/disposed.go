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
