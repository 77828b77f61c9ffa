package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// Option tells Run which of the port's engine-dependent promises the adapter makes.
type Option func(*options)

type options struct{ atomic bool }

// AtomicApply says the adapter applies a unit of work in one transaction (SQLite): a failed step
// must leave nothing of the set behind. Without it the suite checks the weaker promise every
// adapter makes: the steps before the failed one applied, none after it.
func AtomicApply() Option { return func(o *options) { o.atomic = true } }

// unit is the unit of work the Apply tests use, in the suite's vocabulary: a synced insert, an
// unsynced insert, a synced compare-and-swap update of base and a counter step. The ids carry
// suffix so that one store serves several runs.
func unit(t *testing.T, suffix string, base domain.Record) *domain.Writes {
	w := &domain.Writes{}
	w.Insert("animals", domain.Record{ID: "ua" + suffix, Scope: []string{"t:1"}, Data: JSON(t, animal{Tag: "UA" + suffix, Owner: "o", Born: born(3), Name: "ua"})})
	w.Insert("accounts", domain.Record{ID: "ub" + suffix, Data: JSON(t, account{Login: "ub" + suffix, Org: "org" + suffix, No: 7})})
	up := base
	up.Scope = []string{"t:2"}
	up.Data = JSON(t, animal{Tag: "UC" + suffix, Owner: "o2", Name: "moved", Alive: true})
	w.Update("animals", up)
	w.Incr("units"+suffix, 5, time.Time{})
	return w
}

// checkUnit checks that the unit of suffix is fully applied: the records as written, the counter
// at want, and exactly one change-log entry after seq0 for each synced write.
func checkUnit(t *testing.T, s domain.Store, w *domain.Writes, suffix string, seq0, counter int64) {
	t.Helper()
	for _, st := range w.Steps() {
		if st.Op == domain.StepIncr {
			continue
		}
		got := mustGet(t, s, st.Coll, st.Rec.ID)
		want := st.Rec
		want.Version = 1
		if st.Op == domain.StepUpdate {
			want.Version = st.Rec.Version + 1
		}
		if !st.DoneBy(got) {
			t.Errorf("%s/%s is v%d %s %v, want v%d %s %v", st.Coll, st.Rec.ID, got.Version, got.Data, got.Scope, want.Version, want.Data, want.Scope)
		}
	}
	if v, err := s.Incr(t.Context(), "units"+suffix, 0, time.Time{}); err != nil || v != counter {
		t.Errorf("counter %d, %v; want %d", v, err, counter)
	}
	entries := map[string]int{}
	for _, ch := range AllChanges(t, s, seq0, domain.MaxPageSize) {
		entries[fmt.Sprintf("%s/%s@%d", ch.Collection, ch.ID, ch.Version)]++
	}
	want := map[string]int{"animals/ua" + suffix + "@1": 1, "animals/uc" + suffix + "@2": 1}
	if fmt.Sprint(entries) != fmt.Sprint(want) {
		t.Errorf("change log after the unit: %v, want %v", entries, want)
	}
}

// checkReadable reads the whole change log as a sync client would and checks that every entry
// names a document that exists at that version or later: a reader never trips over an entry for
// a write that is not there.
func checkReadable(t *testing.T, s domain.Store) {
	t.Helper()
	for _, ch := range AllChanges(t, s, 0, domain.MaxPageSize) {
		rec, err := s.Get(t.Context(), ch.Collection, ch.ID)
		if err != nil {
			t.Errorf("change %d names %s/%s: %v", ch.Seq, ch.Collection, ch.ID, err)
			continue
		}
		if rec.Version < ch.Version {
			t.Errorf("change %d names %s/%s v%d, the document is at v%d", ch.Seq, ch.Collection, ch.ID, ch.Version, rec.Version)
		}
	}
}

func testApply(t *testing.T, opened func(t *testing.T) domain.Store, o options) {
	t.Run("OK", func(t *testing.T) {
		s := opened(t)
		base := mustInsert(t, s, "animals", "uc", []string{"t:1"}, animal{Tag: "UC", Owner: "o"})
		seq0 := lastSeq(t, s)
		w := unit(t, "", base)
		res, err := s.Apply(t.Context(), w)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 4 || res[0].Record.Version != 1 || res[1].Record.Version != 1 || res[2].Record.Version != 2 ||
			res[2].Record.ID != "uc" || res[3].Value != 5 || !SameJSON(t, res[2].Record.Data, w.Steps()[2].Rec.Data) {
			t.Fatalf("results %+v", res)
		}
		checkUnit(t, s, w, "", seq0, 5)
		chs := AllChanges(t, s, seq0, 10)
		if len(chs) != 2 || chs[0].ID != "ua" || chs[1].ID != "uc" || join(chs[1].PrevScope) != "t:1" || join(chs[1].Scope) != "t:2" {
			t.Errorf("changes %+v, want ua then uc in step order with their scopes", chs)
		}
		// Applied again as it is, the set finds every write its own and only counts again.
		if _, err := s.Apply(t.Context(), w); err != nil {
			t.Fatalf("the same set again: %v", err)
		}
		checkUnit(t, s, w, "", seq0, 10)
		if res, err := s.Apply(t.Context(), &domain.Writes{}); err != nil || len(res) != 0 {
			t.Errorf("an empty set: %v, %v", res, err)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		s := opened(t)
		seq0 := lastSeq(t, s)
		w := &domain.Writes{}
		w.Insert("animals", domain.Record{ID: "twice", Data: JSON(t, animal{Tag: "TW1"})})
		w.Update("animals", domain.Record{ID: "twice", Version: 1, Data: JSON(t, animal{Tag: "TW2"})})
		_, err := s.Apply(t.Context(), w)
		WantErr(t, err, domain.EINVALID, "")
		if _, err := s.Get(t.Context(), "animals", "twice"); !domain.IsCode(err, domain.ENOTFOUND) || lastSeq(t, s) != seq0 {
			t.Errorf("a refused set wrote something: %v", err)
		}
	})

	// Each step of the unit in turn fails on a conflict (or a missing document): the set stops
	// there with that step's error, nothing after it is written and, on an atomic engine,
	// nothing before it either.
	t.Run("Conflict", func(t *testing.T) {
		s := opened(t)
		mustInsert(t, s, "animals", "taken", nil, animal{Tag: "TAKEN"})
		mustInsert(t, s, "accounts", "acc", nil, account{Login: "LOGIN", Org: "org", No: 1})
		for _, c := range []struct {
			name string
			step int
			code string
			key  string
		}{
			{"InsertID", 0, domain.ECONFLICT, "_id"},
			{"InsertIndex", 1, domain.ECONFLICT, "by_login"},
			{"UpdateVersion", 2, domain.ECONFLICT, "_version"},
			{"UpdateIndex", 2, domain.ECONFLICT, "by_tag"},
			{"UpdateMissing", 2, domain.ENOTFOUND, ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				sfx := "-" + c.name
				base := mustInsert(t, s, "animals", "uc"+sfx, nil, animal{Tag: "UC" + sfx})
				w := unit(t, sfx, base)
				st := w.Steps()
				switch c.name {
				case "InsertID":
					st[0].Rec.ID = "taken"
				case "InsertIndex":
					st[1].Rec.Data = JSON(t, account{Login: "LOGIN", Org: "org", No: 2})
				case "UpdateVersion":
					st[2].Rec.Version = 7
				case "UpdateIndex":
					st[2].Rec.Data = JSON(t, animal{Tag: "TAKEN"})
				case "UpdateMissing":
					st[2].Rec.ID = "nobody"
				}
				seq0 := lastSeq(t, s)
				_, err := s.Apply(t.Context(), w)
				WantErr(t, err, c.code, c.key)
				if k, _ := domain.FailedStep(err); k != c.step {
					t.Errorf("failed step %d, want %d", k, c.step)
				}
				for i, x := range st {
					applied := false
					switch x.Op {
					case domain.StepIncr:
						v, err := s.Incr(t.Context(), x.Key, 0, time.Time{})
						if err != nil {
							t.Fatal(err)
						}
						applied = v != 0
					default:
						got, err := s.Get(t.Context(), x.Coll, x.Rec.ID)
						applied = err == nil && x.DoneBy(got)
					}
					want := i < c.step && !o.atomic
					if applied != want {
						t.Errorf("step %d (%s %s): applied %v, want %v", i, x.Op, x.Rec.ID, applied, want)
					}
				}
				if o.atomic && lastSeq(t, s) != seq0 {
					t.Errorf("the failed set logged changes: %+v", AllChanges(t, s, seq0, 10))
				}
				checkReadable(t, s)
			})
		}
	})

	// A crash right before each step in turn, then the same set again: the crash leaves a prefix
	// (at most) that a reader of the change log never trips over, and the retry completes the set
	// to exactly the state and the change log of a set applied once. Only the counter step, not
	// idempotent, counts twice when the crash came after it.
	t.Run("CrashRetry", func(t *testing.T) {
		s := opened(t)
		for k := range 4 {
			t.Run(fmt.Sprint("BeforeStep", k), func(t *testing.T) {
				sfx := fmt.Sprint("-k", k)
				base := mustInsert(t, s, "animals", "uc"+sfx, []string{"t:1"}, animal{Tag: "UC" + sfx})
				seq0 := lastSeq(t, s)
				w := unit(t, sfx, base)
				h := Hook(s)
				h.Set(CrashAt(k))
				if _, err := h.Apply(t.Context(), w); !errors.Is(err, ErrCrash) {
					t.Fatalf("the crashed set: %v", err)
				} else if step, _ := domain.FailedStep(err); step != k {
					t.Fatalf("crashed at step %d, want %d", step, k)
				}
				checkReadable(t, s)
				if _, err := h.Apply(t.Context(), w); err != nil {
					t.Fatalf("the retry: %v", err)
				}
				checkReadable(t, s)
				checkUnit(t, s, w, sfx, seq0, 5)
			})
		}
	})
}
