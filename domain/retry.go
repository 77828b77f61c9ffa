package domain

import (
	"context"
	"errors"
)

// The compare-and-swap retry policy, in one place. Every read-modify-write of vetfield reads a
// document, changes it and writes it back with Store.Update at the version it read; when another
// writer got there first the write fails with ECONFLICT Key "_version" and the whole
// read-modify-write runs again on the fresh document. A few rounds settle any realistic
// contention; past CASRetries the caller gets Busy, a temporary conflict that asks to try again,
// rather than an unbounded loop.

// LostCAS reports whether err is a store's compare-and-swap failing because the document moved on
// since it was read: ECONFLICT with Key "_version".
func LostCAS(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == ECONFLICT && e.Key == "_version"
}

// Final marks an error of a read-modify-write's own making as its answer, so that RetryCAS returns
// it (unwrapped) instead of retrying: a client that wrote against a stale version it named gets
// ECONFLICT Key "_version" too, and must hear it, not a retry that overwrites what it never saw.
func Final(err error) error {
	if err == nil {
		return nil
	}
	return finalError{err}
}

type finalError struct{ err error }

// Again marks err as a lost race of another kind than a compare-and-swap — an insert-if-absent
// or a unit of work that another request's writes beat — after which the whole attempt must run
// again on fresh reads; RetryCAS retries it under the same policy.
func Again(err error) error {
	if err == nil {
		return nil
	}
	return againError{err}
}

type againError struct{ err error }

func (a againError) Error() string { return a.err.Error() }
func (a againError) Unwrap() error { return a.err }

func (f finalError) Error() string { return f.err.Error() }
func (f finalError) Unwrap() error { return f.err }

// RetryCAS runs attempt, one read-modify-write, until it returns anything but a lost
// compare-and-swap (LostCAS) or a race marked with Again, at most CASRetries times, and then
// returns Busy with the message busy (formatted with args). An error attempt wraps with Final is
// returned as it was given, at once. A cancelled ctx stops the retries with the last error.
func RetryCAS(ctx context.Context, attempt func() error, busy string, args ...any) error {
	for range CASRetries {
		err := attempt()
		var f finalError
		if errors.As(err, &f) {
			return f.err
		}
		var a againError
		if errors.As(err, &a) {
			err = a.err
		} else if !LostCAS(err) {
			return err
		}
		if ctx.Err() != nil {
			return err
		}
	}
	return Busy(busy, args...)
}

// InsertOrGet stores the new entity v under its id, or, when the id is taken — by an earlier
// attempt of the same request, or a concurrent one that won — loads the stored entity into v. It
// reports whether v was inserted. Give v an id derived from the request (DerivedID) and a create
// becomes idempotent. A clash on another unique key is returned as the store's ECONFLICT.
func InsertOrGet[T any, P Entity[T]](ctx context.Context, s Store, coll string, v P, scope []string) (bool, error) {
	err := InsertEntity(ctx, s, coll, v, scope)
	var e *Error
	if !errors.As(err, &e) || e.Code != ECONFLICT || e.Key != "_id" {
		return err == nil, err
	}
	stored, err := GetEntity[T, P](ctx, s, coll, v.meta().ID)
	if err != nil {
		return false, err
	}
	*v = *stored
	return false, nil
}
