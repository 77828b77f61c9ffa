package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/vetfield/vetfield/domain"
)

// entry is one change-log entry in _changes. It is never modified after it is inserted; its
// outcome lives in _outcomes. See the package documentation for the protocol.
type entry struct {
	Seq       int64    `bson:"_id"`
	Coll      string   `bson:"coll"`
	ID        string   `bson:"id"`
	Version   int64    `bson:"v"`
	Scope     []string `bson:"scope"`
	PrevScope []string `bson:"prev_scope"`
	W         int64    `bson:"w"`    // the write's identity: the seq of its first entry, kept in the document's _seq
	Prev      int64    `bson:"prev"` // the identity of the write this one replaced; 0 for an insert
	At        int64    `bson:"at"`   // Unix ms, when the entry was inserted
}

func (e *entry) change() domain.Change {
	return domain.Change{
		Seq: e.Seq, Collection: e.Coll, ID: e.ID, Version: e.Version,
		Scope: cloneScope(e.Scope), PrevScope: cloneScope(e.PrevScope), At: time.UnixMilli(e.At).UTC(),
	}
}

// relogAttempts bounds how often a writer logs a write again after readers gave up on it.
const relogAttempts = 5

// logged runs write, the write of a synced collection's document, under the change-log protocol:
// pending entry, document, outcome. write gets the identity to store in the document's _seq.
func (s *Store) logged(ctx context.Context, e *entry, write func(w int64) error) error {
	e.At = s.now().UnixMilli()
	if err := s.appendEntry(ctx, e); err != nil {
		return err
	}
	if s.afterLog != nil {
		if err := s.afterLog(ctx, e.Seq); err != nil {
			return err
		}
	}
	werr := write(e.W)
	if s.afterWrite != nil {
		if err := s.afterWrite(ctx, e.Seq); err != nil {
			return err
		}
	}
	if werr != nil {
		// A conflict or a missing document means the write did not happen: say so at once, so
		// readers need not wait. After any other failure it may have happened; the entry stays
		// pending and a reader will look.
		if domain.IsCode(werr, domain.ECONFLICT) || domain.IsCode(werr, domain.ENOTFOUND) {
			s.decide(ctx, e.Seq, false) // best effort, as above
		}
		return werr
	}
	for range relogAttempts {
		ok, err := s.decide(ctx, e.Seq, true)
		if err != nil || ok {
			// Committed, or undecided because the outcome could not be written: a reader will
			// then find this write in the document and commit the entry itself.
			return nil
		}
		// A reader decided this entry had failed before the document was written. Log the write
		// again, under a seq no reader has passed yet.
		again := *e
		again.Seq, again.At = 0, s.now().UnixMilli()
		if err := s.appendEntry(ctx, &again); err != nil {
			return domain.Internal("mongo: log again", err)
		}
		e = &again
	}
	return domain.Internal("mongo: log again", errors.New("readers keep aborting the entry"))
}

// appendEntry inserts e as the next entry of the log, pending, and sets e.Seq (and e.W for a
// write's first entry). It tries the seq after the last one this process saw and, when another
// writer took that seq, the next, jumping to the end of the log after a few misses: so entry n+1
// is only ever inserted after entry n exists, and the log has no holes except those a failover
// may cut. Appends from one process take turns, so that they race only other processes.
func (s *Store) appendEntry(ctx context.Context, e *entry) error {
	if err := s.logGate.lock(ctx); err != nil {
		return domain.Internal("mongo: log", err)
	}
	defer s.logGate.unlock()
	first := e.W == 0
	seq := s.seen.Load()
	if seq == 0 {
		last, err := s.lastSeq(ctx)
		if err != nil {
			return domain.Internal("mongo: log", err)
		}
		seq = last
	}
	for attempt := range maxAttempts {
		seq++
		e.Seq = seq
		if first {
			e.W = seq
		}
		_, err := s.changes.InsertOne(ctx, e)
		if err == nil {
			s.see(seq)
			return nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return domain.Internal("mongo: log", err)
		}
		if attempt%4 == 3 { // far behind: jump to the end
			backoff(ctx, attempt)
			last, err := s.lastSeq(ctx)
			if err != nil {
				return domain.Internal("mongo: log", err)
			}
			seq = max(seq, last)
		}
	}
	return domain.Internal("mongo: log", errors.New("too much contention on the change log"))
}

// see remembers that entry seq exists, so the next append can start after it.
func (s *Store) see(seq int64) {
	for {
		old := s.seen.Load()
		if seq <= old || s.seen.CompareAndSwap(old, seq) {
			return
		}
	}
}

func (s *Store) lastSeq(ctx context.Context) (int64, error) {
	var last struct {
		Seq int64 `bson:"_id"`
	}
	err := s.changes.FindOne(ctx, bson.D{},
		options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}}).SetProjection(bson.D{{Key: "_id", Value: 1}})).Decode(&last)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	return last.Seq, err
}

// decide records the outcome of entry seq unless it is already decided, and returns the outcome
// that stands. Whoever inserts first wins; outcomes never change.
func (s *Store) decide(ctx context.Context, seq int64, ok bool) (bool, error) {
	_, err := s.outcomes.InsertOne(ctx, bson.D{{Key: "_id", Value: seq}, {Key: "ok", Value: ok}})
	if err == nil {
		return ok, nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		return false, domain.Internal("mongo: decide", err)
	}
	var o struct {
		OK bool `bson:"ok"`
	}
	if err := s.outcomes.FindOne(ctx, bson.D{{Key: "_id", Value: seq}}).Decode(&o); err != nil {
		return false, domain.Internal("mongo: decide", err)
	}
	return o.OK, nil
}

// Changes returns committed change-log entries with Seq > after in Seq order, at most limit of
// them (0 means DefaultPageSize, more than MaxPageSize is clamped). It stops early at an entry
// whose writer may still commit; see the package documentation.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]domain.Change, error) {
	if limit <= 0 {
		limit = domain.DefaultPageSize
	}
	limit = min(limit, domain.MaxPageSize)
	out := []domain.Change{}
	partial := func(err error) ([]domain.Change, error) {
		if len(out) > 0 {
			return out, nil // the caller resumes after what it got and meets the error then
		}
		return nil, err
	}
	for len(out) < limit {
		// A few more than asked, for the aborted entries among them.
		cur, err := s.changes.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}},
			options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit-len(out)+16)))
		if err != nil {
			return partial(domain.Internal("mongo: changes", err))
		}
		var entries []entry
		if err := cur.All(ctx, &entries); err != nil {
			return partial(domain.Internal("mongo: changes", err))
		}
		if len(entries) == 0 {
			return out, nil
		}
		s.see(entries[len(entries)-1].Seq)
		outcomes, err := s.outcomesIn(ctx, after, entries[len(entries)-1].Seq)
		if err != nil {
			return partial(err)
		}
		for i := range entries {
			e := &entries[i]
			for hole := after + 1; hole < e.Seq; hole++ {
				ok, known := outcomes[hole]
				if !known {
					if s.young(e.At) {
						return out, nil // its writer may be about to insert it
					}
					if ok, err = s.decide(ctx, hole, false); err != nil {
						return partial(err)
					}
				}
				if ok {
					return out, nil // its entry arrived since the read: take it next time
				}
				after = hole
			}
			ok, known := outcomes[e.Seq]
			if !known {
				if s.young(e.At) {
					return out, nil // its writer may still commit
				}
				if ok, err = s.resolve(ctx, e); err != nil {
					return partial(err)
				}
			}
			after = e.Seq
			if ok {
				out = append(out, e.change())
				if len(out) == limit {
					return out, nil
				}
			}
		}
	}
	return out, nil
}

func (s *Store) outcomesIn(ctx context.Context, after, last int64) (map[int64]bool, error) {
	cur, err := s.outcomes.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}, {Key: "$lte", Value: last}}}})
	if err != nil {
		return nil, domain.Internal("mongo: changes", err)
	}
	var docs []struct {
		Seq int64 `bson:"_id"`
		OK  bool  `bson:"ok"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, domain.Internal("mongo: changes", err)
	}
	m := make(map[int64]bool, len(docs))
	for _, d := range docs {
		m[d.Seq] = d.OK
	}
	return m, nil
}

// young reports whether an entry written at at (Unix ms) is within the pending timeout.
func (s *Store) young(at int64) bool {
	return s.now().Sub(time.UnixMilli(at)) < s.pending
}

// resolve decides an entry whose writer went quiet: committed if its write is in the document.
func (s *Store) resolve(ctx context.Context, e *entry) (bool, error) {
	written, err := s.wasWritten(ctx, e)
	if err != nil {
		return false, err
	}
	return s.decide(ctx, e.Seq, written)
}

// maxChain bounds the walk back through a document's versions.
const maxChain = 10000

// wasWritten reports whether the write of e produced version e.Version of its document. The
// document's _seq names the write that produced its current version, and that write's first entry
// names, in prev, the write that produced the version before; following prev back to e.Version
// finds the write that produced it, which is e's if and only if it has e's identity.
func (s *Store) wasWritten(ctx context.Context, e *entry) (bool, error) {
	var doc struct {
		V   int64 `bson:"_v"`
		Seq int64 `bson:"_seq"`
	}
	err := s.db.Collection(e.Coll).FindOne(ctx, bson.D{{Key: fID, Value: e.ID}},
		options.FindOne().SetProjection(bson.D{{Key: fV, Value: 1}, {Key: fSeq, Value: 1}})).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	} else if err != nil {
		return false, domain.Internal("mongo: resolve", err)
	}
	v, w := doc.V, doc.Seq
	for steps := 0; v > e.Version; steps++ {
		if w == 0 || steps == maxChain {
			return false, nil // a version written without logging (the collection was not synced then)
		}
		var first struct {
			Prev int64 `bson:"prev"`
		}
		err := s.changes.FindOne(ctx, bson.D{{Key: "_id", Value: w}}, options.FindOne().SetProjection(bson.D{{Key: "prev", Value: 1}})).Decode(&first)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return false, nil
		} else if err != nil {
			return false, domain.Internal("mongo: resolve", err)
		}
		v, w = v-1, first.Prev
	}
	return v == e.Version && w == e.W, nil
}
