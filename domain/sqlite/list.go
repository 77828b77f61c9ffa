package sqlite

import (
	"context"
	"errors"
	"strings"

	"github.com/vetfield/vetfield/domain"
)

// List pages through a collection in the order of one declared index; see domain.Query. The WHERE
// and ORDER BY clauses use the index's own expressions, so SQLite walks the index and stops after
// one page, however deep the page is.
func (s *Store) List(ctx context.Context, coll string, q domain.Query) (domain.Page, error) {
	c, err := s.coll(coll)
	if err != nil {
		return domain.Page{}, err
	}
	query, args, x, limit, err := listQuery(c, q)
	if err != nil || query == "" {
		return domain.Page{}, err
	}
	st, err := s.rs.get(ctx, query)
	if err != nil {
		return domain.Page{}, domain.Internal("sqlite: list", err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return domain.Page{}, domain.Internal("sqlite: list", err)
	}
	defer rows.Close()
	var page domain.Page
	var last []any
	for rows.Next() {
		if len(page.Records) == limit {
			page.Next = encodeCursor(last, page.Records[limit-1].ID)
			break
		}
		vals := make([]any, len(x.cols))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		rec, err := scanRecord(rows, ptrs...)
		if err != nil {
			return domain.Page{}, domain.Internal("sqlite: list", err)
		}
		page.Records = append(page.Records, rec)
		last = vals
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return domain.Page{}, domain.Internal("sqlite: list", err)
	}
	return page, nil
}

// listQuery builds List's statement: it selects the records, then the index's values (for the
// cursor), one more row than the page holds (to know whether there is a next page). An empty
// query with no error means the answer is an empty page.
func listQuery(c *collection, q domain.Query) (query string, args []any, x *index, limit int, err error) {
	x = c.indexes[q.Index]
	if x == nil {
		return "", nil, nil, 0, domain.Invalid("index", "%s has no index %q", c.name, q.Index)
	}
	if limit, err = q.PageLimit(); err != nil {
		return "", nil, nil, 0, err
	}
	if len(q.Eq) > len(x.fields) {
		return "", nil, nil, 0, domain.Invalid("eq", "index %s has %d fields, got %d values", x.name, len(x.fields), len(q.Eq))
	}
	badValue := domain.Invalid("eq", "index values must be strings, integers or booleans")
	var where []string
	for i, v := range q.Eq {
		sv, ok := sqlValue(v)
		if !ok {
			return "", nil, nil, 0, badValue
		}
		where = append(where, x.cols[i]+" = ?")
		args = append(args, sv)
	}
	rest := len(q.Eq)
	if q.From != nil || q.To != nil {
		if rest == len(x.fields) {
			return "", nil, nil, 0, domain.Invalid("from", "a range needs an index field after the equal ones")
		}
		from := q.From
		if from == nil {
			from = missing{} // a range never holds documents that lack the field
		}
		for _, b := range []struct {
			v  any
			op string
		}{{from, " >= ?"}, {q.To, " < ?"}} {
			if b.v == nil {
				continue
			}
			op := b.op
			if _, ok := b.v.(missing); ok {
				op = " > ?"
			}
			sv, ok := sqlValue(b.v)
			if !ok {
				return "", nil, nil, 0, domain.Invalid("from", "index values must be strings, integers or booleans")
			}
			where = append(where, x.cols[rest]+op)
			args = append(args, sv)
		}
	}

	// The order: the index fields after the equal ones, then id unless the index is unique (its
	// fields are then present and distinct in every document, so they order completely).
	order := append([]string(nil), x.cols[rest:]...)
	if !x.unique {
		order = append(order, "id")
	}
	if q.After != "" {
		vals, id, err := decodeCursor(q.After, len(x.fields))
		if err != nil {
			return "", nil, nil, 0, err
		}
		if len(order) == 0 {
			return "", nil, x, limit, nil // every field is fixed: the one possible document was on the first page
		}
		after := vals[rest:]
		if !x.unique {
			after = append(after, id)
		}
		op := " > "
		if q.Desc {
			op = " < "
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(order)), ", ")
		where = append(where, "("+strings.Join(order, ", ")+")"+op+"("+marks+")")
		args = append(args, after...)
	}

	var sb strings.Builder
	sb.WriteString("SELECT " + recordCols)
	for _, e := range x.cols {
		sb.WriteString(", " + e)
	}
	sb.WriteString(" FROM " + c.table)
	if len(where) > 0 {
		sb.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	if len(order) > 0 {
		dir := " ASC"
		if q.Desc {
			dir = " DESC"
		}
		sb.WriteString(" ORDER BY " + strings.Join(order, dir+", ") + dir)
	}
	sb.WriteString(" LIMIT ?")
	args = append(args, limit+1)

	return sb.String(), args, x, limit, nil
}
