package domain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"
)

// Writes is a unit of work for Store.Apply: inserts, compare-and-swap updates and counter steps
// that the caller wants applied together, in the order added. Build it with Insert, Update and
// Incr (or the entity helpers WriteInsert and WriteUpdate), then hand it to Apply.
//
// What "together" means depends on the engine, and domain code must be written for the weaker
// of the two guarantees (see Store.Apply): every document gets an id the caller chose (derived
// from the request, domain.DerivedID, when a retry must find it), so that running the same set
// again after a crash completes what the first run cut short.
type Writes struct {
	steps []Step
	// metas are the entities of WriteInsert and WriteUpdate steps, by step, so ApplyWrites can set
	// their versions; nil for steps added as bare records.
	metas []*Meta
}

// StepOp is the kind of one step of a unit of work.
type StepOp string

// The kinds of steps.
const (
	StepInsert StepOp = "insert"
	StepUpdate StepOp = "update"
	StepIncr   StepOp = "incr"
)

// Step is one write of a unit of work. Insert and update steps use Coll and Rec (with Rec.Version
// the version read, for an update); counter steps use Key, Delta and Expires as Store.Incr does.
type Step struct {
	Op      StepOp
	Coll    string
	Rec     Record
	Key     string
	Delta   int64
	Expires time.Time
}

// Insert adds an insert-if-absent of rec into coll and returns the step's index.
func (w *Writes) Insert(coll string, rec Record) int {
	return w.add(Step{Op: StepInsert, Coll: coll, Rec: rec}, nil)
}

// Update adds a compare-and-swap update of rec (at the version rec.Version) and returns the step's
// index.
func (w *Writes) Update(coll string, rec Record) int {
	return w.add(Step{Op: StepUpdate, Coll: coll, Rec: rec}, nil)
}

// Incr adds a counter step and returns its index. A counter step is not idempotent: on an engine
// that applies a set as separate steps, running a set again after a crash counts again. A caller
// that needs a stable number (a document number printed on paper) takes it with Store.Incr
// before building the set, and a gap in the numbering is the price of a crash.
func (w *Writes) Incr(key string, delta int64, expires time.Time) int {
	return w.add(Step{Op: StepIncr, Key: key, Delta: delta, Expires: expires}, nil)
}

// Add appends a step as it is, for code that copies or splits a set (a test's wrapper), and
// returns its index.
func (w *Writes) Add(s Step) int { return w.add(s, nil) }

func (w *Writes) add(s Step, m *Meta) int {
	w.steps = append(w.steps, s)
	w.metas = append(w.metas, m)
	return len(w.steps) - 1
}

// Steps returns the steps in order. The slice is the set's own: do not change it.
func (w *Writes) Steps() []Step {
	if w == nil {
		return nil
	}
	return w.steps
}

// Len is the number of steps.
func (w *Writes) Len() int {
	if w == nil {
		return 0
	}
	return len(w.steps)
}

// Check refuses a set that an adapter could not apply with the same meaning on every engine: an
// unknown op, or one document written twice. A retry recognises a step as done by finding the
// very content the step writes; a second write of the same document in the set would have
// replaced that content, and the first step could not tell its own work from somebody else's.
// Both adapters call it before writing anything.
func (w *Writes) Check() error {
	seen := map[[2]string]bool{}
	for i, s := range w.Steps() {
		switch s.Op {
		case StepInsert, StepUpdate:
			k := [2]string{s.Coll, s.Rec.ID}
			if seen[k] {
				return Errorf(EINVALID, "step %d writes %s/%s a second time in one unit of work", i, s.Coll, s.Rec.ID)
			}
			seen[k] = true
		case StepIncr:
		default:
			return Errorf(EINVALID, "step %d has unknown op %q", i, s.Op)
		}
	}
	return nil
}

// DoneBy reports whether stored — the document the step's id names, read after the step met a
// taken id (insert) or a moved-on version (update) — is exactly what the step itself writes: the
// step's data and scope, at Version 1 for an insert or at the read version plus one for an
// update. Then an earlier application of the same set already did the step, and Apply counts it
// as done instead of failing. Data is compared as JSON values, since an engine may give it back
// with its keys reordered or its numbers re-encoded. Both adapters decide with this one rule.
func (s Step) DoneBy(stored Record) bool {
	want := int64(1)
	switch s.Op {
	case StepInsert:
	case StepUpdate:
		want = s.Rec.Version + 1
	default:
		return false
	}
	if stored.ID != s.Rec.ID || stored.Version != want || !slices.Equal(nonNil(stored.Scope), nonNil(s.Rec.Scope)) {
		return false
	}
	var x, y any
	if json.Unmarshal(stored.Data, &x) != nil || json.Unmarshal(s.Rec.Data, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Result is what one step left: the record as stored (Version 1 after an insert, the read version
// plus one after an update) or, for a counter step, the counter's new value.
type Result struct {
	Record Record
	Value  int64
}

// StepError is the failure of one step of a unit of work: Step is its index in the set and Err
// the error the step alone would have returned (ECONFLICT with its Key, ENOTFOUND, ...). It
// unwraps to Err, so IsCode and errors.As see the step's error.
type StepError struct {
	Step int
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("step %d: %v", e.Step, e.Err) }

func (e *StepError) Unwrap() error { return e.Err }

// FailedStep returns the index of the step that made Apply fail and that step's own error, or
// (-1, err) when the failure belongs to no step (a bad set, a dead engine).
func FailedStep(err error) (int, error) {
	var se *StepError
	if errors.As(err, &se) {
		return se.Step, se.Err
	}
	return -1, err
}

// WriteInsert adds an insert of the entity v to w. ApplyWrites sets v's version once it is stored.
func WriteInsert[T any, P Entity[T]](w *Writes, coll string, v P, scope []string) error {
	rec, err := EncodeEntity[T, P](v, scope)
	if err != nil {
		return err
	}
	rec.Version = 0
	w.add(Step{Op: StepInsert, Coll: coll, Rec: rec}, v.meta())
	return nil
}

// WriteUpdate adds a compare-and-swap update of the entity v (at its current Version) to w.
// ApplyWrites sets v's version once it is stored.
func WriteUpdate[T any, P Entity[T]](w *Writes, coll string, v P, scope []string) error {
	rec, err := EncodeEntity[T, P](v, scope)
	if err != nil {
		return err
	}
	w.add(Step{Op: StepUpdate, Coll: coll, Rec: rec}, v.meta())
	return nil
}

// ApplyWrites applies w through s and sets the versions of the entities added with WriteInsert
// and WriteUpdate. It is Store.Apply for domain code: the same guarantee, the same errors.
func ApplyWrites(ctx context.Context, s Store, w *Writes) ([]Result, error) {
	res, err := s.Apply(ctx, w)
	if err != nil {
		return nil, err
	}
	for i, m := range w.metas {
		if m != nil && i < len(res) {
			m.Version = res[i].Record.Version
		}
	}
	return res, nil
}
