package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/vetfield/vetfield/domain"
)

type animal struct {
	Tag   string `json:"tag"`
	Owner string `json:"owner"`
	Born  *int64 `json:"born,omitempty"`
	Name  string `json:"name"`
	Alive bool   `json:"alive"`
}

type account struct {
	Login string `json:"login"`
	Org   string `json:"org"`
	No    int64  `json:"no"`
}

func born(n int64) *int64 { return &n }

func testDeclare(t *testing.T, open func(t *testing.T) domain.Store) {
	s := open(t)
	ctx := t.Context()
	for range 2 {
		if err := s.Declare(ctx, Specs()...); err != nil {
			t.Fatalf("Declare: %v", err)
		}
	}
	mustInsert(t, s, "animals", "a1", nil, animal{Tag: "T1", Owner: "o"})
	if err := s.Declare(ctx, Specs()...); err != nil {
		t.Fatalf("Declare again with data: %v", err)
	}
	if rec := mustGet(t, s, "animals", "a1"); rec.Version != 1 {
		t.Fatalf("version %d after re-declare", rec.Version)
	}
	// The unique index still holds after a re-declare.
	_, err := s.Insert(ctx, "animals", domain.Record{ID: "a2", Data: JSON(t, animal{Tag: "T1", Owner: "o"})})
	WantErr(t, err, domain.ECONFLICT, "by_tag")

	t.Run("ErrInvalidName", func(t *testing.T) {
		err := s.Declare(ctx, domain.CollectionSpec{Name: "bad name; drop table"})
		WantErr(t, err, domain.EINVALID, "")
		err = s.Declare(ctx, domain.CollectionSpec{Name: "ok", Indexes: []domain.Index{{Name: "x", Fields: []string{"a'b"}}}})
		WantErr(t, err, domain.EINVALID, "")
	})
	t.Run("ChangedIndex", func(t *testing.T) {
		// A later release may change an index: Declare rebuilds it and the new definition holds.
		herd := domain.CollectionSpec{Name: "herd", Indexes: []domain.Index{{Name: "by_x", Fields: []string{"x"}}}}
		if err := s.Declare(ctx, herd); err != nil {
			t.Fatal(err)
		}
		for i, x := range []string{"b", "a", "b"} {
			mustInsert(t, s, "herd", fmt.Sprint("h", i), nil, map[string]any{"x": x, "y": 2 - i})
		}
		herd.Indexes = []domain.Index{{Name: "by_x", Fields: []string{"x", "y"}, Unique: true}}
		if err := s.Declare(ctx, herd); err != nil {
			t.Fatal(err)
		}
		if got, want := join(ids(AllPages(t, s, "herd", domain.Query{Index: "by_x", Limit: 1}))), "h1,h2,h0"; got != want {
			t.Fatalf("order after the change: %s, want %s", got, want)
		}
		_, err := s.Insert(ctx, "herd", domain.Record{ID: "h9", Data: JSON(t, map[string]any{"x": "a", "y": 1})})
		WantErr(t, err, domain.ECONFLICT, "by_x")
	})
	t.Run("ErrUndeclared", func(t *testing.T) {
		_, err := s.Get(ctx, "nowhere", "x")
		WantErr(t, err, domain.EINVALID, "")
	})
}

func testGet(t *testing.T, s domain.Store) {
	ctx := t.Context()
	in := mustInsert(t, s, "animals", "a1", []string{"t:311010000", "o:880101300123"}, animal{Tag: "T1", Owner: "o1", Born: born(5)})
	t.Run("OK", func(t *testing.T) {
		rec := mustGet(t, s, "animals", "a1")
		if rec.ID != "a1" || rec.Version != 1 || !slices.Equal(rec.Scope, in.Scope) || !SameJSON(t, rec.Data, in.Data) {
			t.Fatalf("got %+v, want %+v", rec, in)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := s.Get(ctx, "animals", "nope")
		WantErr(t, err, domain.ENOTFOUND, "")
	})
	t.Run("EmptyScope", func(t *testing.T) {
		mustInsert(t, s, "accounts", "u1", nil, account{Login: "l1", Org: "x", No: 1})
		if rec := mustGet(t, s, "accounts", "u1"); len(rec.Scope) != 0 {
			t.Fatalf("scope %q, want none", rec.Scope)
		}
	})
}

func testGetMany(t *testing.T, s domain.Store) {
	for _, id := range []string{"a", "b", "c"} {
		mustInsert(t, s, "animals", id, nil, animal{Tag: "tag-" + id, Owner: "o"})
	}
	recs, err := s.GetMany(t.Context(), "animals", []string{"c", "missing", "a"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := join(sortedIDs(recs)), "a,c"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	for _, r := range recs {
		if r.Version != 1 || len(r.Data) == 0 {
			t.Fatalf("incomplete record %+v", r)
		}
	}
	recs, err = s.GetMany(t.Context(), "animals", nil)
	if err != nil || len(recs) != 0 {
		t.Fatalf("GetMany(nil) = %v, %v", recs, err)
	}
}

func testGetBy(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustInsert(t, s, "animals", "a1", nil, animal{Tag: "KZ001", Owner: "o"})
	mustInsert(t, s, "animals", "a2", nil, animal{Tag: "KZ002", Owner: "o"})
	mustInsert(t, s, "accounts", "u1", nil, account{Login: "aigul", Org: "vet-1", No: 7})
	mustInsert(t, s, "accounts", "u2", nil, account{Login: "erlan", Org: "vet-1", No: 8})
	t.Run("OK", func(t *testing.T) {
		rec, err := s.GetBy(ctx, "animals", "by_tag", "KZ002")
		if err != nil || rec.ID != "a2" {
			t.Fatalf("got %v, %v; want a2", rec.ID, err)
		}
	})
	t.Run("TwoFields", func(t *testing.T) {
		for _, no := range []any{8, int64(8), 8.0} {
			rec, err := s.GetBy(ctx, "accounts", "by_org_no", "vet-1", no)
			if err != nil || rec.ID != "u2" {
				t.Fatalf("no %T: got %v, %v; want u2", no, rec.ID, err)
			}
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := s.GetBy(ctx, "animals", "by_tag", "KZ999")
		WantErr(t, err, domain.ENOTFOUND, "")
		_, err = s.GetBy(ctx, "accounts", "by_org_no", "vet-1", 9)
		WantErr(t, err, domain.ENOTFOUND, "")
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		_, err := s.GetBy(ctx, "animals", "by_owner_born", "o", 1, "x") // not unique
		WantErr(t, err, domain.EINVALID, "")
		_, err = s.GetBy(ctx, "animals", "nope", "x")
		WantErr(t, err, domain.EINVALID, "")
		_, err = s.GetBy(ctx, "accounts", "by_org_no", "vet-1") // too few values
		WantErr(t, err, domain.EINVALID, "")
	})
}

func testInsert(t *testing.T, opened func(t *testing.T) domain.Store) {
	t.Run("OK", func(t *testing.T) {
		s := opened(t)
		rec, err := s.Insert(t.Context(), "animals", domain.Record{ID: "a1", Version: 7, Scope: []string{"t:1"}, Data: JSON(t, animal{Tag: "T1"})})
		if err != nil {
			t.Fatal(err)
		}
		if rec.ID != "a1" || rec.Version != 1 || !slices.Equal(rec.Scope, []string{"t:1"}) || !SameJSON(t, rec.Data, JSON(t, animal{Tag: "T1"})) {
			t.Fatalf("got %+v", rec)
		}
	})
	t.Run("ErrIDTaken", func(t *testing.T) {
		s := opened(t)
		mustInsert(t, s, "animals", "a1", nil, animal{Tag: "T1", Name: "first"})
		seq := lastSeq(t, s)
		_, err := s.Insert(t.Context(), "animals", domain.Record{ID: "a1", Data: JSON(t, animal{Tag: "T2", Name: "second"})})
		WantErr(t, err, domain.ECONFLICT, "_id")
		if rec := mustGet(t, s, "animals", "a1"); !SameJSON(t, rec.Data, JSON(t, animal{Tag: "T1", Name: "first"})) {
			t.Fatalf("the first document changed: %s", rec.Data)
		}
		// The would-be tag is still free.
		mustInsert(t, s, "animals", "a2", nil, animal{Tag: "T2"})
		if chs := AllChanges(t, s, seq, 100); len(chs) != 1 || chs[0].ID != "a2" {
			t.Fatalf("changes after the failed insert: %+v", chs)
		}
	})
	t.Run("ErrUniqueTaken", func(t *testing.T) {
		s := opened(t)
		mustInsert(t, s, "animals", "a1", nil, animal{Tag: "T1"})
		seq := lastSeq(t, s)
		_, err := s.Insert(t.Context(), "animals", domain.Record{ID: "a2", Scope: []string{"t:9"}, Data: JSON(t, animal{Tag: "T1"})})
		WantErr(t, err, domain.ECONFLICT, "by_tag")
		_, err = s.Get(t.Context(), "animals", "a2")
		WantErr(t, err, domain.ENOTFOUND, "")
		if chs := AllChanges(t, s, seq, 100); len(chs) != 0 {
			t.Fatalf("a failed insert logged %+v", chs)
		}
		// Not synced, two-field key.
		mustInsert(t, s, "accounts", "u1", nil, account{Login: "a", Org: "o", No: 1})
		_, err = s.Insert(t.Context(), "accounts", domain.Record{ID: "u2", Data: JSON(t, account{Login: "b", Org: "o", No: 1})})
		WantErr(t, err, domain.ECONFLICT, "by_org_no")
		_, err = s.Get(t.Context(), "accounts", "u2")
		WantErr(t, err, domain.ENOTFOUND, "")
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		s := opened(t)
		for name, data := range map[string]string{
			"NotObject":        `[1,2]`,
			"NotJSON":          `{"tag":`,
			"Underscore":       `{"tag":"x","_v":1}`,
			"Dollar":           `{"tag":"x","a":{"$set":1}}`,
			"Dot":              `{"tag":"x","a":[{"b.c":1}]}`,
			"UniqueMissing":    `{"owner":"o"}`,
			"IndexedFloat":     `{"tag":"x","born":1.5}`,
			"IndexedObject":    `{"tag":"x","name":{"a":1}}`,
			"DuplicateKey":     `{"tag":"x","tag":"y"}`,
			"TrailingGarbage":  `{"tag":"x"} {}`,
			"UniqueNull":       `{"tag":null}`,
			"IndexedArray":     `{"tag":"x","owner":["o"]}`,
			"EmptyIsNotObject": ``,
		} {
			_, err := s.Insert(t.Context(), "animals", domain.Record{ID: "a-" + name, Data: []byte(data)})
			if !domain.IsCode(err, domain.EINVALID) {
				t.Errorf("%s: %s: got %v, want EINVALID", name, data, err)
			}
		}
		_, err := s.Insert(t.Context(), "animals", domain.Record{ID: "", Data: JSON(t, animal{Tag: "x"})})
		WantErr(t, err, domain.EINVALID, "")
		if chs := AllChanges(t, s, 0, 100); len(chs) != 0 {
			t.Fatalf("invalid inserts logged %+v", chs)
		}
	})
}

func testUpdate(t *testing.T, opened func(t *testing.T) domain.Store) {
	t.Run("OK", func(t *testing.T) {
		s := opened(t)
		rec := mustInsert(t, s, "animals", "a1", []string{"t:1"}, animal{Tag: "T1", Name: "v1"})
		for v := int64(2); v <= 3; v++ {
			rec.Data = JSON(t, animal{Tag: "T1", Name: "v" + string(rune('0'+v))})
			got, err := s.Update(t.Context(), "animals", rec)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != v || !SameJSON(t, got.Data, rec.Data) {
				t.Fatalf("got %+v, want version %d", got, v)
			}
			rec = got
		}
		if got := mustGet(t, s, "animals", "a1"); got.Version != 3 || !SameJSON(t, got.Data, rec.Data) {
			t.Fatalf("stored %+v", got)
		}
	})
	t.Run("ErrStale", func(t *testing.T) {
		s := opened(t)
		rec := mustInsert(t, s, "animals", "a1", nil, animal{Tag: "T1", Name: "first"})
		next := rec
		next.Data = JSON(t, animal{Tag: "T1", Name: "second"})
		if _, err := s.Update(t.Context(), "animals", next); err != nil {
			t.Fatal(err)
		}
		seq := lastSeq(t, s)
		stale := rec
		stale.Data = JSON(t, animal{Tag: "T1", Name: "lost"})
		_, err := s.Update(t.Context(), "animals", stale)
		WantErr(t, err, domain.ECONFLICT, "_version")
		if got := mustGet(t, s, "animals", "a1"); got.Version != 2 || !SameJSON(t, got.Data, next.Data) {
			t.Fatalf("stored %+v", got)
		}
		if chs := AllChanges(t, s, seq, 100); len(chs) != 0 {
			t.Fatalf("a failed update logged %+v", chs)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s := opened(t)
		_, err := s.Update(t.Context(), "animals", domain.Record{ID: "nope", Version: 1, Data: JSON(t, animal{Tag: "T1"})})
		WantErr(t, err, domain.ENOTFOUND, "")
		if chs := AllChanges(t, s, 0, 100); len(chs) != 0 {
			t.Fatalf("a failed update logged %+v", chs)
		}
	})
	t.Run("ErrUniqueTaken", func(t *testing.T) {
		s := opened(t)
		a := mustInsert(t, s, "animals", "a1", nil, animal{Tag: "T1"})
		mustInsert(t, s, "animals", "a2", nil, animal{Tag: "T2"})
		seq := lastSeq(t, s)
		a.Data = JSON(t, animal{Tag: "T2"})
		_, err := s.Update(t.Context(), "animals", a)
		WantErr(t, err, domain.ECONFLICT, "by_tag")
		if got := mustGet(t, s, "animals", "a1"); got.Version != 1 || !SameJSON(t, got.Data, JSON(t, animal{Tag: "T1"})) {
			t.Fatalf("stored %+v", got)
		}
		if chs := AllChanges(t, s, seq, 100); len(chs) != 0 {
			t.Fatalf("a failed update logged %+v", chs)
		}
		// Keeping one's own key is no clash.
		a.Data = JSON(t, animal{Tag: "T1", Name: "renamed"})
		if _, err := s.Update(t.Context(), "animals", a); err != nil {
			t.Fatal(err)
		}
		u := mustInsert(t, s, "accounts", "u1", nil, account{Login: "a", Org: "o", No: 1})
		mustInsert(t, s, "accounts", "u2", nil, account{Login: "b", Org: "o", No: 2})
		u.Data = JSON(t, account{Login: "a", Org: "o", No: 2})
		_, err = s.Update(t.Context(), "accounts", u)
		WantErr(t, err, domain.ECONFLICT, "by_org_no")
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		s := opened(t)
		a := mustInsert(t, s, "animals", "a1", nil, animal{Tag: "T1"})
		a.Data = []byte(`{"owner":"o"}`)
		_, err := s.Update(t.Context(), "animals", a)
		WantErr(t, err, domain.EINVALID, "")
	})
}
