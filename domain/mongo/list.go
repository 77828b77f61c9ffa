package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/vetfield/vetfield/domain"
)

// List pages through a collection in the order of one declared index; see domain.Query. The
// filter and sort follow the index's keys, so MongoDB answers from the index; a missing field is
// null, which MongoDB sorts first.
func (s *Store) List(ctx context.Context, coll string, q domain.Query) (domain.Page, error) {
	c, err := s.coll(coll)
	if err != nil {
		return domain.Page{}, err
	}
	x := c.indexes[q.Index]
	if x == nil {
		return domain.Page{}, domain.Invalid("index", "%s has no index %q", coll, q.Index)
	}
	limit, err := q.PageLimit()
	if err != nil {
		return domain.Page{}, err
	}
	if len(q.Eq) > len(x.fields) {
		return domain.Page{}, domain.Invalid("eq", "index %s has %d fields, got %d values", x.name, len(x.fields), len(q.Eq))
	}
	filter := bson.D{}
	for i, v := range q.Eq {
		qv, ok := queryValue(v)
		if !ok {
			return domain.Page{}, domain.Invalid("eq", "index values must be strings, integers or booleans")
		}
		filter = append(filter, bson.E{Key: x.fields[i], Value: qv})
	}
	rest := len(q.Eq)
	if q.From != nil || q.To != nil {
		if rest == len(x.fields) {
			return domain.Page{}, domain.Invalid("from", "a range needs an index field after the equal ones")
		}
		r := bson.D{}
		for _, b := range []struct {
			v  any
			op string
		}{{q.From, "$gte"}, {q.To, "$lt"}} {
			if b.v == nil {
				continue
			}
			qv, ok := queryValue(b.v)
			if !ok {
				return domain.Page{}, domain.Invalid("from", "index values must be strings, integers or booleans")
			}
			r = append(r, bson.E{Key: b.op, Value: qv})
		}
		filter = append(filter, bson.E{Key: x.fields[rest], Value: r})
	}

	// The order: the index fields after the equal ones, then _id unless the index is unique (its
	// fields are then present and distinct in every document, so they order completely).
	order := append([]string(nil), x.fields[rest:]...)
	if !x.unique {
		order = append(order, fID)
	}
	dir := 1
	if q.Desc {
		dir = -1
	}
	sort := bson.D{}
	for _, f := range order {
		sort = append(sort, bson.E{Key: f, Value: dir})
	}
	if q.After != "" {
		vals, id, err := decodeCursor(q.After, len(x.fields))
		if err != nil {
			return domain.Page{}, err
		}
		after := vals[rest:]
		if !x.unique {
			after = append(after, id)
		}
		terms := afterTerms(order, after, q.Desc)
		if len(terms) == 0 {
			return domain.Page{}, nil
		}
		filter = append(filter, bson.E{Key: "$or", Value: terms})
	}

	opts := options.Find().SetLimit(int64(limit + 1))
	if len(sort) > 0 {
		opts.SetSort(sort)
	}
	cur, err := c.coll.Find(ctx, filter, opts)
	if err != nil {
		return domain.Page{}, domain.Internal("mongo: list", err)
	}
	var docs []bson.D
	if err := cur.All(ctx, &docs); err != nil {
		return domain.Page{}, domain.Internal("mongo: list", err)
	}
	var page domain.Page
	for i, d := range docs {
		if i == limit {
			last := docs[limit-1]
			vals := make([]any, len(x.fields))
			for j, f := range x.fields {
				vals[j] = cursorValue(lookup(last, f))
			}
			page.Next = encodeCursor(vals, page.Records[limit-1].ID)
			break
		}
		rec, err := record(d)
		if err != nil {
			return domain.Page{}, domain.Internal("mongo: list", err)
		}
		page.Records = append(page.Records, rec)
	}
	return page, nil
}

// afterTerms selects the documents after the cursor values vals in the order of fields, as the
// alternatives "(a after va) or (a = va and b after vb) or ...". A missing field (nil) sorts
// before every value, so going up everything present is after it, and going down nothing is;
// and comparisons in MongoDB only match values of the same type, so "after" going down must add
// the missing ones explicitly.
func afterTerms(fields []string, vals []any, desc bool) bson.A {
	terms := bson.A{}
	for j := range fields {
		term := bson.D{}
		for i := range j {
			term = append(term, bson.E{Key: fields[i], Value: vals[i]})
		}
		f, v := fields[j], vals[j]
		switch {
		case v == nil && desc:
			continue
		case v == nil:
			term = append(term, bson.E{Key: f, Value: bson.D{{Key: "$ne", Value: nil}}})
		case desc:
			term = append(term, bson.E{Key: "$or", Value: bson.A{
				bson.D{{Key: f, Value: bson.D{{Key: "$lt", Value: v}}}},
				bson.D{{Key: f, Value: nil}},
			}})
		default:
			term = append(term, bson.E{Key: f, Value: bson.D{{Key: "$gt", Value: v}}})
		}
		terms = append(terms, term)
	}
	return terms
}
