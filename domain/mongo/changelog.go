package mongo

import (
	"context"
	"errors"
	"slices"
	"strings"
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
	B         []string `bson:"b"`    // the buckets of scope and prev_scope (domain.Buckets), multikey-indexed with _id
	W         int64    `bson:"w"`    // the write's identity: the seq of its first entry, kept in the document's _seq
	Prev      int64    `bson:"prev"` // the identity of the write this one replaced; 0 for an insert
	At        int64    `bson:"at"`   // Unix ms, when the entry was inserted
	// Relog marks an entry logged again after readers aborted the first: its writer logs it only
	// once its write is in the document, so it is committed whoever decides it.
	Relog bool `bson:"relog,omitempty"`
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
	e.B = domain.Buckets(e.Scope, e.PrevScope)
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
		if err != nil {
			// Undecided because the outcome could not be written: a reader will find this
			// write in the document and commit the entry itself.
			return nil
		}
		if ok {
			// Committed — unless readers had aborted the entry and compaction then deleted it
			// with its outcome, so that this commit landed under the floor, where readers are
			// past it. Compaction raises the floor before it deletes, so the floor read now
			// tells; when in doubt, log again (a second entry costs a repeat, not a loss).
			floor, ferr := s.floor(ctx)
			if ferr == nil && e.Seq > floor {
				return nil
			}
		}
		// A reader decided this entry had failed before the document was written. Log the write
		// again, under a seq no reader has passed yet.
		again := *e
		again.Seq, again.At, again.Relog = 0, s.now().UnixMilli(), true
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
			// A seq that compaction freed must not be taken again: readers are past it. The
			// floor is raised before anything under it is deleted, so reading it now tells.
			floor, err := s.floor(ctx)
			if err != nil {
				return err // the entry stays pending, and readers decide it aborted
			}
			if seq > floor {
				s.see(seq)
				return nil
			}
			s.dropStray(ctx, seq)
			seq = max(seq, floor)
			continue
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

// floor returns the compaction floor: every seq at or under it is taken for good, whether its
// entry still exists or compaction deleted it. The floor is the highest _id of _floors, where
// compaction inserts each new floor before deleting under it: only ever inserted, so that it
// never moves back, whatever the engine's updates do.
func (s *Store) floor(ctx context.Context) (int64, error) {
	var f struct {
		Seq int64 `bson:"_id"`
	}
	err := s.floors.FindOne(ctx, bson.D{}, options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}})).Decode(&f)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	} else if err != nil {
		return 0, domain.Internal("mongo: log", err)
	}
	return f.Seq, nil
}

// dropStray undoes an entry inserted at a seq that compaction had freed: it is decided aborted
// (unless the deleted entry's outcome still stands, which hands out the record's current state
// once more, harmlessly) and deleted. Both are best effort: a reader that meets such an entry
// under the settled mark without an outcome decides it aborted itself.
func (s *Store) dropStray(ctx context.Context, seq int64) {
	s.decide(ctx, seq, false)
	s.changes.DeleteOne(ctx, bson.D{{Key: "_id", Value: seq}})
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
	out, _, err := s.walk(ctx, after, changesLimit(limit))
	return out, err
}

func changesLimit(limit int) int {
	if limit <= 0 {
		return domain.DefaultPageSize
	}
	return min(limit, domain.MaxPageSize)
}

// walk is Changes, and also returns the seq through which every entry and hole is decided: where
// it stopped.
func (s *Store) walk(ctx context.Context, after int64, limit int) ([]domain.Change, int64, error) {
	out := []domain.Change{}
	partial := func(err error) ([]domain.Change, int64, error) {
		if len(out) > 0 {
			return out, after, nil // the caller resumes after what it got and meets the error then
		}
		return nil, after, err
	}
	// Seqs at or under the floor that have no entry were compacted away, not lost: they are no
	// holes to wait for.
	floor, err := s.floor(ctx)
	if err != nil {
		return nil, after, err
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
			return out, after, nil
		}
		s.see(entries[len(entries)-1].Seq)
		for i := range entries {
			// An entry from a process older than buckets (a rolling upgrade): index it before
			// the settled mark passes it, so that readers by bucket find it.
			if e := &entries[i]; e.B == nil {
				e.B = domain.Buckets(e.Scope, e.PrevScope)
				if _, err := s.changes.UpdateOne(ctx, bson.D{{Key: "_id", Value: e.Seq}}, bson.D{{Key: "$set", Value: bson.D{{Key: "b", Value: e.B}}}}); err != nil {
					return partial(domain.Internal("mongo: changes", err))
				}
			}
		}
		outcomes, err := s.outcomesIn(ctx, after, entries[len(entries)-1].Seq)
		if err != nil {
			return partial(err)
		}
		for i := range entries {
			e := &entries[i]
			if after < floor {
				after = min(floor, e.Seq-1)
			}
			for hole := after + 1; hole < e.Seq; hole++ {
				ok, known := outcomes[hole]
				if !known {
					if s.young(e.At) {
						return out, after, nil // its writer may be about to insert it
					}
					if ok, err = s.decide(ctx, hole, false); err != nil {
						return partial(err)
					}
				}
				if ok {
					return out, after, nil // its entry arrived since the read: take it next time
				}
				after = hole
			}
			ok, known := outcomes[e.Seq]
			if !known {
				if s.young(e.At) {
					return out, after, nil // its writer may still commit
				}
				if ok, err = s.resolve(ctx, e); err != nil {
					return partial(err)
				}
			}
			after = e.Seq
			if ok {
				out = append(out, e.change())
				if len(out) == limit {
					return out, after, nil
				}
			}
		}
	}
	return out, after, nil
}

// settledKey names the document of _meta that holds the settled mark: a seq through which every
// entry and every hole of the log has its outcome.
const settledKey = "settled"

// settleRounds bounds the log one settle walks, so that a reader after a long quiet answers in
// bounded time; the next reader goes on from there.
const settleRounds = 20

// settle moves the settled mark as far as the log is decided, deciding for stale writers as
// Changes does, and returns it. The walk is shared: whoever settles moves the mark for every
// reader, so each entry is walked about once whatever the number of readers, and a bucket's
// reader pays for the rest of the log only by the entries written since the last settle, with
// their outcomes. The mark only ever stands at a decided seq, so a reader that reads no further
// never hands out an entry while an earlier one may still commit; a write that loses a race with
// another settler's (FerretDB's updates are not atomic) can move it back, which is safe: readers
// then wait a little longer.
func (s *Store) settle(ctx context.Context) (int64, error) {
	var mark struct {
		Seq int64 `bson:"seq"`
	}
	err := s.meta.FindOne(ctx, bson.D{{Key: "_id", Value: settledKey}}).Decode(&mark)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return 0, domain.Internal("mongo: settle", err)
	}
	at := mark.Seq
	for range settleRounds {
		out, pos, err := s.walk(ctx, at, domain.MaxPageSize)
		if err != nil {
			return 0, err
		}
		at = pos
		if len(out) < domain.MaxPageSize {
			break
		}
	}
	if at > mark.Seq {
		_, err := s.meta.UpdateOne(ctx, bson.D{{Key: "_id", Value: settledKey}, {Key: "seq", Value: bson.D{{Key: "$lt", Value: at}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "seq", Value: at}}}}, options.UpdateOne().SetUpsert(true))
		if err != nil && !mongo.IsDuplicateKeyError(err) { // a settler with a higher mark won
			return 0, domain.Internal("mongo: settle", err)
		}
	}
	return at, nil
}

// ChangesIn returns the committed entries with Seq > after in the buckets f selects, in Seq
// order, at most limit. It settles the log first and reads no further than the settled mark, so
// every entry it reads has its outcome and none before it can still commit; then it reads the
// buckets through the multikey index {b, _id}, a prefix expanded to its buckets first (a distinct
// on the index), so that MongoDB merges the buckets' ranges in _id order without sorting.
func (s *Store) ChangesIn(ctx context.Context, f domain.BucketFilter, after int64, limit int) ([]domain.Change, error) {
	if f.All {
		return s.Changes(ctx, after, limit)
	}
	limit = changesLimit(limit)
	settled, err := s.settle(ctx)
	if err != nil {
		return nil, err
	}
	buckets := slices.Clone(f.Buckets)
	for _, p := range f.Prefixes {
		if p == "" {
			return nil, domain.Errorf(domain.EINVALID, "an empty bucket prefix")
		}
		upper := p[:len(p)-1] + string(p[len(p)-1]+1)
		var in []string
		err := s.changes.Distinct(ctx, "b", bson.D{{Key: "b", Value: bson.D{{Key: "$gte", Value: p}, {Key: "$lt", Value: upper}}}}).Decode(&in)
		if err != nil {
			return nil, domain.Internal("mongo: changes in", err)
		}
		for _, b := range in {
			if strings.HasPrefix(b, p) { // distinct answers every value of a matching array
				buckets = append(buckets, b)
			}
		}
	}
	slices.Sort(buckets)
	buckets = slices.Compact(buckets)
	out := []domain.Change{}
	if len(buckets) == 0 {
		return out, nil
	}
	for len(out) < limit && after < settled {
		cur, err := s.changes.Find(ctx, bson.D{
			{Key: "b", Value: bson.D{{Key: "$in", Value: buckets}}},
			{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}, {Key: "$lte", Value: settled}}},
		}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit-len(out)+16)))
		if err != nil {
			return nil, domain.Internal("mongo: changes in", err)
		}
		var entries []entry
		if err := cur.All(ctx, &entries); err != nil {
			return nil, domain.Internal("mongo: changes in", err)
		}
		if len(entries) == 0 {
			break
		}
		seqs := make([]int64, len(entries))
		for i := range entries {
			seqs[i] = entries[i].Seq
		}
		outcomes, err := s.outcomesOf(ctx, seqs)
		if err != nil {
			return nil, err
		}
		for i := range entries {
			e := &entries[i]
			ok, known := outcomes[e.Seq]
			if !known {
				// Under the mark every seq was decided, and compaction deletes an entry before
				// its outcome: this is an entry a writer took at a freed seq and dropped (see
				// appendEntry). Its writer logs the write again elsewhere.
				if ok, err = s.decide(ctx, e.Seq, false); err != nil {
					return out, err
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

// outcomesOf returns the outcomes known for seqs.
func (s *Store) outcomesOf(ctx context.Context, seqs []int64) (map[int64]bool, error) {
	cur, err := s.outcomes.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: seqs}}}})
	if err != nil {
		return nil, domain.Internal("mongo: changes in", err)
	}
	var docs []struct {
		Seq int64 `bson:"_id"`
		OK  bool  `bson:"ok"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, domain.Internal("mongo: changes in", err)
	}
	m := make(map[int64]bool, len(docs))
	for _, d := range docs {
		m[d.Seq] = d.OK
	}
	return m, nil
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
	if e.Relog {
		return s.decide(ctx, e.Seq, true)
	}
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

// backfillBuckets gives the entries of a log written before buckets existed their buckets, so
// that ChangesIn finds them. Setting a field to the value every process computes alike is
// harmless when several processes open at once.
func (s *Store) backfillBuckets(ctx context.Context) error {
	cur, err := s.changes.Find(ctx, bson.D{{Key: "b", Value: bson.D{{Key: "$exists", Value: false}}}})
	if err != nil {
		return err
	}
	var old []entry
	if err := cur.All(ctx, &old); err != nil {
		return err
	}
	for _, e := range old {
		_, err := s.changes.UpdateOne(ctx, bson.D{{Key: "_id", Value: e.Seq}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "b", Value: domain.Buckets(e.Scope, e.PrevScope)}}}})
		if err != nil {
			return err
		}
	}
	return nil
}

// compactedKey names the document of _meta that holds how far compaction walked the log.
const compactedKey = "compacted"

// compactBatch is how many log entries one Compact looks at when given no limit.
const compactBatch = 1000

// Compact deletes entries that later committed entries of the same record make redundant
// (domain.Superseded), among the records written in the next batch of the log after where the
// last compaction stopped. It compacts only below the settled mark, where every entry has its
// outcome, and raises the floor of the log (see floor) before it deletes; see the package
// documentation for why deleting an entry never loses a change.
func (s *Store) Compact(ctx context.Context, limit int) (int, bool, error) {
	if limit <= 0 {
		limit = compactBatch
	}
	settled, err := s.settle(ctx)
	if err != nil {
		return 0, false, err
	}
	var mark struct {
		Seq int64 `bson:"seq"`
	}
	err = s.meta.FindOne(ctx, bson.D{{Key: "_id", Value: compactedKey}}).Decode(&mark)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return 0, false, domain.Internal("mongo: compact", err)
	}
	cur, err := s.changes.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: mark.Seq}, {Key: "$lte", Value: settled}}}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)).
			SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "coll", Value: 1}, {Key: "id", Value: 1}, {Key: "at", Value: 1}}))
	if err != nil {
		return 0, false, domain.Internal("mongo: compact", err)
	}
	var batch []entry
	if err := cur.All(ctx, &batch); err != nil {
		return 0, false, domain.Internal("mongo: compact", err)
	}
	type rec struct{ coll, id string }
	var recs []rec
	seen := map[rec]bool{}
	to, done := mark.Seq, len(batch) < limit
	for _, e := range batch {
		to = e.Seq
		if r := (rec{e.Coll, e.ID}); !seen[r] {
			seen[r] = true
			recs = append(recs, r)
		}
	}
	if to == mark.Seq {
		return 0, true, nil
	}
	// Raise the floor before deleting under it, so that no writer takes a freed seq for good.
	if _, err := s.floors.InsertOne(ctx, bson.D{{Key: "_id", Value: to}}); err != nil && !mongo.IsDuplicateKeyError(err) {
		return 0, false, domain.Internal("mongo: compact", err)
	}
	if _, err := s.floors.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$lt", Value: to}}}}); err != nil {
		return 0, false, domain.Internal("mongo: compact", err)
	}
	deleted := 0
	for _, r := range recs {
		cur, err := s.changes.Find(ctx, bson.D{{Key: "coll", Value: r.coll}, {Key: "id", Value: r.id},
			{Key: "_id", Value: bson.D{{Key: "$lte", Value: to}}}}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
		if err != nil {
			return deleted, false, domain.Internal("mongo: compact", err)
		}
		var entries []entry
		if err := cur.All(ctx, &entries); err != nil {
			return deleted, false, domain.Internal("mongo: compact", err)
		}
		seqs := make([]int64, len(entries))
		for i := range entries {
			seqs[i] = entries[i].Seq
		}
		outcomes, err := s.outcomesOf(ctx, seqs)
		if err != nil {
			return deleted, false, err
		}
		// Aborted entries are never handed out: they go. Committed ones go when covered.
		var gone []int64
		var committed []domain.Change
		for i := range entries {
			if ok, known := outcomes[entries[i].Seq]; known && ok {
				committed = append(committed, entries[i].change())
			} else if known {
				gone = append(gone, entries[i].Seq)
			}
		}
		for i, covered := range domain.Superseded(committed) {
			if covered {
				gone = append(gone, committed[i].Seq)
			}
		}
		if len(gone) == 0 {
			continue
		}
		// The entry first, then its outcome: an outcome without its entry is harmless, an entry
		// without its outcome would look pending.
		res, err := s.changes.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: gone}}}})
		if err != nil {
			return deleted, false, domain.Internal("mongo: compact", err)
		}
		deleted += int(res.DeletedCount)
		if _, err := s.outcomes.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: gone}}}}); err != nil {
			return deleted, false, domain.Internal("mongo: compact", err)
		}
	}
	if to > mark.Seq {
		_, err := s.meta.UpdateOne(ctx, bson.D{{Key: "_id", Value: compactedKey}, {Key: "seq", Value: bson.D{{Key: "$lt", Value: to}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "seq", Value: to}}}}, options.UpdateOne().SetUpsert(true))
		if err != nil && !mongo.IsDuplicateKeyError(err) {
			return deleted, false, domain.Internal("mongo: compact", err)
		}
	}
	return deleted, done, nil
}
