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
// nothing (neither the document nor a change-log entry) and returns ECONFLICT naming the key. It is
// a unit of work of one step.
func (s *Store) Insert(ctx context.Context, coll string, rec domain.Record) (domain.Record, error) {
	w := &domain.Writes{}
	w.Insert(coll, rec)
	res, err := s.apply(ctx, w, false)
	if err != nil {
		_, err = domain.FailedStep(err)
		return domain.Record{}, err
	}
	return res[0].Record, nil
}

// Update replaces the document if its stored version is still rec.Version and returns it with
// Version+1. The read of the old version and scope and the write share one IMMEDIATE transaction,
// so no other writer, in this process or another, can slip in between. It is a unit of work of one
// step.
func (s *Store) Update(ctx context.Context, coll string, rec domain.Record) (domain.Record, error) {
	w := &domain.Writes{}
	w.Update(coll, rec)
	res, err := s.apply(ctx, w, false)
	if err != nil {
		_, err = domain.FailedStep(err)
		return domain.Record{}, err
	}
	return res[0].Record, nil
}

// Apply runs the unit of work w in one IMMEDIATE transaction: every step lands, with its
// change-log entries, in one commit, or none does. The first failing step rolls the whole set
// back and is reported as a *domain.StepError. As the port asks of every engine, a step that
// finds its own work already stored (domain.Step.DoneBy) counts as done and writes nothing: SQLite
// never leaves a set half applied, but a caller written for engines that do may apply part of a
// set and then all of it.
func (s *Store) Apply(ctx context.Context, w *domain.Writes) ([]domain.Result, error) {
	if err := w.Check(); err != nil {
		return nil, err
	}
	if w.Len() == 0 {
		return []domain.Result{}, nil
	}
	return s.apply(ctx, w, true)
}

// step is one step of a unit of work checked and encoded for SQL, with its prepared statements.
type step struct {
	op    domain.StepOp
	c     *collection
	rec   domain.Record
	data  []byte
	scope any
	sts   []*sql.Stmt
	// key, delta and exp are a counter step's.
	key   string
	delta int64
	exp   int64
}

// apply prepares every step (checks, encoding, statements: preparing needs the pool's only
// connection, so it comes before the transaction), then runs them in one transaction. With
// idempotent, a step that finds its own work stored counts as done (Apply); without, it fails as
// the single writes Insert and Update promise.
func (s *Store) apply(ctx context.Context, w *domain.Writes, idempotent bool) ([]domain.Result, error) {
	steps := make([]step, w.Len())
	for i, ws := range w.Steps() {
		st, err := s.prepareStep(ctx, ws)
		if err != nil {
			return nil, &domain.StepError{Step: i, Err: err}
		}
		steps[i] = st
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, domain.Internal("sqlite: apply", err)
	}
	defer tx.Rollback()
	out := make([]domain.Result, len(steps))
	for i := range steps {
		out[i], err = s.runStep(ctx, tx, &steps[i])
		if err != nil && idempotent && redone(err, steps[i].op) {
			var done bool
			if out[i].Record, done, err = s.doneIn(ctx, tx, w.Steps()[i], steps[i].c, err); done {
				continue
			}
		}
		if err != nil {
			return nil, &domain.StepError{Step: i, Err: err}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, domain.Internal("sqlite: apply", err)
	}
	return out, nil
}

func (s *Store) prepareStep(ctx context.Context, ws domain.Step) (step, error) {
	st := step{op: ws.Op, rec: ws.Rec}
	var qs []string
	switch ws.Op {
	case domain.StepIncr:
		if !ws.Expires.IsZero() {
			st.exp = ws.Expires.UnixMilli()
		}
		st.key, st.delta = ws.Key, ws.Delta
		qs = []string{incrSQL}
	case domain.StepInsert, domain.StepUpdate:
		c, err := s.coll(ws.Coll)
		if err != nil {
			return st, err
		}
		st.c = c
		if ws.Op == domain.StepInsert {
			if err := checkID(ws.Rec.ID); err != nil {
				return st, err
			}
		}
		if st.data, err = checkDoc(c, ws.Rec.Data); err != nil {
			return st, err
		}
		if st.scope, err = scopeJSON(ws.Rec.Scope); err != nil {
			return st, domain.Internal("sqlite: "+string(ws.Op), err)
		}
		if ws.Op == domain.StepInsert {
			qs = []string{"INSERT INTO " + c.table + " (id, version, scope, data) VALUES (?, 1, ?, ?)", logChangeSQL, logBucketSQL}
		} else {
			qs = []string{
				"SELECT version, scope FROM " + c.table + " WHERE id = ?",
				"UPDATE " + c.table + " SET version = ?, scope = ?, data = ? WHERE id = ?",
				logChangeSQL, logBucketSQL,
			}
		}
	default:
		return st, domain.Errorf(domain.EINVALID, "unknown op %q", ws.Op)
	}
	for _, q := range qs {
		p, err := s.ws.get(ctx, q)
		if err != nil {
			return st, domain.Internal("sqlite: "+string(ws.Op), err)
		}
		st.sts = append(st.sts, p)
	}
	return st, nil
}

// runStep runs one prepared step inside tx.
func (s *Store) runStep(ctx context.Context, tx *sql.Tx, st *step) (domain.Result, error) {
	switch st.op {
	case domain.StepIncr:
		var v int64
		if err := tx.StmtContext(ctx, st.sts[0]).QueryRowContext(ctx, st.key, st.delta, st.exp, s.now().UnixMilli()).Scan(&v); err != nil {
			return domain.Result{}, domain.Internal("sqlite: incr", err)
		}
		return domain.Result{Value: v}, nil
	case domain.StepInsert:
		return s.insertIn(ctx, tx, st)
	}
	return s.updateIn(ctx, tx, st)
}

// redone reports whether err is how a step meets its own earlier work: an insert its taken id, an
// update its moved-on version.
func redone(err error, op domain.StepOp) bool {
	var e *domain.Error
	if !errors.As(err, &e) || e.Code != domain.ECONFLICT {
		return false
	}
	return (op == domain.StepInsert && e.Key == "_id") || (op == domain.StepUpdate && e.Key == "_version")
}

// doneIn reads, inside the set's transaction, the document step names and reports whether it
// holds exactly the step's work; if not, the step's own error stepErr stands.
func (s *Store) doneIn(ctx context.Context, tx *sql.Tx, step domain.Step, c *collection, stepErr error) (domain.Record, bool, error) {
	rec, err := scanRecord(tx.QueryRowContext(ctx, "SELECT "+recordCols+" FROM "+c.table+" WHERE id = ?", step.Rec.ID))
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return domain.Record{}, false, stepErr
		}
		return domain.Record{}, false, domain.Internal("sqlite: apply", err)
	}
	if !step.DoneBy(rec) {
		return domain.Record{}, false, stepErr
	}
	return rec, true, nil
}

func (s *Store) insertIn(ctx context.Context, tx *sql.Tx, st *step) (domain.Result, error) {
	c, rec := st.c, st.rec
	_, err := tx.StmtContext(ctx, st.sts[0]).ExecContext(ctx, rec.ID, st.scope, string(st.data))
	if isUnique(err) {
		return domain.Result{}, s.conflict(ctx, tx, c, rec.ID, st.data, true)
	} else if err != nil {
		return domain.Result{}, domain.Internal("sqlite: insert", err)
	}
	if c.synced {
		if err := s.logChange(ctx, tx.StmtContext(ctx, st.sts[1]), tx.StmtContext(ctx, st.sts[2]), c.name, rec.ID, 1, rec.Scope, nil); err != nil {
			return domain.Result{}, err
		}
	}
	return domain.Result{Record: domain.Record{ID: rec.ID, Version: 1, Scope: cloneScope(rec.Scope), Data: st.data}}, nil
}

func (s *Store) updateIn(ctx context.Context, tx *sql.Tx, st *step) (domain.Result, error) {
	c, rec := st.c, st.rec
	var version int64
	var prevScope sql.NullString
	err := tx.StmtContext(ctx, st.sts[0]).QueryRowContext(ctx, rec.ID).Scan(&version, &prevScope)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Result{}, notFound(c.name)
	} else if err != nil {
		return domain.Result{}, domain.Internal("sqlite: update", err)
	}
	if version != rec.Version {
		return domain.Result{}, versionConflict()
	}
	_, err = tx.StmtContext(ctx, st.sts[1]).ExecContext(ctx, version+1, st.scope, string(st.data), rec.ID)
	if isUnique(err) {
		return domain.Result{}, s.conflict(ctx, tx, c, rec.ID, st.data, false)
	} else if err != nil {
		return domain.Result{}, domain.Internal("sqlite: update", err)
	}
	if c.synced {
		prev, err := parseScope(prevScope)
		if err != nil {
			return domain.Result{}, domain.Internal("sqlite: update", err)
		}
		if err := s.logChange(ctx, tx.StmtContext(ctx, st.sts[2]), tx.StmtContext(ctx, st.sts[3]), c.name, rec.ID, version+1, rec.Scope, prev); err != nil {
			return domain.Result{}, err
		}
	}
	return domain.Result{Record: domain.Record{ID: rec.ID, Version: version + 1, Scope: cloneScope(rec.Scope), Data: st.data}}, nil
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
