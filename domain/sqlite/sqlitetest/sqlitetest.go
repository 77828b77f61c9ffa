// Package sqlitetest opens the SQLite stores tests run on, fresh and already holding vetfield's
// tables. Declaring every collection on an empty file takes about 20 ms (ten times that under the
// race detector, which instruments the SQLite engine too), and every test's environment paid it:
// a third of the api package's time. The tables are made once per test binary on a template kept
// in memory, written out for each store; vetfield.Open or Declare then finds them made, as on a
// restart, and declares in a few milliseconds. Each store is still its own empty file: what a
// store knows as declared is only what its own Declare calls said.
//
//	store := sqlitetest.Open(t, sqlite.WithClock(clock.Now))
package sqlitetest

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain/sqlite"
)

// template is the file of a store on which vetfield's collections were declared, self-contained
// (no write-ahead log beside it).
var template struct {
	once sync.Once
	data []byte
	err  error
}

// Open opens a fresh store in t's temporary directory, with opts, closed when t ends.
func Open(t testing.TB, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	template.once.Do(func() { template.data, template.err = declared() })
	if template.err != nil {
		t.Fatalf("sqlitetest: the template: %v", template.err)
	}
	path := filepath.Join(t.TempDir(), "vetfield.db")
	if err := os.WriteFile(path, template.data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// declared makes the template: a store with every collection declared, copied by VACUUM INTO
// into one file, and read into memory.
func declared() ([]byte, error) {
	dir, err := os.MkdirTemp("", "vetfield-sqlitetest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	s, err := sqlite.Open(filepath.Join(dir, "declared.db"))
	if err != nil {
		return nil, err
	}
	err = s.Declare(context.Background(), vetfield.Collections...)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "declared.db"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	out := filepath.Join(dir, "template.db")
	if _, err := db.Exec(`VACUUM INTO ?`, out); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
}
