// Package sqlite is the embedded default implementation of domain.Store: one SQLite file (through
// modernc.org/sqlite, pure Go) with real indexes, enough for a district office or a whole oblast on
// one machine, and nothing to install.
//
// Layout. Each collection is a table c_<name>(id, version, scope, data) holding the document as
// JSON text. Every field an index names gets a virtual generated column
// f_<field> = coalesce(json_extract(data,'$.<field>'), -Inf), and each declared index is a real
// SQLite index on those columns (plus id for ordering when the index is not unique). Columns rather
// than bare json_extract expressions, because SQLite seeks an index with a row value such as
// (born, name, id) > (?, ?, ?) — the page cursor — only when its terms are columns; and -Inf for a
// missing field (below every integer and string, as a missing field sorts first in MongoDB too),
// because NULL would make such comparisons unknown and drop the documents that lack the field.
// The change log is the table changes(seq, ...), indexed by bucket in change_keys(bucket, seq)
// (see ChangesIn), and the counters live in counters(key, value, expires).
//
// Concurrency. Writes go through a pool of one connection whose transactions begin IMMEDIATE, so
// they are serialised in the process and take SQLite's write lock up front across processes;
// reads go through a separate read-only pool of several connections and run in parallel thanks
// to WAL. A write to a synced collection and its change-log entry share one transaction and the
// entry's seq is assigned inside it, so commit order is seq order and a reader of the log never
// sees a later seq before an earlier one.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/vetfield/vetfield/domain"
)

// Store is the SQLite implementation of domain.Store. It is safe for concurrent use.
type Store struct {
	path  string
	write *sql.DB // one connection: every write is serialised here
	read  *sql.DB // several query_only connections
	ws    *stmtCache
	rs    *stmtCache
	now   func() time.Time
	sync  Durability

	mu    sync.RWMutex
	colls map[string]*collection
}

var _ domain.Store = (*Store)(nil)

// Option configures Open.
type Option func(*Store)

// WithClock injects the clock used for change-log timestamps and counter expiry, so tests can
// freeze time.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// Durability says when a committed write is on disk.
type Durability string

const (
	// Durable (synchronous=FULL, the default) syncs the write-ahead log at every commit, so a
	// write answered "applied" survives a power loss or an OS crash — a tablet deletes a mutation
	// from its queue once told it was applied.
	Durable Durability = "full"
	// Fast (synchronous=NORMAL) syncs the log only at checkpoints: a crash of the process loses
	// nothing, but a power loss or an OS crash can roll back the last commits already answered.
	// For a test machine, or an operator who takes that trade knowingly.
	Fast Durability = "normal"
)

// WithDurability chooses when a commit is on disk; Durable unless set.
func WithDurability(d Durability) Option {
	return func(s *Store) { s.sync = d }
}

// ParseDurability reads a setting: "full" or "normal".
func ParseDurability(v string) (Durability, error) {
	switch d := Durability(strings.ToLower(strings.TrimSpace(v))); d {
	case Durable, Fast:
		return d, nil
	}
	return "", fmt.Errorf("sqlite: durability is full or normal, not %q", v)
}

// busyTimeout is how long a connection waits for another process's write lock before failing.
const busyTimeout = 10 * time.Second

// Open opens (creating if needed) the database file at path and prepares the change log and the
// counters. Collections are created by Declare.
func Open(path string, opts ...Option) (*Store, error) {
	if path == "" || strings.Contains(path, "?") || strings.HasPrefix(path, ":memory:") || strings.HasPrefix(path, "file:") {
		// An in-memory database would be private to each connection of the pools, and '?'
		// would be taken for the start of the driver's parameters.
		return nil, fmt.Errorf("sqlite: unusable database path %q: give a file path without '?'", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create the database directory: %w", err)
	}
	s := &Store{path: path, now: time.Now, sync: Durable, colls: map[string]*collection{}}
	for _, o := range opts {
		o(s)
	}
	if _, err := ParseDurability(string(s.sync)); err != nil {
		return nil, err
	}

	common := url.Values{}
	common.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	common.Add("_pragma", "synchronous("+strings.ToUpper(string(s.sync))+")")
	// A 32 MiB page cache per connection and reads through mmap, up to SQLite's own limit of
	// 2 GiB: a district's records stay in memory, and pulls of whole districts do not pay a
	// system call per page even when the file holds an oblast (the mapping is address space, not
	// memory; the kernel's page cache holds what is read).
	common.Add("_pragma", "cache_size(-32768)")
	common.Add("_pragma", "mmap_size(2147418112)")
	wq := url.Values{"_txlock": {"immediate"}}
	for k, v := range common {
		wq[k] = append(wq[k], v...)
	}
	wq.Add("_pragma", "journal_mode(WAL)")
	rq := url.Values{}
	for k, v := range common {
		rq[k] = append(rq[k], v...)
	}
	rq.Add("_pragma", "query_only(1)")

	w, err := sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	// The write connection opens first: it switches the file to WAL (a persistent setting) and
	// creates the shared tables before any reader looks at them.
	if _, err := w.Exec(schema); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: prepare %s: %w", path, err)
	}
	if err := backfillBuckets(w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: prepare %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)
	r.SetConnMaxLifetime(0)
	if err := r.Ping(); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.write, s.read = w, r
	s.ws, s.rs = newStmtCache(w), newStmtCache(r)
	return s, nil
}

// schema creates the tables every database has. AUTOINCREMENT keeps a seq from ever being reused,
// compacted ones included. change_keys indexes each entry under its buckets (domain.Buckets);
// changes_record finds a record's entries for compaction; meta keeps the adapter's own marks
// (how far compaction got, that the buckets of an older log were filled in); snapshot is the
// snapshot index (domain.Snapshots), one row per key, so a first sync reads one range of one
// B-tree.
const schema = `
CREATE TABLE IF NOT EXISTS changes (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	coll TEXT NOT NULL,
	id TEXT NOT NULL,
	version INTEGER NOT NULL,
	scope TEXT,
	prev_scope TEXT,
	at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS change_keys (
	bucket TEXT NOT NULL,
	seq INTEGER NOT NULL,
	PRIMARY KEY (bucket, seq)
) WITHOUT ROWID, STRICT;
CREATE INDEX IF NOT EXISTS changes_record ON changes (coll, id, seq);
CREATE TABLE IF NOT EXISTS meta (
	k TEXT PRIMARY KEY NOT NULL,
	v ANY
) STRICT;
CREATE TABLE IF NOT EXISTS snapshot (
	k TEXT PRIMARY KEY NOT NULL,
	version INTEGER NOT NULL,
	scope TEXT NOT NULL,
	data BLOB
) WITHOUT ROWID, STRICT;
CREATE TABLE IF NOT EXISTS counters (
	key TEXT PRIMARY KEY NOT NULL,
	value INTEGER NOT NULL,
	expires INTEGER NOT NULL
) STRICT;
`

// backfillBuckets indexes under their buckets the entries of a log written before change_keys
// existed, once: a database made by an older vetfield opens with every entry readable by
// ChangesIn.
func backfillBuckets(w *sql.DB) error {
	tx, err := w.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var done int
	if err := tx.QueryRow("SELECT count(*) FROM meta WHERE k = 'buckets'").Scan(&done); err != nil || done > 0 {
		return err
	}
	rows, err := tx.Query("SELECT seq, scope, prev_scope FROM changes")
	if err != nil {
		return err
	}
	type entry struct {
		seq         int64
		scope, prev sql.NullString
	}
	var entries []entry
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.seq, &e.scope, &e.prev); err != nil {
			rows.Close()
			return err
		}
		entries = append(entries, e)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for _, e := range entries {
		scope, err := parseScope(e.scope)
		if err != nil {
			return err
		}
		prev, err := parseScope(e.prev)
		if err != nil {
			return err
		}
		for _, b := range domain.Buckets(scope, prev) {
			if _, err := tx.Exec(logBucketSQL, b, e.seq); err != nil {
				return err
			}
		}
	}
	if _, err := tx.Exec("INSERT INTO meta (k, v) VALUES ('buckets', 1)"); err != nil {
		return err
	}
	return tx.Commit()
}

// Path returns the database file, for logs and for operators who back it up.
func (s *Store) Path() string { return s.path }

// Ping checks that both pools answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return domain.Internal("sqlite: ping", err)
	}
	if err := s.write.PingContext(ctx); err != nil {
		return domain.Internal("sqlite: ping", err)
	}
	return nil
}

// Close closes both pools. The store must not be used afterwards.
func (s *Store) Close() error {
	return errors.Join(s.rs.close(), s.ws.close(), s.read.Close(), s.write.Close())
}

// collection is a declared collection with everything the queries need precomputed.
type collection struct {
	name    string
	table   string // quoted
	synced  bool
	expires string // the quoted generated column of CollectionSpec.Expires, "" when nothing expires
	indexes map[string]*index
	order   []*index // declaration order, for deterministic conflict reports
	fields  []string // every field of every index, once
}

// index is a declared index with the columns it covers.
type index struct {
	name    string
	sqlName string // quoted
	fields  []string
	cols    []string // the quoted generated column of each field
	unique  bool
}

// ident is what collection, index and field names must look like. They end up in SQL text (always
// double-quoted or inside a JSON path literal) and this is what makes that safe.
var ident = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)

// fieldCol is the generated column that holds a field for indexing.
func fieldCol(field string) string { return `"f_` + field + `"` }

// fieldColDef defines fieldCol. The same expression computes the values Insert and Update check
// against a unique index when they name the clashing key.
func fieldColDef(field string) string {
	return fieldCol(field) + " ANY GENERATED ALWAYS AS (" + fieldExpr("data", field) + ") VIRTUAL"
}

// fieldExpr extracts field from the JSON document doc, giving missingValue when it is absent.
func fieldExpr(doc, field string) string {
	return "coalesce(json_extract(" + doc + ", '$." + field + "'), -9e999)"
}

func newCollection(spec domain.CollectionSpec) (*collection, error) {
	if !ident.MatchString(spec.Name) {
		return nil, domain.Invalid("name", "collection name %q is not an identifier", spec.Name)
	}
	c := &collection{name: spec.Name, table: `"c_` + spec.Name + `"`, synced: spec.Synced, indexes: map[string]*index{}}
	seen := map[string]bool{}
	for _, ix := range spec.Indexes {
		if !ident.MatchString(ix.Name) {
			return nil, domain.Invalid("indexes", "index name %q of %s is not an identifier", ix.Name, spec.Name)
		}
		if c.indexes[ix.Name] != nil {
			return nil, domain.Invalid("indexes", "index %q of %s is declared twice", ix.Name, spec.Name)
		}
		if len(ix.Fields) == 0 {
			return nil, domain.Invalid("indexes", "index %q of %s has no fields", ix.Name, spec.Name)
		}
		x := &index{name: ix.Name, sqlName: `"c_` + spec.Name + ":" + ix.Name + `"`, unique: ix.Unique}
		for _, f := range ix.Fields {
			if !ident.MatchString(f) {
				return nil, domain.Invalid("indexes", "field %q of index %q is not an identifier", f, ix.Name)
			}
			x.fields = append(x.fields, f)
			x.cols = append(x.cols, fieldCol(f))
			if !seen[f] {
				seen[f] = true
				c.fields = append(c.fields, f)
			}
		}
		c.indexes[ix.Name] = x
		c.order = append(c.order, x)
	}
	if err := spec.CheckExpires(); err != nil {
		return nil, err
	}
	if spec.Expires != "" {
		c.expires = fieldCol(spec.Expires) // an index field, so an identifier and a column
	}
	return c, nil
}

// createSQL is the statement that creates the index; Declare compares it with the one SQLite kept
// to notice a changed declaration.
func (x *index) createSQL(c *collection) string {
	cols := strings.Join(x.cols, ", ")
	u := ""
	if x.unique {
		u = "UNIQUE "
	} else {
		cols += ", id"
	}
	return "CREATE " + u + "INDEX " + x.sqlName + " ON " + c.table + " (" + cols + ")"
}

// Declare creates the tables and indexes of specs if missing. An index whose declaration changed
// is rebuilt; an index no longer declared is left alone, since an older process may still use it.
func (s *Store) Declare(ctx context.Context, specs ...domain.CollectionSpec) error {
	var colls []*collection
	for _, spec := range specs {
		c, err := newCollection(spec)
		if err != nil {
			return err
		}
		colls = append(colls, c)
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return domain.Internal("sqlite: declare", err)
	}
	defer tx.Rollback()
	indexes, err := indexSQL(ctx, tx)
	if err != nil {
		return domain.Internal("sqlite: declare", err)
	}
	for _, c := range colls {
		have, err := columns(ctx, tx, strings.Trim(c.table, `"`))
		if err != nil {
			return domain.Internal("sqlite: declare "+c.name, err)
		}
		if len(have) == 0 {
			// A new table is made with its field columns at once: each ALTER TABLE makes SQLite
			// check the whole schema again, which made declaring a fresh file quadratic in it
			// (and every test's fresh store paid for it).
			q := "CREATE TABLE " + c.table + " (id TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, scope TEXT, data TEXT NOT NULL"
			for _, f := range c.fields {
				q += ", " + fieldColDef(f)
			}
			if _, err := tx.ExecContext(ctx, q+") STRICT"); err != nil {
				return domain.Internal("sqlite: declare "+c.name, err)
			}
		} else {
			for _, f := range c.fields {
				if have[strings.Trim(fieldCol(f), `"`)] {
					continue
				}
				if _, err := tx.ExecContext(ctx, "ALTER TABLE "+c.table+" ADD COLUMN "+fieldColDef(f)); err != nil {
					return domain.Internal("sqlite: declare "+c.name+" field "+f, err)
				}
			}
		}
		for _, x := range c.order {
			want := x.createSQL(c)
			have, ok := indexes[strings.Trim(x.sqlName, `"`)]
			if ok && have == want {
				continue
			}
			if ok {
				if _, err := tx.ExecContext(ctx, "DROP INDEX "+x.sqlName); err != nil {
					return domain.Internal("sqlite: declare "+c.name, err)
				}
			}
			if _, err := tx.ExecContext(ctx, want); err != nil {
				return domain.Internal("sqlite: declare "+c.name+" index "+x.name, err)
			}
			indexes[strings.Trim(x.sqlName, `"`)] = want // a spec may come twice in one call
		}
	}
	if err := tx.Commit(); err != nil {
		return domain.Internal("sqlite: declare", err)
	}
	s.mu.Lock()
	for _, c := range colls {
		s.colls[c.name] = c
	}
	s.mu.Unlock()
	return nil
}

// columns returns the names of table's columns, generated ones included.
// indexSQL is the definition of every index of the file by name, read at once: a query per index
// cost a start as much as the rest of Declare.
func indexSQL(ctx context.Context, tx *sql.Tx) (map[string]string, error) {
	rows, err := tx.QueryContext(ctx, "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			return nil, err
		}
		out[name] = def
	}
	return out, rows.Err()
}

func columns(ctx context.Context, tx *sql.Tx, table string) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, "SELECT name FROM pragma_table_xinfo(?)", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out[name] = true
	}
	return out, rows.Err()
}

// coll returns the declared collection name, or EINVALID: using an undeclared collection is a bug
// that should fail loudly rather than look like a missing document.
func (s *Store) coll(name string) (*collection, error) {
	s.mu.RLock()
	c := s.colls[name]
	s.mu.RUnlock()
	if c == nil {
		return nil, domain.Errorf(domain.EINVALID, "collection %q is not declared", name)
	}
	return c, nil
}

// isUnique reports whether err is SQLite refusing a duplicate primary or unique key.
func isUnique(err error) bool {
	var se *sqlite3.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY
}

// Synchronous reports the synchronous mode the write connection runs with, as SQLite numbers it
// (2 FULL, 1 NORMAL), so an operator's setting can be checked.
func (s *Store) Synchronous(ctx context.Context) (int, error) {
	var n int
	err := s.write.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&n)
	return n, err
}
