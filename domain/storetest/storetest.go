// Package storetest is the one contract suite every domain.Store adapter must pass. It checks each
// promise of the port's doc comments against a real engine, so that the embedded SQLite store and
// the MongoDB store behave the same for everything vetfield relies on.
//
// An adapter's test calls Run with a function that opens a fresh, empty store:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) domain.Store { ... })
//	}
//
// The data is kept small (tens of documents): the MongoDB adapter runs it against FerretDB, which
// scans a collection for every query, under the race detector.
package storetest

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vetfield/vetfield/domain"
)

// The collections the suite declares, shaped like vetfield's nouns so that every kind of index is
// exercised: Animals is synced and has a unique, a three-field and a boolean-led index; Accounts
// is not synced and has a one-field and a two-field unique index. Adapters' own tests may declare
// them too, to share the suite's vocabulary.
var (
	Animals = domain.CollectionSpec{
		Name:   "animals",
		Synced: true,
		Indexes: []domain.Index{
			{Name: "by_tag", Fields: []string{"tag"}, Unique: true},
			{Name: "by_owner_born", Fields: []string{"owner", "born", "name"}},
			{Name: "by_alive_tag", Fields: []string{"alive", "tag"}},
		},
	}
	Accounts = domain.CollectionSpec{
		Name: "accounts",
		Indexes: []domain.Index{
			{Name: "by_login", Fields: []string{"login"}, Unique: true},
			{Name: "by_org_no", Fields: []string{"org", "no"}, Unique: true},
		},
	}
)

// Specs returns the collections the suite declares.
func Specs() []domain.CollectionSpec { return []domain.CollectionSpec{Animals, Accounts} }

// Run runs the contract suite. open must return a fresh, empty store and register its cleanup; it
// is called once per subtest, with the subtest's t. opts name the engine-dependent promises the
// adapter makes (AtomicApply).
func Run(t *testing.T, open func(t *testing.T) domain.Store, opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	opened := func(t *testing.T) domain.Store {
		t.Helper()
		s := open(t)
		if err := s.Declare(t.Context(), Specs()...); err != nil {
			t.Fatalf("Declare: %v", err)
		}
		return s
	}
	t.Run("Ping", func(t *testing.T) {
		if err := opened(t).Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Declare", func(t *testing.T) { testDeclare(t, open) })
	t.Run("Get", func(t *testing.T) { testGet(t, opened(t)) })
	t.Run("GetMany", func(t *testing.T) { testGetMany(t, opened(t)) })
	t.Run("GetBy", func(t *testing.T) { testGetBy(t, opened(t)) })
	t.Run("Insert", func(t *testing.T) { testInsert(t, opened) })
	t.Run("Update", func(t *testing.T) { testUpdate(t, opened) })
	t.Run("List", func(t *testing.T) { testList(t, opened(t)) })
	t.Run("ListLimits", func(t *testing.T) { testListLimits(t, opened(t)) })
	t.Run("Incr", func(t *testing.T) { testIncr(t, opened) })
	t.Run("Changes", func(t *testing.T) { testChanges(t, opened) })
	t.Run("ChangesConcurrent", func(t *testing.T) { testChangesConcurrent(t, opened(t)) })
	t.Run("Buckets", testBuckets)
	t.Run("ChangesIn", func(t *testing.T) { testChangesIn(t, opened(t)) })
	t.Run("ChangesInConcurrent", func(t *testing.T) { testChangesInConcurrent(t, opened(t)) })
	t.Run("Compact", func(t *testing.T) { testCompact(t, opened(t)) })
	t.Run("CompactConcurrent", func(t *testing.T) { testCompactConcurrent(t, opened(t)) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, opened(t)) })
	t.Run("Apply", func(t *testing.T) { testApply(t, opened, o) })
	t.Run("Expire", func(t *testing.T) { testExpire(t, opened) })
	t.Run("Snapshot", func(t *testing.T) { testSnapshot(t, opened) })
}

// JSON marshals v for Record.Data, failing the test if it cannot.
func JSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// SameJSON reports whether a and b hold the same JSON value, whatever their formatting and key
// order.
func SameJSON(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("not JSON: %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("not JSON: %s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

// WantErr fails the test unless err carries code and, when key is not "", Error.Key equal to key.
func WantErr(t testing.TB, err error, code, key string) {
	t.Helper()
	if !domain.IsCode(err, code) {
		t.Fatalf("got error %v (code %q), want code %q", err, domain.ErrorCode(err), code)
	}
	if key == "" {
		return
	}
	var e *domain.Error
	if !errors.As(err, &e) || e.Key != key {
		t.Fatalf("got error %v with key %q, want key %q", err, keyOf(err), key)
	}
}

// AllPages lists every page of q and returns the records in order, failing the test on an error or
// a page bigger than asked.
func AllPages(t testing.TB, s domain.Store, coll string, q domain.Query) []domain.Record {
	t.Helper()
	var out []domain.Record
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("List never ends")
		}
		p, err := s.List(t.Context(), coll, q)
		if err != nil {
			t.Fatalf("List %+v: %v", q, err)
		}
		if q.Limit > 0 && len(p.Records) > q.Limit {
			t.Fatalf("List returned %d records, limit %d", len(p.Records), q.Limit)
		}
		out = append(out, p.Records...)
		if p.Next == "" {
			return out
		}
		if len(p.Records) == 0 {
			t.Fatal("List returned an empty page with a Next cursor")
		}
		q.After = p.Next
	}
}

// AllChanges reads the change log from after to its current end in pages of limit.
func AllChanges(t testing.TB, s domain.Store, after int64, limit int) []domain.Change {
	t.Helper()
	var out []domain.Change
	for {
		chs, err := s.Changes(t.Context(), after, limit)
		if err != nil {
			t.Fatalf("Changes(%d, %d): %v", after, limit, err)
		}
		if len(chs) > limit {
			t.Fatalf("Changes(%d, %d) returned %d entries", after, limit, len(chs))
		}
		if len(chs) == 0 {
			return out
		}
		out = append(out, chs...)
		after = chs[len(chs)-1].Seq
	}
}

// ids returns the ids of recs in order.
func ids(recs []domain.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

func sortedIDs(recs []domain.Record) []string {
	out := ids(recs)
	slices.Sort(out)
	return out
}

func mustInsert(t testing.TB, s domain.Store, coll, id string, scope []string, data any) domain.Record {
	t.Helper()
	rec, err := s.Insert(t.Context(), coll, domain.Record{ID: id, Scope: scope, Data: JSON(t, data)})
	if err != nil {
		t.Fatalf("Insert %s/%s: %v", coll, id, err)
	}
	return rec
}

func mustGet(t testing.TB, s domain.Store, coll, id string) domain.Record {
	t.Helper()
	rec, err := s.Get(t.Context(), coll, id)
	if err != nil {
		t.Fatalf("Get %s/%s: %v", coll, id, err)
	}
	return rec
}

func lastSeq(t testing.TB, s domain.Store) int64 {
	t.Helper()
	chs := AllChanges(t, s, 0, domain.MaxPageSize)
	if len(chs) == 0 {
		return 0
	}
	return chs[len(chs)-1].Seq
}

func keyOf(err error) string {
	var e *domain.Error
	if errors.As(err, &e) {
		return e.Key
	}
	return ""
}

func sameStrings(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return slices.Equal(a, b)
}

func join(s []string) string { return strings.Join(s, ",") }
