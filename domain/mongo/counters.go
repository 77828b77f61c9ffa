package mongo

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/vetfield/vetfield/domain"
)

// slot is one value of a counter; the counter's value is its slot with the highest n.
type slot struct {
	ID  string `bson:"_id"` // key#n, so that only one process can write slot n
	K   string `bson:"k"`
	N   int64  `bson:"n"`
	V   int64  `bson:"v"`
	Exp int64  `bson:"exp"` // Unix ms; 0 never expires
	At  int64  `bson:"at"`  // Unix ms, when the slot was written
}

// Old slots are pruned, but a deleted slot's _id is free again: an increment that read slot n-1
// as the latest long ago could insert a second slot n and return a value twice. So only slots
// older than pruneAge are deleted, and an increment only builds on a slot known to have been the
// latest less than staleRead ago (every slot after it is younger still, so none of them can have
// been pruned); the gap between the two absorbs pauses and clock skew between processes.
const (
	pruneEvery = 16 // how many slots a counter grows by between prunings
	pruneAge   = 10 * time.Minute
	staleRead  = time.Minute
)

// maxAttempts bounds the retries of an operation that lost a race for an _id.
const maxAttempts = 1000

// counterStripes serialise the increments of one key within the process (by a hash of the key)
// and remember the key's latest slot. Increments from other processes still race through the
// database; these only spare this process from racing itself, which on FerretDB, where a lost
// race costs a contended write transaction, is most of an increment's time.
const counterStripes = 64

type counterStripe struct {
	gate  gate
	key   string
	head  *slot     // the latest slot of key this process knows of
	seen  time.Time // when head was known to be the latest
	sweep int64     // Store.sweeps then: a Sweep since may have deleted head
}

// Incr adds delta to the named counter and returns the new value, atomically across processes:
// it inserts the slot after the counter's latest; when another process inserted that slot first,
// it moves on to that slot and tries the one after. A counter whose expiry has passed starts
// again from zero, as if Sweep had already removed it; the expiry is set only when the counter
// is (re)created.
func (s *Store) Incr(ctx context.Context, key string, delta int64, expires time.Time) (int64, error) {
	var exp int64
	if !expires.IsZero() {
		exp = expires.UnixMilli()
	}
	st := &s.stripes[stripeOf(key)]
	if err := st.gate.lock(ctx); err != nil {
		return 0, domain.Internal("mongo: incr", err)
	}
	defer st.gate.unlock()
	sweep := s.sweeps.Load()
	head, seen := (*slot)(nil), time.Time{}
	if st.key == key && st.sweep == sweep {
		head, seen = st.head, st.seen
	}
	latest := options.FindOne().SetSort(bson.D{{Key: "n", Value: -1}})
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if time.Since(seen) >= staleRead {
			seen, head = time.Now(), nil
			err := s.counters.FindOne(ctx, bson.D{{Key: "k", Value: key}}, latest).Decode(&head)
			if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
				return 0, domain.Internal("mongo: incr", err)
			}
		}
		next := s.successor(key, head, delta, exp)
		sent := time.Now()
		_, err := s.counters.InsertOne(ctx, next)
		if err == nil {
			st.key, st.head, st.seen, st.sweep = key, &next, sent, sweep
			if next.N%pruneEvery == 0 {
				// Best effort: a failure leaves a few more slots for a later increment to delete.
				s.counters.DeleteMany(ctx, bson.D{{Key: "k", Value: key}, {Key: "n", Value: bson.D{{Key: "$lt", Value: next.N}}},
					{Key: "at", Value: bson.D{{Key: "$lt", Value: next.At - pruneAge.Milliseconds()}}}})
			}
			return next.V, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			st.key = ""
			return 0, domain.Internal("mongo: incr", err)
		}
		// Another process took the slot: it was written after head was the latest, so building
		// on it is as safe as building on head.
		head = nil
		err = s.counters.FindOne(ctx, bson.D{{Key: "_id", Value: next.ID}}).Decode(&head)
		if errors.Is(err, mongo.ErrNoDocuments) {
			seen = time.Time{} // swept meanwhile: read the latest again
		} else if err != nil {
			st.key = ""
			return 0, domain.Internal("mongo: incr", err)
		}
		backoff(ctx, attempt)
	}
	st.key = ""
	return 0, domain.Internal("mongo: incr", errors.New("too much contention on "+key))
}

func stripeOf(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % counterStripes)
}

// gate is a mutex that a waiter can give up on when its context ends.
type gate chan struct{}

func (g *gate) lock(ctx context.Context) error {
	select {
	case *g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) unlock() { <-*g }

// successor is the slot that adds delta after head (nil: the counter does not exist).
func (s *Store) successor(key string, head *slot, delta, exp int64) slot {
	now := s.now().UnixMilli()
	next := slot{K: key, N: 1, V: delta, Exp: exp, At: now}
	switch {
	case head == nil:
	case head.Exp != 0 && head.Exp <= now: // expired: start again
		next.N = head.N + 1
	default:
		next.N, next.V, next.Exp = head.N+1, head.V+delta, head.Exp
	}
	next.ID = fmt.Sprintf("%s#%020d", key, next.N)
	return next
}

// backoff spreads out processes that keep losing the same race.
func backoff(ctx context.Context, attempt int) {
	if attempt < 4 {
		return
	}
	d := time.Duration(rand.Int64N(int64(min(attempt, 20)) * int64(time.Millisecond)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Sweep removes counters that expired by now, and the documents of expiring collections whose
// expiry field is a number at or before now (MongoDB compares a number only with numbers, so a
// document without the field, or with text in it, is kept). Several processes may sweep at once.
func (s *Store) Sweep(ctx context.Context, now time.Time) error {
	s.sweeps.Add(1)
	defer s.sweeps.Add(1) // and the increments that ran meanwhile
	ms := now.UnixMilli()
	_, err := s.counters.DeleteMany(ctx, bson.D{{Key: "exp", Value: bson.D{{Key: "$gt", Value: 0}, {Key: "$lte", Value: ms}}}})
	if err != nil {
		return domain.Internal("mongo: sweep", err)
	}
	s.mu.RLock()
	var colls []*collection
	for _, c := range s.colls {
		if c.expires != "" {
			colls = append(colls, c)
		}
	}
	s.mu.RUnlock()
	for _, c := range colls {
		if _, err := c.coll.DeleteMany(ctx, bson.D{{Key: c.expires, Value: bson.D{{Key: "$lte", Value: ms}}}}); err != nil {
			return domain.Internal("mongo: sweep "+c.name, err)
		}
	}
	return nil
}
