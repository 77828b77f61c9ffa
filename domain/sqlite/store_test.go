package sqlite_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/sqlite"
	"github.com/vetfield/vetfield/domain/storetest"
)

// open returns a fresh store in its own file, closed when the test ends.
func open(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "vetfield.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) domain.Store { return open(t) }, storetest.AtomicApply())
}

// TestUpdateCAS races writers on one version of one document: exactly one may win.
func TestUpdateCAS(t *testing.T) {
	s := open(t)
	if err := s.Declare(t.Context(), storetest.Specs()...); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Insert(t.Context(), "animals", domain.Record{ID: "a", Data: []byte(`{"tag":"T"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var wins, conflicts int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			r := rec
			r.Data = []byte(fmt.Sprintf(`{"tag":"T","by":%d}`, i))
			_, err := s.Update(t.Context(), "animals", r)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case domain.IsCode(err, domain.ECONFLICT):
				conflicts++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || conflicts != 7 {
		t.Fatalf("%d wins, %d conflicts; want 1 and 7", wins, conflicts)
	}
}

// TestReopen checks that data, indexes and the change log survive closing the file.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Declare(t.Context(), storetest.Specs()...); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Insert(t.Context(), "animals", domain.Record{ID: "a", Data: []byte(`{"tag":"T"}`)}); err != nil {
		t.Fatal(err)
	}
	if got := s.Path(); got != path {
		t.Fatalf("Path() = %q", got)
	}
	s.Close()
	s, err = sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Declare(t.Context(), storetest.Specs()...); err != nil {
		t.Fatal(err)
	}
	_, err = s.Insert(t.Context(), "animals", domain.Record{ID: "b", Data: []byte(`{"tag":"T"}`)})
	storetest.WantErr(t, err, domain.ECONFLICT, "by_tag")
	chs, err := s.Changes(t.Context(), 0, 10)
	if err != nil || len(chs) != 1 || chs[0].Seq != 1 {
		t.Fatalf("changes after reopen: %+v, %v", chs, err)
	}
}

// TestInternalErrorsHideDriverText checks that a failure inside SQLite reaches callers as an
// internal error whose message says nothing about the driver.
func TestInternalErrorsHideDriverText(t *testing.T) {
	s := open(t)
	if err := s.Declare(t.Context(), storetest.Specs()...); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := s.Get(t.Context(), "animals", "a")
	var e *domain.Error
	if !domain.IsCode(err, domain.EINTERNAL) || !asError(err, &e) || strings.Contains(strings.ToLower(e.Message), "sql") {
		t.Fatalf("got %#v", err)
	}
}

// TestDurableByDefault: a commit is synced to disk before it is answered unless the operator
// chose otherwise.
func TestDurableByDefault(t *testing.T) {
	for _, c := range []struct {
		opts []sqlite.Option
		want int
	}{{nil, 2}, {[]sqlite.Option{sqlite.WithDurability(sqlite.Fast)}, 1}, {[]sqlite.Option{sqlite.WithDurability(sqlite.Durable)}, 2}} {
		s, err := sqlite.Open(filepath.Join(t.TempDir(), "d.db"), c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Synchronous(t.Context())
		s.Close()
		if err != nil || got != c.want {
			t.Errorf("synchronous = %d (%v), want %d", got, err, c.want)
		}
	}
	if _, err := sqlite.Open(filepath.Join(t.TempDir(), "d.db"), sqlite.WithDurability("sometimes")); err == nil {
		t.Error("an unknown durability was accepted")
	}
}
