package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/vetfield/vetfield/domain"
)

const logChangeSQL = "INSERT INTO changes (coll, id, version, scope, prev_scope, at) VALUES (?, ?, ?, ?, ?, ?)"

// logChange appends an entry to the change log inside the write's transaction. The seq is assigned
// here, while the transaction holds the write lock, so seqs commit in increasing order and a
// rolled-back write leaves no entry and uses up no seq. st is logChangeSQL in the write's
// transaction.
func (s *Store) logChange(ctx context.Context, st *sql.Stmt, coll, id string, version int64, scope, prevScope any) error {
	_, err := st.ExecContext(ctx, coll, id, version, scope, prevScope, s.now().UnixMilli())
	if err != nil {
		return domain.Internal("sqlite: log change", err)
	}
	return nil
}

// Changes returns change-log entries with Seq > after in Seq order, at most limit of them (0 means
// DefaultPageSize, more than MaxPageSize is clamped). On SQLite every entry a reader can see is
// committed and no earlier seq can commit later, so there is nothing to wait for.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]domain.Change, error) {
	if limit <= 0 {
		limit = domain.DefaultPageSize
	}
	limit = min(limit, domain.MaxPageSize)
	st, err := s.rs.get(ctx, "SELECT seq, coll, id, version, scope, prev_scope, at FROM changes WHERE seq > ? ORDER BY seq LIMIT ?")
	if err != nil {
		return nil, domain.Internal("sqlite: changes", err)
	}
	rows, err := st.QueryContext(ctx, after, limit)
	if err != nil {
		return nil, domain.Internal("sqlite: changes", err)
	}
	defer rows.Close()
	out := []domain.Change{}
	for rows.Next() {
		var ch domain.Change
		var scope, prev sql.NullString
		var at int64
		if err := rows.Scan(&ch.Seq, &ch.Collection, &ch.ID, &ch.Version, &scope, &prev, &at); err != nil {
			return nil, domain.Internal("sqlite: changes", err)
		}
		if ch.Scope, err = parseScope(scope); err != nil {
			return nil, domain.Internal("sqlite: changes", err)
		}
		if ch.PrevScope, err = parseScope(prev); err != nil {
			return nil, domain.Internal("sqlite: changes", err)
		}
		ch.At = time.UnixMilli(at).UTC()
		out = append(out, ch)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, domain.Internal("sqlite: changes", err)
	}
	return out, nil
}

// Incr adds delta to the named counter and returns the new value in one statement, atomic across
// processes. A counter whose expiry has passed starts again from zero, as if Sweep had already
// removed it; the expiry is set only when the counter is (re)created.
func (s *Store) Incr(ctx context.Context, key string, delta int64, expires time.Time) (int64, error) {
	var exp int64
	if !expires.IsZero() {
		exp = expires.UnixMilli()
	}
	now := s.now().UnixMilli()
	st, err := s.ws.get(ctx, incrSQL)
	if err != nil {
		return 0, domain.Internal("sqlite: incr", err)
	}
	var v int64
	if err := st.QueryRowContext(ctx, key, delta, exp, now).Scan(&v); err != nil {
		return 0, domain.Internal("sqlite: incr", err)
	}
	return v, nil
}

const incrSQL = `
INSERT INTO counters (key, value, expires) VALUES (?1, ?2, ?3)
ON CONFLICT (key) DO UPDATE SET
	value = CASE WHEN expires != 0 AND expires <= ?4 THEN excluded.value ELSE value + excluded.value END,
	expires = CASE WHEN expires != 0 AND expires <= ?4 THEN excluded.expires ELSE expires END
RETURNING value`

// Sweep removes counters that expired by now, and the documents of expiring collections whose
// expiry is at or before now: one statement each, over the index the expiry field leads. A
// document without the field holds -Inf there (fieldExpr) and is kept; one whose field is text
// sorts above every number and is kept too. Several processes may sweep at once.
func (s *Store) Sweep(ctx context.Context, now time.Time) error {
	ms := now.UnixMilli()
	if _, err := s.write.ExecContext(ctx, "DELETE FROM counters WHERE expires != 0 AND expires <= ?", ms); err != nil {
		return domain.Internal("sqlite: sweep", err)
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
		q := "DELETE FROM " + c.table + " WHERE " + c.expires + " > -9e999 AND " + c.expires + " <= ?"
		if _, err := s.write.ExecContext(ctx, q, ms); err != nil {
			return domain.Internal("sqlite: sweep "+c.name, err)
		}
	}
	return nil
}
