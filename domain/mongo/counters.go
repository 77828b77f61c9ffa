package mongo

import (
	"context"
	"errors"
	"fmt"
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
}

// pruneEvery is how many slots a counter grows by before an increment deletes the older ones.
const pruneEvery = 16

// maxAttempts bounds the retries of an operation that lost a race for an _id.
const maxAttempts = 1000

// Incr adds delta to the named counter and returns the new value, atomically across processes:
// it reads the counter's latest slot and inserts the next one, and when another process inserted
// that slot first it reads again. A counter whose expiry has passed starts again from zero, as if
// Sweep had already removed it; the expiry is set only when the counter is (re)created.
func (s *Store) Incr(ctx context.Context, key string, delta int64, expires time.Time) (int64, error) {
	var exp int64
	if !expires.IsZero() {
		exp = expires.UnixMilli()
	}
	latest := options.FindOne().SetSort(bson.D{{Key: "n", Value: -1}})
	for attempt := range maxAttempts {
		var head slot
		err := s.counters.FindOne(ctx, bson.D{{Key: "k", Value: key}}, latest).Decode(&head)
		next := slot{K: key, N: 1, V: delta, Exp: exp}
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
		case err != nil:
			return 0, domain.Internal("mongo: incr", err)
		case head.Exp != 0 && head.Exp <= s.now().UnixMilli():
			next.N = head.N + 1
		default:
			next.N, next.V, next.Exp = head.N+1, head.V+delta, head.Exp
		}
		next.ID = fmt.Sprintf("%s#%020d", key, next.N)
		_, err = s.counters.InsertOne(ctx, next)
		if err == nil {
			if next.N%pruneEvery == 0 {
				// Best effort: a failure leaves a few more slots for a later increment to delete.
				s.counters.DeleteMany(ctx, bson.D{{Key: "k", Value: key}, {Key: "n", Value: bson.D{{Key: "$lt", Value: next.N}}}})
			}
			return next.V, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return 0, domain.Internal("mongo: incr", err)
		}
		backoff(ctx, attempt)
	}
	return 0, domain.Internal("mongo: incr", errors.New("too much contention on "+key))
}

// backoff spreads out processes that keep losing the same race.
func backoff(ctx context.Context, attempt int) {
	if attempt < 2 {
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

// Sweep removes counters that expired by now. Several processes may sweep at once.
func (s *Store) Sweep(ctx context.Context, now time.Time) error {
	_, err := s.counters.DeleteMany(ctx, bson.D{{Key: "exp", Value: bson.D{{Key: "$gt", Value: 0}, {Key: "$lte", Value: now.UnixMilli()}}}})
	if err != nil {
		return domain.Internal("mongo: sweep", err)
	}
	return nil
}
