package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/vetfield/vetfield/domain"
)

const recordCols = "id, version, scope, data"

type scanner interface{ Scan(dest ...any) error }

// scanRecord reads recordCols, then extra columns into extra.
func scanRecord(sc scanner, extra ...any) (domain.Record, error) {
	var rec domain.Record
	var scope sql.NullString
	var data string
	if err := sc.Scan(append([]any{&rec.ID, &rec.Version, &scope, &data}, extra...)...); err != nil {
		return rec, err
	}
	var err error
	if rec.Scope, err = parseScope(scope); err != nil {
		return rec, err
	}
	rec.Data = []byte(data)
	return rec, nil
}

func notFound(coll string) error {
	return domain.Errorf(domain.ENOTFOUND, "no such document in %s", coll)
}

// Get returns the document with id, or ENOTFOUND.
func (s *Store) Get(ctx context.Context, coll, id string) (domain.Record, error) {
	c, err := s.coll(coll)
	if err != nil {
		return domain.Record{}, err
	}
	st, err := s.rs.get(ctx, "SELECT "+recordCols+" FROM "+c.table+" WHERE id = ?")
	if err != nil {
		return domain.Record{}, domain.Internal("sqlite: get", err)
	}
	rec, err := scanRecord(st.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Record{}, notFound(coll)
	} else if err != nil {
		return domain.Record{}, domain.Internal("sqlite: get", err)
	}
	return rec, nil
}

// getManyBatch keeps the number of bound parameters well under SQLite's limit.
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
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		q := "SELECT " + recordCols + " FROM " + c.table + " WHERE id IN (?" + strings.Repeat(", ?", len(batch)-1) + ")"
		rows, err := s.read.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, domain.Internal("sqlite: get many", err)
		}
		for rows.Next() {
			rec, err := scanRecord(rows)
			if err != nil {
				rows.Close()
				return nil, domain.Internal("sqlite: get many", err)
			}
			out = append(out, rec)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, domain.Internal("sqlite: get many", err)
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
	query, args, err := getByQuery(c, index, values)
	if err != nil {
		return domain.Record{}, err
	}
	st, err := s.rs.get(ctx, query)
	if err != nil {
		return domain.Record{}, domain.Internal("sqlite: get by", err)
	}
	rec, err := scanRecord(st.QueryRowContext(ctx, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Record{}, notFound(coll)
	} else if err != nil {
		return domain.Record{}, domain.Internal("sqlite: get by", err)
	}
	return rec, nil
}

// getByQuery builds GetBy's statement with the unique index's own expressions.
func getByQuery(c *collection, index string, values []any) (string, []any, error) {
	x := c.indexes[index]
	if x == nil || !x.unique {
		return "", nil, domain.Errorf(domain.EINVALID, "%s has no unique index %q", c.name, index)
	}
	if len(values) != len(x.fields) {
		return "", nil, domain.Errorf(domain.EINVALID, "index %s has %d fields, got %d values", index, len(x.fields), len(values))
	}
	where := make([]string, len(values))
	args := make([]any, len(values))
	for i, v := range values {
		sv, ok := sqlValue(v)
		if !ok {
			return "", nil, domain.Errorf(domain.EINVALID, "index values must be strings, integers or booleans")
		}
		where[i], args[i] = x.cols[i]+" = ?", sv
	}
	return "SELECT " + recordCols + " FROM " + c.table + " WHERE " + strings.Join(where, " AND "), args, nil
}

// Insert stores a new document with Version 1. If the id or a unique key is taken it writes
// nothing (neither the document nor a change-log entry) and returns ECONFLICT naming the key.
func (s *Store) Insert(ctx context.Context, coll string, rec domain.Record) (domain.Record, error) {
	c, err := s.coll(coll)
	if err != nil {
		return domain.Record{}, err
	}
	if err := checkID(rec.ID); err != nil {
		return domain.Record{}, err
	}
	data, err := checkDoc(c, rec.Data)
	if err != nil {
		return domain.Record{}, err
	}
	scope, err := scopeJSON(rec.Scope)
	if err != nil {
		return domain.Record{}, domain.Internal("sqlite: insert", err)
	}
	ins, err := s.ws.get(ctx, "INSERT INTO "+c.table+" (id, version, scope, data) VALUES (?, 1, ?, ?)")
	if err != nil {
		return domain.Record{}, domain.Internal("sqlite: insert", err)
	}
	logSt, err := s.ws.get(ctx, logChangeSQL)
	if err != nil {
		return domain.Record{}, domain.Internal("sqlite: insert", err)
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return domain.Record{}, domain.Internal("sqlite: insert", err)
	}
	defer tx.Rollback()
	_, err = tx.StmtContext(ctx, ins).ExecContext(ctx, rec.ID, scope, string(data))
	if isUnique(err) {
		return domain.Record{}, s.conflict(ctx, tx, c, rec.ID, data, true)
	} else if err != nil {
		return domain.Record{}, domain.Internal("sqlite: insert", err)
	}
	if c.synced {
		if err := s.logChange(ctx, tx.StmtContext(ctx, logSt), c.name, rec.ID, 1, scope, nil); err != nil {
			return domain.Record{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return domain.Record{}, domain.Internal("sqlite: insert", err)
	}
	return domain.Record{ID: rec.ID, Version: 1, Scope: cloneScope(rec.Scope), Data: data}, nil
}

// Update replaces the document if its stored version is still rec.Version and returns it with
// Version+1. The read of the old version and scope and the write share one IMMEDIATE transaction,
// so no other writer, in this process or another, can slip in between.
func (s *Store) Update(ctx context.Context, coll string, rec domain.Record) (domain.Record, error) {
	c, err := s.coll(coll)
	if err != nil {
		return domain.Record{}, err
	}
	data, err := checkDoc(c, rec.Data)
	if err != nil {
		return domain.Record{}, err
	}
	scope, err := scopeJSON(rec.Scope)
	if err != nil {
		return domain.Record{}, domain.Internal("sqlite: update", err)
	}
	var sts [3]*sql.Stmt
	for i, q := range []string{
		"SELECT version, scope FROM " + c.table + " WHERE id = ?",
		"UPDATE " + c.table + " SET version = ?, scope = ?, data = ? WHERE id = ?",
		logChangeSQL,
	} {
		if sts[i], err = s.ws.get(ctx, q); err != nil {
			return domain.Record{}, domain.Internal("sqlite: update", err)
		}
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return domain.Record{}, domain.Internal("sqlite: update", err)
	}
	defer tx.Rollback()
	var version int64
	var prevScope sql.NullString
	err = tx.StmtContext(ctx, sts[0]).QueryRowContext(ctx, rec.ID).Scan(&version, &prevScope)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Record{}, notFound(coll)
	} else if err != nil {
		return domain.Record{}, domain.Internal("sqlite: update", err)
	}
	if version != rec.Version {
		return domain.Record{}, versionConflict()
	}
	_, err = tx.StmtContext(ctx, sts[1]).ExecContext(ctx, version+1, scope, string(data), rec.ID)
	if isUnique(err) {
		return domain.Record{}, s.conflict(ctx, tx, c, rec.ID, data, false)
	} else if err != nil {
		return domain.Record{}, domain.Internal("sqlite: update", err)
	}
	if c.synced {
		var prev any
		if prevScope.Valid {
			prev = prevScope.String
		}
		if err := s.logChange(ctx, tx.StmtContext(ctx, sts[2]), c.name, rec.ID, version+1, scope, prev); err != nil {
			return domain.Record{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return domain.Record{}, domain.Internal("sqlite: update", err)
	}
	return domain.Record{ID: rec.ID, Version: version + 1, Scope: cloneScope(rec.Scope), Data: data}, nil
}

func versionConflict() error {
	return &domain.Error{Code: domain.ECONFLICT, Key: "_version",
		Message: "the document was changed since it was read; read it again and retry"}
}

// conflict names the key that made a write fail with a unique violation. It runs inside the failed
// write's transaction, which holds the database's write lock, and documents are never deleted, so
// the clashing document it finds is the one SQLite found.
func (s *Store) conflict(ctx context.Context, tx *sql.Tx, c *collection, id string, data []byte, checkID bool) error {
	exists := func(q string, args ...any) (bool, error) {
		var one int
		err := tx.QueryRowContext(ctx, q, args...).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return err == nil, err
	}
	if checkID {
		ok, err := exists("SELECT 1 FROM "+c.table+" WHERE id = ?", id)
		if err != nil {
			return domain.Internal("sqlite: conflict", err)
		}
		if ok {
			return &domain.Error{Code: domain.ECONFLICT, Key: "_id", Message: "a document with this id already exists"}
		}
	}
	for _, x := range c.order {
		if !x.unique {
			continue
		}
		where := make([]string, len(x.fields))
		args := make([]any, 0, len(x.fields)+1)
		for i, f := range x.fields {
			where[i] = x.cols[i] + " = " + fieldExpr("?", f)
			args = append(args, string(data))
		}
		args = append(args, id)
		ok, err := exists("SELECT 1 FROM "+c.table+" WHERE "+strings.Join(where, " AND ")+" AND id != ? LIMIT 1", args...)
		if err != nil {
			return domain.Internal("sqlite: conflict", err)
		}
		if ok {
			return &domain.Error{Code: domain.ECONFLICT, Key: x.name,
				Message: "another document already has the same " + strings.Join(x.fields, ", ")}
		}
	}
	return domain.Internal("sqlite: conflict", errors.New("unique violation on no known key"))
}

func cloneScope(scope []string) []string {
	if len(scope) == 0 {
		return nil
	}
	return append([]string(nil), scope...)
}
