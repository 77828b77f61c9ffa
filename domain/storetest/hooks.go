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
type HookStore struct {
	domain.Store
	mu   sync.Mutex
	hook func(op, coll string, rec domain.Record) error
}

// Hook wraps s.
func Hook(s domain.Store) *HookStore { return &HookStore{Store: s} }

// ErrHookDone, returned by a hook, lets the write through and removes the hook.
var ErrHookDone = errors.New("hook done")

// ErrCrash is what a hook returns to fail a write as a crash would: the write is not stored and
// the hook stays installed for the retry to pass (it is removed once it fired).
var ErrCrash = errors.New("simulated crash")

// Set installs a hook. It runs before every write ("insert" or "update" into a collection) until it
// returns ErrHookDone or ErrCrash, and never re-entrantly: the hook's own writes pass through.
func (h *HookStore) Set(fn func(op, coll string, rec domain.Record) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hook = fn
}

func (h *HookStore) before(op, coll string, rec domain.Record) error {
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

// CrashOn is a hook that fails the first write op ("insert" or "update") into coll.
func CrashOn(op, coll string) func(string, string, domain.Record) error {
	return func(o, c string, _ domain.Record) error {
		if o == op && c == coll {
			return ErrCrash
		}
		return nil
	}
}
