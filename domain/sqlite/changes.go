package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/vetfield/vetfield/domain"
)

const (
	logChangeSQL = "INSERT INTO changes (coll, id, version, scope, prev_scope, at) VALUES (?, ?, ?, ?, ?, ?) RETURNING seq"
	logBucketSQL = "INSERT OR IGNORE INTO change_keys (bucket, seq) VALUES (?, ?)"
)

// logChange appends an entry to the change log inside the write's transaction, with a row in
// change_keys for each of its buckets. The seq is assigned here, while the transaction holds the
// write lock, so seqs commit in increasing order and a rolled-back write leaves no entry and uses
// up no seq. log and bucket are logChangeSQL and logBucketSQL in the write's transaction.
func (s *Store) logChange(ctx context.Context, log, bucket *sql.Stmt, coll, id string, version int64, scope, prevScope []string) error {
	sj, err := scopeJSON(scope)
	if err != nil {
		return domain.Internal("sqlite: log change", err)
	}
	pj, err := scopeJSON(prevScope)
	if err != nil {
		return domain.Internal("sqlite: log change", err)
	}
	var seq int64
	if err := log.QueryRowContext(ctx, coll, id, version, sj, pj, s.now().UnixMilli()).Scan(&seq); err != nil {
		return domain.Internal("sqlite: log change", err)
	}
	for _, b := range domain.Buckets(scope, prevScope) {
		if _, err := bucket.ExecContext(ctx, b, seq); err != nil {
			return domain.Internal("sqlite: log change", err)
		}
	}
	return nil
}

const changeCols = "c.seq, c.coll, c.id, c.version, c.scope, c.prev_scope, c.at"

// Changes returns change-log entries with Seq > after in Seq order, at most limit of them (0 means
// DefaultPageSize, more than MaxPageSize is clamped). On SQLite every entry a reader can see is
// committed and no earlier seq can commit later, so there is nothing to wait for.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]domain.Change, error) {
	limit = changesLimit(limit)
	st, err := s.rs.get(ctx, "SELECT "+changeCols+" FROM changes c WHERE c.seq > ? ORDER BY c.seq LIMIT ?")
	if err != nil {
		return nil, domain.Internal("sqlite: changes", err)
	}
	rows, err := st.QueryContext(ctx, after, limit)
	if err != nil {
		return nil, domain.Internal("sqlite: changes", err)
	}
	return scanChanges(rows, nil)
}

func changesLimit(limit int) int {
	if limit <= 0 {
		return domain.DefaultPageSize
	}
	return min(limit, domain.MaxPageSize)
}

// scanChanges reads rows of changeCols, appending to out.
func scanChanges(rows *sql.Rows, out []domain.Change) ([]domain.Change, error) {
	defer rows.Close()
	if out == nil {
		out = []domain.Change{}
	}
	for rows.Next() {
		var ch domain.Change
		var scope, prev sql.NullString
		var at int64
		if err := rows.Scan(&ch.Seq, &ch.Collection, &ch.ID, &ch.Version, &scope, &prev, &at); err != nil {
			return nil, domain.Internal("sqlite: changes", err)
		}
		var err error
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

// ChangesIn returns the entries with Seq > after in the buckets f selects, in Seq order, at most
// limit of them. Each bucket is one range of the primary key of change_keys(bucket, seq); a
// prefix is first resolved to the buckets it holds, one seek each. The buckets' ranges are read
// in one read transaction, so they are one snapshot of the log, and merged: the page ends where
// the first bucket that filled its share ends, so no entry of another bucket before that point
// is left out.
func (s *Store) ChangesIn(ctx context.Context, f domain.BucketFilter, after int64, limit int) ([]domain.Change, error) {
	if f.All {
		return s.Changes(ctx, after, limit)
	}
	limit = changesLimit(limit)
	st, err := s.rs.get(ctx, changesInSQL)
	if err != nil {
		return nil, domain.Internal("sqlite: changes in", err)
	}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, domain.Internal("sqlite: changes in", err)
	}
	defer tx.Rollback()
	buckets := slices.Clone(f.Buckets)
	for _, p := range f.Prefixes {
		in, err := bucketsUnder(ctx, tx, p)
		if err != nil {
			return nil, domain.Internal("sqlite: changes in", err)
		}
		buckets = append(buckets, in...)
	}
	slices.Sort(buckets)
	buckets = slices.Compact(buckets)
	txst := tx.StmtContext(ctx, st)
	var all []domain.Change
	end := int64(math.MaxInt64)
	for _, b := range buckets {
		rows, err := txst.QueryContext(ctx, b, after, limit)
		if err != nil {
			return nil, domain.Internal("sqlite: changes in", err)
		}
		n := len(all)
		if all, err = scanChanges(rows, all); err != nil {
			return nil, err
		}
		if len(all)-n == limit {
			end = min(end, all[len(all)-1].Seq)
		}
	}
	return mergeChanges(all, end, limit), nil
}

// Statements of the bucket reads and of compaction; TestLogPlans checks that each seeks an index.
const (
	changesInSQL    = "SELECT " + changeCols + " FROM change_keys k JOIN changes c ON c.seq = k.seq WHERE k.bucket = ? AND k.seq > ? ORDER BY k.seq LIMIT ?"
	bucketAfterSQL  = "SELECT bucket FROM change_keys WHERE bucket > ? AND bucket < ? ORDER BY bucket LIMIT 1"
	recordLogSQL    = "SELECT " + changeCols + " FROM changes c WHERE c.coll = ? AND c.id = ? ORDER BY c.seq"
	bucketsFirstSQL = "SELECT bucket FROM change_keys WHERE bucket >= ? AND bucket < ? ORDER BY bucket LIMIT 1"
)

// mergeChanges sorts entries read from several buckets by seq, drops the repeats (an entry is in
// every bucket of its scope) and those after end, and keeps at most limit.
func mergeChanges(all []domain.Change, end int64, limit int) []domain.Change {
	slices.SortFunc(all, func(a, b domain.Change) int { return cmp.Compare(a.Seq, b.Seq) })
	out := make([]domain.Change, 0, min(len(all), limit))
	for _, ch := range all {
		if ch.Seq > end || len(out) == limit {
			break
		}
		if len(out) > 0 && out[len(out)-1].Seq == ch.Seq {
			continue
		}
		out = append(out, ch)
	}
	return out
}

// bucketsUnder lists the buckets that start with prefix, seeking from one to the next.
func bucketsUnder(ctx context.Context, tx *sql.Tx, prefix string) ([]string, error) {
	if prefix == "" {
		return nil, errors.New("an empty bucket prefix")
	}
	upper := prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1)
	var out []string
	from, q := prefix, bucketsFirstSQL
	for {
		var b string
		err := tx.QueryRowContext(ctx, q, from, upper).Scan(&b)
		if errors.Is(err, sql.ErrNoRows) {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		out = append(out, b)
		from, q = b, bucketAfterSQL
	}
}

// compactBatch is how many log entries one Compact looks at when given no limit.
const compactBatch = 2000

// Compact deletes entries that later entries of the same record make redundant (domain.Superseded),
// at most limit of them. It walks the log from where the last compaction stopped (kept in meta),
// and for each record written in the entries it walks, it reads the record's whole remaining log
// through changes_record and deletes what is covered, with its buckets, in one write transaction:
// on SQLite every visible entry is committed, so the whole log is below the horizon.
func (s *Store) Compact(ctx context.Context, limit int) (int, bool, error) {
	if limit <= 0 {
		limit = compactBatch
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, domain.Internal("sqlite: compact", err)
	}
	defer tx.Rollback()
	var from int64
	if err := tx.QueryRowContext(ctx, "SELECT coalesce((SELECT v FROM meta WHERE k = 'compacted'), 0)").Scan(&from); err != nil {
		return 0, false, domain.Internal("sqlite: compact", err)
	}
	rows, err := tx.QueryContext(ctx, "SELECT seq, coll, id FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", from, limit)
	if err != nil {
		return 0, false, domain.Internal("sqlite: compact", err)
	}
	type rec struct{ coll, id string }
	var recs []rec
	seen := map[rec]bool{}
	to, scanned := from, 0
	for rows.Next() {
		scanned++
		var r rec
		if err := rows.Scan(&to, &r.coll, &r.id); err != nil {
			rows.Close()
			return 0, false, domain.Internal("sqlite: compact", err)
		}
		if !seen[r] {
			seen[r] = true
			recs = append(recs, r)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, false, domain.Internal("sqlite: compact", err)
	}
	deleted := 0
	for _, r := range recs {
		rows, err := tx.QueryContext(ctx, recordLogSQL, r.coll, r.id)
		if err != nil {
			return 0, false, domain.Internal("sqlite: compact", err)
		}
		entries, err := scanChanges(rows, nil)
		if err != nil {
			return 0, false, err
		}
		for i, gone := range domain.Superseded(entries) {
			if !gone {
				continue
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM changes WHERE seq = ?", entries[i].Seq); err != nil {
				return 0, false, domain.Internal("sqlite: compact", err)
			}
			for _, b := range domain.Buckets(entries[i].Scope, entries[i].PrevScope) {
				if _, err := tx.ExecContext(ctx, "DELETE FROM change_keys WHERE bucket = ? AND seq = ?", b, entries[i].Seq); err != nil {
					return 0, false, domain.Internal("sqlite: compact", err)
				}
			}
			deleted++
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO meta (k, v) VALUES ('compacted', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", to); err != nil {
		return 0, false, domain.Internal("sqlite: compact", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, false, domain.Internal("sqlite: compact", err)
	}
	return deleted, scanned < limit, nil
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
