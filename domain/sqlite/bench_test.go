package sqlite_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/sqlite"
	"github.com/vetfield/vetfield/domain/storetest"
)

// The benchmarks put the port next to the bare SQL a hand-written store would run, on the same
// file and in the same run, so the cost of the port (validation, the generated columns, the
// transaction and, for synced collections, the change-log row) is visible:
//
//	go test -run x -bench . -benchtime 2000x ./domain/sqlite/

// benchDoc is a small animal of the suite's fixture shape, about 200 bytes.
func benchDoc(i int) []byte {
	return fmt.Appendf(nil, `{"tag":"KZ%07d","owner":"o%d","born":%d,"name":"n%d","alive":true,`+
		`"place":{"oblast":"Жамбыл облысы","district":"Қордай"},"vaccinations":[{"kind":"ящур","doses":2}]}`,
		i, i%50, 1700000000000+i, i%7)
}

// benchEnv is a port store and a bare database/sql handle on one file. The bare table has the
// same shape and an equivalent unique index on the tag.
type benchEnv struct {
	store *sqlite.Store
	bare  *sql.DB
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.db")
	s, err := sqlite.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Declare(b.Context(), storetest.Specs()...); err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=journal_mode(WAL)")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { db.Close() })
	for _, q := range []string{
		`CREATE TABLE bare (id TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, scope TEXT, data TEXT NOT NULL)`,
		`CREATE UNIQUE INDEX bare_tag ON bare (json_extract(data, '$.tag'))`,
		`CREATE INDEX bare_owner_born ON bare (json_extract(data, '$.owner'), json_extract(data, '$.born'), json_extract(data, '$.name'), id)`,
		`CREATE INDEX bare_alive_tag ON bare (json_extract(data, '$.alive'), json_extract(data, '$.tag'), id)`,
	} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	return &benchEnv{store: s, bare: db}
}

func BenchmarkInsert(b *testing.B) {
	b.Run("port/synced", func(b *testing.B) {
		e := newBenchEnv(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := e.store.Insert(b.Context(), "animals", domain.Record{ID: fmt.Sprint("a", i), Scope: []string{"t:311010000"}, Data: benchDoc(i)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare", func(b *testing.B) {
		e := newBenchEnv(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := e.bare.Exec(`INSERT INTO bare (id, version, scope, data) VALUES (?, 1, ?, ?)`,
				fmt.Sprint("a", i), `["t:311010000"]`, string(benchDoc(i))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare/with-log-tx", func(b *testing.B) {
		e := newBenchEnv(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			tx, err := e.bare.Begin()
			if err != nil {
				b.Fatal(err)
			}
			id := fmt.Sprint("a", i)
			if _, err := tx.Exec(`INSERT INTO bare (id, version, scope, data) VALUES (?, 1, ?, ?)`, id, `["t:311010000"]`, string(benchDoc(i))); err != nil {
				b.Fatal(err)
			}
			if _, err := tx.Exec(`INSERT INTO changes (coll, id, version, scope, at) VALUES ('bare', ?, 1, ?, 0)`, id, `["t:311010000"]`); err != nil {
				b.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkGetBy(b *testing.B) {
	const n = 2000
	e := newBenchEnv(b)
	for i := range n {
		if _, err := e.store.Insert(b.Context(), "animals", domain.Record{ID: fmt.Sprint("a", i), Data: benchDoc(i)}); err != nil {
			b.Fatal(err)
		}
		if _, err := e.bare.Exec(`INSERT INTO bare (id, version, data) VALUES (?, 1, ?)`, fmt.Sprint("a", i), string(benchDoc(i))); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("port", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rec, err := e.store.GetBy(b.Context(), "animals", "by_tag", fmt.Sprintf("KZ%07d", i%n))
			if err != nil || rec.Version != 1 {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var id, data string
			var version int64
			var scope sql.NullString
			err := e.bare.QueryRow(`SELECT id, version, scope, data FROM bare WHERE json_extract(data, '$.tag') = ?`,
				fmt.Sprintf("KZ%07d", i%n)).Scan(&id, &version, &scope, &data)
			if err != nil || version != 1 {
				b.Fatal(err)
			}
		}
	})
}
