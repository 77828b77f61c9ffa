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

// Field names the adapter keeps in every document.
const (
	fID    = "_id"
	fV     = "_v"
	fScope = "_scope"
	fSeq   = "_seq"
)

// record turns a stored document into a Record.
func record(d bson.D) (domain.Record, error) {
	var rec domain.Record
	for _, e := range d {
		switch e.Key {
		case fID:
			id, ok := e.Value.(string)
			if !ok {
				return rec, fmt.Errorf("_id is a %T", e.Value)
			}
			rec.ID = id
		case fV:
			rec.Version = int64Of(e.Value)
		case fScope:
			scope, err := scopeOf(e.Value)
			if err != nil {
				return rec, err
			}
			rec.Scope = scope
		}
	}
	data, err := toJSON(d)
	if err != nil {
		return rec, err
	}
	rec.Data = data
	return rec, nil
}

// stored builds the document to store: the adapter's fields, then the data's.
func stored(id string, version int64, scope []string, seq int64, data bson.D) bson.D {
	d := make(bson.D, 0, len(data)+4)
	d = append(d, bson.E{Key: fID, Value: id}, bson.E{Key: fV, Value: version}, bson.E{Key: fScope, Value: scopeValue(scope)})
	if seq != 0 {
		d = append(d, bson.E{Key: fSeq, Value: seq})
	}
	return append(d, data...)
}

func notFound(coll string) error {
	return domain.Errorf(domain.ENOTFOUND, "no such document in %s", coll)
}

func versionConflict() error {
	return &domain.Error{Code: domain.ECONFLICT, Key: "_version",
		Message: "the document was changed since it was read; read it again and retry"}
}

// findOne returns the one document matching filter as a Record, or ENOTFOUND.
func (s *Store) findOne(ctx context.Context, c *collection, op string, filter bson.D) (domain.Record, error) {
	var d bson.D
	err := c.coll.FindOne(ctx, filter).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return domain.Record{}, notFound(c.name)
	} else if err != nil {
		return domain.Record{}, domain.Internal("mongo: "+op, err)
	}
	rec, err := record(d)
	if err != nil {
		return domain.Record{}, domain.Internal("mongo: "+op, err)
	}
	return rec, nil
}

// Get returns the document with id, or ENOTFOUND.
func (s *Store) Get(ctx context.Context, coll, id string) (domain.Record, error) {
	c, err := s.coll(coll)
	if err != nil {
		return domain.Record{}, err
	}
	return s.findOne(ctx, c, "get", bson.D{{Key: fID, Value: id}})
}

// getManyBatch keeps each $in list and its reply small.
const getManyBatch = 500

// GetMany returns the documents with the given ids that exist, in no particular order.
func (s *Store) GetMany(ctx context.Context, coll string, ids []string) ([]domain.Record, error) {
	c, err := s.coll(coll)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Record, 0, len(ids))
	for len(ids) > 0 {
		batch := ids[:min(len(ids), getManyBatch)]
		ids = ids[len(batch):]
		cur, err := c.coll.Find(ctx, bson.D{{Key: fID, Value: bson.D{{Key: "$in", Value: batch}}}})
		if err != nil {
			return nil, domain.Internal("mongo: get many", err)
		}
		var docs []bson.D
		if err := cur.All(ctx, &docs); err != nil {
			return nil, domain.Internal("mongo: get many", err)
		}
		for _, d := range docs {
			rec, err := record(d)
			if err != nil {
				return nil, domain.Internal("mongo: get many", err)
			}
			out = append(out, rec)
		}
	}
	return out, nil
}

// GetBy returns the one document whose unique index has the given values, or ENOTFOUND.
func (s *Store) GetBy(ctx context.Context, coll, index string, values ...any) (domain.Record, error) {
	c, err := s.coll(coll)
	if err != nil {
		return domain.Record{}, err
	}
	x := c.indexes[index]
	if x == nil || !x.unique {
		return domain.Record{}, domain.Errorf(domain.EINVALID, "%s has no unique index %q", coll, index)
	}
	if len(values) != len(x.fields) {
		return domain.Record{}, domain.Errorf(domain.EINVALID, "index %s has %d fields, got %d values", index, len(x.fields), len(values))
	}
	filter := bson.D{}
	for i, v := range values {
		qv, ok := queryValue(v)
		if !ok {
			return domain.Record{}, domain.Errorf(domain.EINVALID, "index values must be strings, integers or booleans")
		}
		if qv == nil {
			return domain.Record{}, notFound(coll) // unique index fields are always present
		}
		filter = append(filter, bson.E{Key: x.fields[i], Value: qv})
	}
	return s.findOne(ctx, c, "get by", filter)
}

// prepare checks a record for writing and converts its data.
func prepare(c *collection, rec domain.Record) (bson.D, error) {
	if err := checkID(rec.ID); err != nil {
		return nil, err
	}
	data, err := toBSON(rec.Data)
	if err != nil {
		return nil, err
	}
	if err := checkIndexed(c, data); err != nil {
		return nil, err
	}
	return data, nil
}

// Insert stores a new document with Version 1. If the id or a unique key is taken it writes
// nothing and returns ECONFLICT naming the key.
func (s *Store) Insert(ctx context.Context, coll string, rec domain.Record) (domain.Record, error) {
	c, err := s.coll(coll)
	if err != nil {
		return domain.Record{}, err
	}
	data, err := prepare(c, rec)
	if err != nil {
		return domain.Record{}, err
	}
	insert := func(seq int64) error {
		_, err := c.coll.InsertOne(ctx, stored(rec.ID, 1, rec.Scope, seq, data))
		if err != nil {
			return s.writeError(ctx, c, "insert", rec.ID, data, true, err)
		}
		return nil
	}
	if c.synced {
		err = s.logged(ctx, &entry{Coll: c.name, ID: rec.ID, Version: 1, Scope: rec.Scope}, insert)
	} else {
		err = insert(0)
	}
	if err != nil {
		return domain.Record{}, err
	}
	return domain.Record{ID: rec.ID, Version: 1, Scope: cloneScope(rec.Scope), Data: mustJSON(data)}, nil
}

// Update replaces the document if its stored version is still rec.Version (a compare and swap on
// _v) and returns it with Version+1.
func (s *Store) Update(ctx context.Context, coll string, rec domain.Record) (domain.Record, error) {
	c, err := s.coll(coll)
	if err != nil {
		return domain.Record{}, err
	}
	data, err := prepare(c, rec)
	if err != nil {
		return domain.Record{}, err
	}
	next := rec.Version + 1
	replace := func(seq int64) error {
		res, err := c.coll.ReplaceOne(ctx, bson.D{{Key: fID, Value: rec.ID}, {Key: fV, Value: rec.Version}},
			stored(rec.ID, next, rec.Scope, seq, data))
		if err != nil {
			return s.writeError(ctx, c, "update", rec.ID, data, false, err)
		}
		if res.MatchedCount == 0 {
			return s.missedCAS(ctx, c, rec.ID)
		}
		return nil
	}
	if c.synced {
		// The entry needs the scope being replaced and the write that produced it; reading them
		// first also turns a stale version into ECONFLICT before anything is logged.
		var cur struct {
			V     int64  `bson:"_v"`
			Scope bson.A `bson:"_scope"`
			Seq   int64  `bson:"_seq"`
		}
		ferr := c.coll.FindOne(ctx, bson.D{{Key: fID, Value: rec.ID}},
			options.FindOne().SetProjection(bson.D{{Key: fV, Value: 1}, {Key: fScope, Value: 1}, {Key: fSeq, Value: 1}})).Decode(&cur)
		if errors.Is(ferr, mongo.ErrNoDocuments) {
			return domain.Record{}, notFound(coll)
		} else if ferr != nil {
			return domain.Record{}, domain.Internal("mongo: update", ferr)
		}
		if cur.V != rec.Version {
			return domain.Record{}, versionConflict()
		}
		prevScope, serr := scopeOf(cur.Scope)
		if serr != nil {
			return domain.Record{}, domain.Internal("mongo: update", serr)
		}
		e := &entry{Coll: c.name, ID: rec.ID, Version: next, Scope: rec.Scope, PrevScope: prevScope, Prev: cur.Seq}
		err = s.logged(ctx, e, replace)
	} else {
		err = replace(0)
	}
	if err != nil {
		return domain.Record{}, err
	}
	return domain.Record{ID: rec.ID, Version: next, Scope: cloneScope(rec.Scope), Data: mustJSON(data)}, nil
}

// missedCAS explains an update that matched nothing: the document is gone or its version moved.
func (s *Store) missedCAS(ctx context.Context, c *collection, id string) error {
	n, err := c.coll.CountDocuments(ctx, bson.D{{Key: fID, Value: id}})
	switch {
	case err != nil:
		return domain.Internal("mongo: update", err)
	case n == 0:
		return notFound(c.name)
	}
	return versionConflict()
}

// writeError explains a failed insert or replace. MongoDB reports a duplicate key with code
// 11000; FerretDB 1.24 does so for inserts but reports a unique-index clash on update as an
// internal error, and neither says reliably which index clashed. So after any failure the
// adapter looks for the document holding the key: documents are never deleted, so one that
// clashed is still there (except in an expiring collection, where Sweep may have removed it since:
// then the failure is reported as it came, and the caller's retry finds the key free).
func (s *Store) writeError(ctx context.Context, c *collection, op, id string, data bson.D, checkID bool, werr error) error {
	if checkID && mongo.IsDuplicateKeyError(werr) {
		n, err := c.coll.CountDocuments(ctx, bson.D{{Key: fID, Value: id}})
		if err == nil && n > 0 {
			return &domain.Error{Code: domain.ECONFLICT, Key: "_id", Message: "a document with this id already exists"}
		}
	}
	for _, x := range c.order {
		if !x.unique {
			continue
		}
		filter := bson.D{{Key: fID, Value: bson.D{{Key: "$ne", Value: id}}}}
		for _, f := range x.fields {
			filter = append(filter, bson.E{Key: f, Value: lookup(data, f)})
		}
		n, err := c.coll.CountDocuments(ctx, filter)
		if err == nil && n > 0 {
			return &domain.Error{Code: domain.ECONFLICT, Key: x.name,
				Message: "another document already has the same " + strings.Join(x.fields, ", ")}
		}
	}
	return domain.Internal("mongo: "+op, werr)
}

func mustJSON(d bson.D) []byte {
	b, err := toJSON(d)
	if err != nil {
		panic(err) // d came from toBSON, which produces only types toJSON writes
	}
	return b
}

func cloneScope(scope []string) []string {
	if len(scope) == 0 {
		return nil
	}
	return append([]string(nil), scope...)
}
