package sqlite

import (
	"context"
	"errors"
	"strings"

	"github.com/vetfield/vetfield/domain"
)

// The snapshot index keeps a row's scope as its keys joined by spaces (no scope key holds one):
// a first sync reads a hundred thousand of them, and splitting a string costs a fraction of
// decoding a JSON array.
const (
	putSnapshotSQL = `INSERT INTO snapshot (k, version, scope, data) VALUES (?, ?, ?, ?)
		ON CONFLICT (k) DO UPDATE SET version = excluded.version, scope = excluded.scope, data = excluded.data
		WHERE excluded.version >= snapshot.version`
	snapshotSQL = `SELECT k, version, scope, data FROM snapshot WHERE k > ? AND k >= ? AND k < ? AND data IS NOT NULL ORDER BY k LIMIT ?`
)

// PutSnapshot stores entries in one transaction; see domain.Snapshots.
func (s *Store) PutSnapshot(ctx context.Context, entries []domain.SnapshotEntry) error {
	if len(entries) == 0 {
		return nil
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return domain.Internal("sqlite: put snapshot", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, putSnapshotSQL)
	if err != nil {
		return domain.Internal("sqlite: put snapshot", err)
	}
	defer st.Close()
	for _, e := range entries {
		var data any
		if e.Data != nil {
			data = []byte(e.Data)
		}
		if _, err := st.ExecContext(ctx, e.Key(), e.Version, strings.Join(e.Scope, " "), data); err != nil {
			return domain.Internal("sqlite: put snapshot", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return domain.Internal("sqlite: put snapshot", err)
	}
	return nil
}

// Snapshot reads one range of the snapshot index; see domain.Snapshots.
func (s *Store) Snapshot(ctx context.Context, r domain.SnapshotRange, after string, limit int) ([]domain.SnapshotEntry, string, error) {
	if limit <= 0 {
		limit = domain.DefaultPageSize
	}
	limit = min(limit, domain.MaxSnapshotPage)
	st, err := s.rs.get(ctx, snapshotSQL)
	if err != nil {
		return nil, "", domain.Internal("sqlite: snapshot", err)
	}
	rows, err := st.QueryContext(ctx, after, r.From, r.To, limit)
	if err != nil {
		return nil, "", domain.Internal("sqlite: snapshot", err)
	}
	defer rows.Close()
	out := make([]domain.SnapshotEntry, 0, limit)
	for rows.Next() {
		var k, scope string
		var data []byte
		var e domain.SnapshotEntry
		if err := rows.Scan(&k, &e.Version, &scope, &data); err != nil {
			return nil, "", domain.Internal("sqlite: snapshot", err)
		}
		if !domain.ParseSnapshotKey(k, &e) {
			return nil, "", domain.Errorf(domain.EINTERNAL, "sqlite: snapshot key %q", k)
		}
		e.Data = data
		if scope != "" {
			e.Scope = strings.Split(scope, " ")
		}
		out = append(out, e)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, "", domain.Internal("sqlite: snapshot", err)
	}
	if len(out) < limit {
		return out, "", nil
	}
	return out, out[len(out)-1].Key(), nil
}
