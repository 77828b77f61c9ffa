package identification_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// countingStore is the real store counting the calls made through it: every call is one round
// trip to the engine, and every write call (Insert, Update, Incr, Apply) is one write transaction
// on SQLite.
type countingStore struct {
	domain.Store
	mu     sync.Mutex
	reads  int
	writes int
}

func (c *countingStore) count(write bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if write {
		c.writes++
	} else {
		c.reads++
	}
}

func (c *countingStore) Get(ctx context.Context, coll, id string) (domain.Record, error) {
	c.count(false)
	return c.Store.Get(ctx, coll, id)
}

func (c *countingStore) GetMany(ctx context.Context, coll string, ids []string) ([]domain.Record, error) {
	c.count(false)
	return c.Store.GetMany(ctx, coll, ids)
}

func (c *countingStore) GetBy(ctx context.Context, coll, index string, values ...any) (domain.Record, error) {
	c.count(false)
	return c.Store.GetBy(ctx, coll, index, values...)
}

func (c *countingStore) List(ctx context.Context, coll string, q domain.Query) (domain.Page, error) {
	c.count(false)
	return c.Store.List(ctx, coll, q)
}

func (c *countingStore) Insert(ctx context.Context, coll string, rec domain.Record) (domain.Record, error) {
	c.count(true)
	return c.Store.Insert(ctx, coll, rec)
}

func (c *countingStore) Update(ctx context.Context, coll string, rec domain.Record) (domain.Record, error) {
	c.count(true)
	return c.Store.Update(ctx, coll, rec)
}

func (c *countingStore) Incr(ctx context.Context, key string, delta int64, expires time.Time) (int64, error) {
	c.count(true)
	return c.Store.Incr(ctx, key, delta, expires)
}

func (c *countingStore) Apply(ctx context.Context, w *domain.Writes) ([]domain.Result, error) {
	c.count(true)
	return c.Store.Apply(ctx, w)
}

// TestIdentifyRoundTrips counts what one identification with its passport costs the store, so a
// change that adds a round trip or a transaction shows in the log (go test -v -run RoundTrips).
func TestIdentifyRoundTrips(t *testing.T) {
	t.Parallel()
	e := newIdentEnv(t)
	c := &countingStore{Store: e.Store}
	e.Docs.Store, e.Id.Animals.Store, e.Id.Reissues.Store, e.Id.Stock.Store, e.Id.Holdings.Store = c, c, c, c, c
	// The issuing unit's name comes from the territories service over its own store: one read
	// per lookup when the unit itself is catalogued, as the tests' district is.
	names := e.Docs.UnitNames
	e.Docs.UnitNames = func(ctx context.Context, k domain.Kato) string { c.count(false); return names(ctx, k) }
	e.Identify("398000000000001")
	t.Logf("one identification: %d round trips (%d reads, %d write transactions)", c.reads+c.writes, c.reads, c.writes)
	if c.writes > 2 {
		t.Errorf("%d write transactions, want at most 2: the passport's number, then one unit of work", c.writes)
	}
}
