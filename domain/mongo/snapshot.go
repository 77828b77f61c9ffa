package mongo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/vetfield/vetfield/domain"
)

// The snapshot index lives in _snapshot, one immutable document per key and version:
// {_id: key + "\x1f" + version (16 hex digits), v, s, d}. A put inserts its version and then
// deletes the key's older ones; a reader walks _id in order and keeps the last version of each
// key. Nothing is updated in place, because FerretDB applies an update as a separate read and
// write: two projectors putting versions 5 and 6 of one key at once could otherwise leave 5. With
// inserts and deletes of older versions only, the newest version anyone put always survives.
//
// Sharded, _snapshot would be sharded on _id by range: its keys start with the bucket, so a
// district's first sync is a range read on one shard, and an oblast's districts sit together.

// snapshotDoc is one version of one key.
type snapshotDoc struct {
	ID    string   `bson:"_id"`
	V     int64    `bson:"v"`
	Scope []string `bson:"s"`
	Data  []byte   `bson:"d,omitempty"`
}

// versionSep ends a key inside an _id; every version suffix sorts after it and before "~".
const versionSep = "\x1f"

func snapshotID(key string, version int64) string {
	return fmt.Sprintf("%s%s%016x", key, versionSep, version)
}

// PutSnapshot stores entries; see domain.Snapshots.
func (s *Store) PutSnapshot(ctx context.Context, entries []domain.SnapshotEntry) error {
	if len(entries) == 0 {
		return nil
	}
	inserts := make([]mongo.WriteModel, 0, len(entries))
	for _, e := range entries {
		doc := snapshotDoc{ID: snapshotID(e.Key(), e.Version), V: e.Version, Scope: e.Scope, Data: e.Data}
		if doc.Scope == nil {
			doc.Scope = []string{}
		}
		inserts = append(inserts, mongo.NewInsertOneModel().SetDocument(doc))
	}
	// A version already there (a batch put again after a crash) is a duplicate key: done.
	_, err := s.snapshot.BulkWrite(ctx, inserts, options.BulkWrite().SetOrdered(false))
	if err != nil && !onlyDuplicates(err) {
		return domain.Internal("mongo: put snapshot", err)
	}
	deletes := make([]mongo.WriteModel, 0, len(entries))
	for _, e := range entries {
		k := e.Key() + versionSep
		deletes = append(deletes, mongo.NewDeleteManyModel().SetFilter(bson.D{{Key: "_id", Value: bson.D{
			{Key: "$gte", Value: k}, {Key: "$lt", Value: snapshotID(e.Key(), e.Version)}}}}))
	}
	if _, err := s.snapshot.BulkWrite(ctx, deletes, options.BulkWrite().SetOrdered(false)); err != nil {
		return domain.Internal("mongo: put snapshot", err)
	}
	return nil
}

// onlyDuplicates reports whether every error of a bulk write is a duplicate key.
func onlyDuplicates(err error) bool {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return false
	}
	for _, we := range bwe.WriteErrors {
		if we.Code != 11000 {
			return false
		}
	}
	return true
}

// Snapshot reads one range of the snapshot index; see domain.Snapshots. A key's versions are
// adjacent in _id order and only its last counts (older ones outlive a put when its delete ran
// before a concurrent put of an older version inserted it); a key is never answered with an
// older version than it has.
func (s *Store) Snapshot(ctx context.Context, r domain.SnapshotRange, after string, limit int) ([]domain.SnapshotEntry, string, error) {
	if limit <= 0 {
		limit = domain.DefaultPageSize
	}
	limit = min(limit, domain.MaxSnapshotPage)
	from := r.From
	if after != "" && after+versionSep+"~" > from {
		from = after + versionSep + "~" // past every version of after
	}
	cur, err := s.snapshot.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lt", Value: r.To}}}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)+1))
	if err != nil {
		return nil, "", domain.Internal("mongo: snapshot", err)
	}
	var docs []snapshotDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, "", domain.Internal("mongo: snapshot", err)
	}
	keyOf := func(d snapshotDoc) string { return d.ID[:strings.LastIndex(d.ID, versionSep)] }
	// Keep the last version of each key. When the read was cut short (one more document than the
	// page came back), the last key's versions may go on past it: that key is left for the next
	// call, or, when it is the only key read, its newest version is looked up on its own.
	full := len(docs) > limit
	var last []snapshotDoc
	for i, d := range docs {
		if i+1 < len(docs) && keyOf(docs[i+1]) == keyOf(d) {
			continue // an older version of a key whose newer one follows
		}
		last = append(last, d)
	}
	next := ""
	if full {
		if len(last) > 1 {
			last = last[:len(last)-1]
		} else {
			k := keyOf(last[0])
			err := s.snapshot.FindOne(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: k + versionSep}, {Key: "$lt", Value: k + versionSep + "~"}}}},
				options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}})).Decode(&last[0])
			if err != nil {
				return nil, "", domain.Internal("mongo: snapshot", err)
			}
		}
		next = keyOf(last[len(last)-1])
	}
	var out []domain.SnapshotEntry
	for _, d := range last {
		if d.Data == nil {
			continue
		}
		e := domain.SnapshotEntry{Version: d.V, Scope: d.Scope, Data: d.Data}
		if !domain.ParseSnapshotKey(keyOf(d), &e) {
			return nil, "", domain.Errorf(domain.EINTERNAL, "mongo: snapshot key %q", d.ID)
		}
		if len(e.Scope) == 0 {
			e.Scope = nil
		}
		out = append(out, e)
	}
	return out, next, nil
}
