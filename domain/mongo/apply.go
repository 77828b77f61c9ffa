package mongo

import (
	"context"
	"errors"

	"github.com/vetfield/vetfield/domain"
)

// Apply runs the unit of work w as ordered steps, each the adapter's own Insert, Update or Incr,
// since neither FerretDB nor this adapter has multi-document transactions. The first failing step
// stops the set and is reported as a *domain.StepError; the steps before it stay applied, and a
// reader may see them (see "Units of work" in the package documentation).
//
// Every insert and update is idempotent, so that the same set applied again after a crash
// completes the steps the first run cut short:
//   - an insert whose id is taken by a document holding exactly the step's data and scope at
//     Version 1 is the first run's own insert, and counts as done;
//   - an update whose document moved on to exactly the step's data and scope at the read version
//     plus one is the first run's own update, and counts as done.
//
// The change-log entry of such a step is the first run's: the change log has exactly one entry
// per write even across retries. Counter steps are not idempotent and count again.
func (s *Store) Apply(ctx context.Context, w *domain.Writes) ([]domain.Result, error) {
	if err := w.Check(); err != nil {
		return nil, err
	}
	out := make([]domain.Result, 0, w.Len())
	for i, st := range w.Steps() {
		r, err := s.applyStep(ctx, st)
		if err != nil {
			return nil, &domain.StepError{Step: i, Err: err}
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *Store) applyStep(ctx context.Context, st domain.Step) (domain.Result, error) {
	switch st.Op {
	case domain.StepIncr:
		v, err := s.Incr(ctx, st.Key, st.Delta, st.Expires)
		return domain.Result{Value: v}, err
	case domain.StepInsert:
		rec, err := s.Insert(ctx, st.Coll, st.Rec)
		if isConflict(err, "_id") {
			if done, ok := s.already(ctx, st); ok {
				return domain.Result{Record: done}, nil
			}
		}
		return domain.Result{Record: rec}, err
	case domain.StepUpdate:
		rec, err := s.Update(ctx, st.Coll, st.Rec)
		if isConflict(err, "_version") {
			if done, ok := s.already(ctx, st); ok {
				return domain.Result{Record: done}, nil
			}
		}
		return domain.Result{Record: rec}, err
	}
	return domain.Result{}, domain.Errorf(domain.EINVALID, "unknown op %q", st.Op)
}

func isConflict(err error, key string) bool {
	var e *domain.Error
	return errors.As(err, &e) && e.Code == domain.ECONFLICT && e.Key == key
}

// already returns the stored document the step names if it is exactly what the step would have
// written (domain.Step.DoneBy). Any failure to read counts as "no", so the step's own conflict is
// reported.
func (s *Store) already(ctx context.Context, st domain.Step) (domain.Record, bool) {
	got, err := s.Get(ctx, st.Coll, st.Rec.ID)
	if err != nil || !st.DoneBy(got) {
		return domain.Record{}, false
	}
	return got, true
}
