package storetest

import (
	"context"
	"errors"
	"sync"

	"github.com/vetfield/vetfield/domain"
)

// HookStore is a real store with a hook that runs just before chosen writes: the hook may fail the
// write (a crash right there, before anything of it is stored) or run a second request first (a
// race lost at that very point). It is the one crash-injecting wrapper of vetfield's tests.
//
// A unit of work (Apply) is hooked step by step: while a hook is installed, the set is applied one
// step at a time, each step its own one-step Apply with the hook run before it, so a hook failing
// step k leaves steps 0..k-1 applied — the weakest outcome the port allows (MongoDB's after a
// crash midway), on every engine, so that domain code is tested against it even on SQLite.
type HookStore struct {
	domain.Store
	mu   sync.Mutex
	hook func(op, coll string, rec domain.Record) error
	// ons are the hooks of On, each firing once.
	ons []*OnHook
}

// OnHook is a hook installed with On: Run fires once, before the first write of Op on Coll that
// Match accepts (every write when Match is nil) after Skip such writes passed.
type OnHook struct {
	Op, Coll string
	Match    func(domain.Record) bool
	Skip     int
	Run      func() error
	done     bool
}

// On installs a hook that runs run once, before the first write of op ("insert", "update",
// "incr") on coll; set the returned hook's Match and Skip to pick a later or a particular write.
// Several such hooks may wait at once, beside the one of Set, and run outside the store's lock:
// run may write through the store (a second request at that very point) and its writes meet the
// other hooks. run's error replaces the write (ErrCrash: a crash right before it); nil lets the
// write through.
func (h *HookStore) On(op, coll string, run func() error) *OnHook {
	k := &OnHook{Op: op, Coll: coll, Run: run}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ons = append(h.ons, k)
	return k
}

// Crash installs a hook that fails the first write of op on coll with ErrCrash.
func (h *HookStore) Crash(op, coll string) *OnHook {
	return h.On(op, coll, func() error { return ErrCrash })
}

// fireOn runs the first waiting On hook that matches the write.
func (h *HookStore) fireOn(op, coll string, rec domain.Record) error {
	h.mu.Lock()
	var k *OnHook
	for _, x := range h.ons {
		if x.done || x.Op != op || x.Coll != coll || (x.Match != nil && !x.Match(rec)) {
			continue
		}
		if x.Skip > 0 {
			x.Skip--
			continue
		}
		x.done, k = true, x
		break
	}
	h.mu.Unlock()
	if k == nil {
		return nil
	}
	return k.Run()
}

// hooked reports whether any hook waits.
func (h *HookStore) hooked() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hook != nil {
		return true
	}
	for _, x := range h.ons {
		if !x.done {
			return true
		}
	}
	return false
}

// Hook wraps s.
func Hook(s domain.Store) *HookStore { return &HookStore{Store: s} }

// ErrHookDone, returned by a hook, lets the write through and removes the hook.
var ErrHookDone = errors.New("hook done")

// ErrCrash is what a hook returns to fail a write as a crash would: the write is not stored and
// the hook stays installed for the retry to pass (it is removed once it fired).
var ErrCrash = errors.New("simulated crash")

// Set installs a hook. It runs before every write ("insert" or "update" into a collection, or a
// step of a unit of work: "insert", "update", or "incr" with coll "" and the counter's key as
// rec.ID) until it returns ErrHookDone or ErrCrash, and never re-entrantly: the hook's own writes
// pass through.
func (h *HookStore) Set(fn func(op, coll string, rec domain.Record) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hook = fn
}

func (h *HookStore) before(op, coll string, rec domain.Record) error {
	if err := h.fireOn(op, coll, rec); err != nil {
		return err
	}
	h.mu.Lock()
	fn := h.hook
	h.hook = nil
	h.mu.Unlock()
	if fn == nil {
		return nil
	}
	err := fn(op, coll, rec)
	if errors.Is(err, ErrHookDone) {
		return nil
	}
	if err == nil || errors.Is(err, ErrCrash) {
		h.mu.Lock()
		if err == nil && h.hook == nil {
			h.hook = fn // not its write yet: keep watching
		}
		h.mu.Unlock()
	}
	return err
}

// Insert runs the hook, then the store's Insert.
func (h *HookStore) Insert(ctx context.Context, coll string, rec domain.Record) (domain.Record, error) {
	if err := h.before("insert", coll, rec); err != nil {
		return domain.Record{}, err
	}
	return h.Store.Insert(ctx, coll, rec)
}

// Update runs the hook, then the store's Update.
func (h *HookStore) Update(ctx context.Context, coll string, rec domain.Record) (domain.Record, error) {
	if err := h.before("update", coll, rec); err != nil {
		return domain.Record{}, err
	}
	return h.Store.Update(ctx, coll, rec)
}

// Apply runs the hook before each step of w. With no hook installed the set goes to the store
// whole, with the store's own guarantee; with one, the steps go one at a time (see HookStore),
// and a failing hook returns its error as the failure of that step, the steps before it applied.
func (h *HookStore) Apply(ctx context.Context, w *domain.Writes) ([]domain.Result, error) {
	if err := w.Check(); err != nil {
		return nil, err
	}
	steps := w.Steps()
	out := make([]domain.Result, 0, len(steps))
	for i, st := range steps {
		if !h.hooked() {
			rest := &domain.Writes{}
			for _, r := range steps[i:] {
				rest.Add(r)
			}
			res, err := h.Store.Apply(ctx, rest)
			if err != nil {
				if k, serr := domain.FailedStep(err); k >= 0 {
					return nil, &domain.StepError{Step: i + k, Err: serr}
				}
				return nil, err
			}
			return append(out, res...), nil
		}
		op, coll, rec := string(st.Op), st.Coll, st.Rec
		if st.Op == domain.StepIncr {
			rec = domain.Record{ID: st.Key}
		}
		if err := h.before(op, coll, rec); err != nil {
			return nil, &domain.StepError{Step: i, Err: err}
		}
		one := &domain.Writes{}
		one.Add(st)
		res, err := h.Store.Apply(ctx, one)
		if err != nil {
			_, serr := domain.FailedStep(err)
			return nil, &domain.StepError{Step: i, Err: serr}
		}
		out = append(out, res...)
	}
	return out, nil
}

// CrashAt is a hook that fails the k-th write (counting from 0) the store sees, a step of a unit
// of work or a single write, as a crash right before it.
func CrashAt(k int) func(string, string, domain.Record) error {
	n := 0
	return func(string, string, domain.Record) error {
		n++
		if n > k {
			return ErrCrash
		}
		return nil
	}
}

// CrashOn is a hook that fails the first write op ("insert" or "update") into coll.
func CrashOn(op, coll string) func(string, string, domain.Record) error {
	return func(o, c string, _ domain.Record) error {
		if o == op && c == coll {
			return ErrCrash
		}
		return nil
	}
}
