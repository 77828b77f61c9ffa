package domain_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/sqlite"
)

func TestRetryCAS(t *testing.T) {
	lost := &domain.Error{Code: domain.ECONFLICT, Key: "_version", Message: "moved on"}
	t.Run("RetriesALostCAS", func(t *testing.T) {
		n := 0
		err := domain.RetryCAS(t.Context(), func() error {
			if n++; n < 3 {
				return lost
			}
			return nil
		}, "busy")
		if err != nil || n != 3 {
			t.Fatalf("%d attempts, %v; want 3, nil", n, err)
		}
	})
	t.Run("BusyAfterThePolicy", func(t *testing.T) {
		n := 0
		err := domain.RetryCAS(t.Context(), func() error { n++; return lost }, "thing %s is busy", "x")
		if n != domain.CASRetries || !domain.IsTemporary(err) || !domain.IsCode(err, domain.ECONFLICT) || err.Error() != "conflict: thing x is busy" {
			t.Fatalf("%d attempts, %v", n, err)
		}
	})
	t.Run("AgainRetriesAnotherRace", func(t *testing.T) {
		taken := &domain.Error{Code: domain.ECONFLICT, Key: "_id"}
		n := 0
		err := domain.RetryCAS(t.Context(), func() error { n++; return domain.Again(taken) }, "busy")
		if n != domain.CASRetries || !domain.IsTemporary(err) {
			t.Fatalf("%d attempts, %v", n, err)
		}
	})
	t.Run("OtherErrorsAndFinalAreAnswers", func(t *testing.T) {
		other := domain.Errorf(domain.EPRECONDITION, "no")
		for _, c := range []struct {
			give, want error
		}{{other, other}, {domain.Final(lost), lost}, {&domain.Error{Code: domain.ECONFLICT, Key: "by_tag"}, nil}} {
			n := 0
			err := domain.RetryCAS(t.Context(), func() error { n++; return c.give }, "busy")
			if n != 1 || (c.want != nil && err != c.want) || (c.want == nil && !errors.Is(err, c.give)) {
				t.Errorf("%v: %d attempts, %v", c.give, n, err)
			}
		}
	})
}

type thing struct {
	domain.Meta
	Name string `json:"name"`
}

func TestInsertOrGet(t *testing.T) {
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	spec := domain.CollectionSpec{Name: "things", Indexes: []domain.Index{{Name: "things_name", Fields: []string{"name"}, Unique: true}}}
	if err := s.Declare(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	first := &thing{Meta: domain.Meta{ID: "a"}, Name: "first"}
	if ok, err := domain.InsertOrGet(t.Context(), s, "things", first, nil); !ok || err != nil || first.Version != 1 {
		t.Fatalf("first insert: %v, %v, %+v", ok, err, first)
	}
	again := &thing{Meta: domain.Meta{ID: "a"}, Name: "retry with other content"}
	if ok, err := domain.InsertOrGet(t.Context(), s, "things", again, nil); ok || err != nil || again.Name != "first" || again.Version != 1 {
		t.Fatalf("retry: %v, %v, %+v; want the stored thing", ok, err, again)
	}
	clash := &thing{Meta: domain.Meta{ID: "b"}, Name: "first"}
	if _, err := domain.InsertOrGet(t.Context(), s, "things", clash, nil); !domain.IsCode(err, domain.ECONFLICT) {
		t.Fatalf("a clash on another key: %v, want ECONFLICT", err)
	}
}
