package identification_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/identification"
)

func TestAllocate(t *testing.T) {
	t.Parallel()
	e := newIdentEnv(t) // holds 398000000000001–1000 (Bayzak) and 398000000100001–101000 (Korday)

	t.Run("OK", func(t *testing.T) {
		r, err := e.Id.Stock.Allocate(t.Context(), e.Admin, identification.NewTagRange{Unit: string(kzBayzak),
			First: "398000000001001", Last: "398000000011000", Means: domain.MeansBolus})
		if err != nil {
			t.Fatal(err)
		}
		if r.Size() != 10000 || r.FirstTag() != "398000000001001" || r.LastTag() != "398000000011000" || r.Means != domain.MeansBolus {
			t.Errorf("range %+v", r)
		}
		if got := e.TagStatus("398000000005000"); got != identification.TagInStock {
			t.Errorf("a number of the range is %s", got)
		}
	})

	for _, c := range []struct{ Name, First, Last string }{
		{"ErrOverlapStart", "398000000000990", "398000000001000"},
		{"ErrOverlapEnd", "398000000000000", "398000000000001"},
		{"ErrOverlapInside", "398000000000500", "398000000000501"},
		{"ErrOverlapAround", "398000000000000", "398000000020000"},
	} {
		t.Run(c.Name, func(t *testing.T) {
			_, err := e.Id.Stock.Allocate(t.Context(), e.Admin, identification.NewTagRange{Unit: string(kzKorday), First: c.First, Last: c.Last})
			if !domain.IsCode(err, domain.ECONFLICT) {
				t.Fatalf("err = %v, want ECONFLICT", err)
			}
		})
	}

	t.Run("RetryAnswersTheRange", func(t *testing.T) {
		in := identification.NewTagRange{ID: uuid.NewString(), Unit: string(kzKorday), First: "398000000200001", Count: 50}
		r1, err := e.Id.Stock.Allocate(t.Context(), e.Admin, in)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := e.Id.Stock.Allocate(t.Context(), e.Admin, in)
		if err != nil || r2.ID != r1.ID || r2.Version != r1.Version {
			t.Fatalf("retry: %+v, %v", r2, err)
		}
		in.Count = 60
		if _, err := e.Id.Stock.Allocate(t.Context(), e.Admin, in); !domain.IsCode(err, domain.ECONFLICT) {
			t.Fatalf("the id for another range: %v", err)
		}
	})

	for _, c := range []struct {
		Name  string
		In    identification.NewTagRange
		Field string
	}{
		{"ErrTooLarge", identification.NewTagRange{Unit: string(kzBayzak), First: "398000001000000", Count: identification.MaxRangeSize + 1}, "count"},
		{"ErrPastTheEnd", identification.NewTagRange{Unit: string(kzBayzak), First: "398999999999990", Count: 20}, "count"},
		{"ErrLastBeforeFirst", identification.NewTagRange{Unit: string(kzBayzak), First: "398000001000000", Last: "398000000999999"}, "last"},
		{"ErrCountry", identification.NewTagRange{Unit: string(kzBayzak), First: "643000001000000", Count: 5}, "first"},
		{"ErrUnit", identification.NewTagRange{Unit: "31320000", First: "398000001000000", Count: 5}, "unit"},
		{"ErrMarks", identification.NewTagRange{Unit: string(kzBayzak), Means: domain.MeansBrand, First: "398000001000000", Count: 5}, "means"},
	} {
		t.Run(c.Name, func(t *testing.T) {
			_, err := e.Id.Stock.Allocate(t.Context(), e.Admin, c.In)
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != domain.EINVALID || de.Field != c.Field {
				t.Fatalf("err = %v, want EINVALID at %s", err, c.Field)
			}
		})
	}

	t.Run("ErrNotAdmin", func(t *testing.T) {
		_, err := e.Id.Stock.Allocate(t.Context(), e.Vet, identification.NewTagRange{Unit: string(kzBayzak), First: "398000001000000", Count: 5})
		if !domain.IsCode(err, domain.EFORBIDDEN) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("LookupIsScoped", func(t *testing.T) {
		if _, err := e.Id.Stock.Lookup(t.Context(), e.VetKorday, "398000000000001"); !domain.IsCode(err, domain.ENOTFOUND) {
			t.Errorf("another district's number: %v", err)
		}
		if _, err := e.Id.Stock.Lookup(t.Context(), e.Vet2, "398000000000001"); err != nil {
			t.Errorf("a vet within the unit: %v", err)
		}
	})
}

// TestAllocateConcurrent allocates from several goroutines at once: of overlapping ranges exactly
// one is stored; ranges that do not overlap are all stored.
func TestAllocateConcurrent(t *testing.T) {
	t.Parallel()
	e := newIdentEnv(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = e.Id.Stock.Allocate(t.Context(), e.Admin, identification.NewTagRange{Unit: string(kzBayzak),
				First: fmt.Sprintf("3980000100%05d", i*10), Count: 100})
		})
		wg.Go(func() {
			_, errs[n+i] = e.Id.Stock.Allocate(t.Context(), e.Admin, identification.NewTagRange{Unit: string(kzKorday),
				First: fmt.Sprintf("3980000200%05d", i*100), Count: 100})
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs[:n] {
		if err == nil {
			won++
		} else if !domain.IsCode(err, domain.ECONFLICT) {
			t.Errorf("overlapping allocation %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d of the overlapping ranges were stored, want 1", won)
	}
	for i, err := range errs[n:] {
		if err != nil {
			t.Errorf("disjoint allocation %d: %v", i, err)
		}
	}
}

// TestAllocateResumesPending crashes an allocation after it reserved its range in the ledger: the
// next allocation finishes it before its own.
func TestAllocateResumesPending(t *testing.T) {
	t.Parallel()
	e := newIdentEnv(t)
	e.Hooked().Crash("insert", identification.TagRangesSpec.Name)
	_, err := e.Id.Stock.Allocate(t.Context(), e.Admin, identification.NewTagRange{Unit: string(kzBayzak), First: "398000030000001", Count: 10})
	if !errors.Is(err, errCrash) {
		t.Fatalf("first allocation: %v, want the simulated crash", err)
	}
	if _, err := e.Id.Stock.Allocate(t.Context(), e.Admin, identification.NewTagRange{Unit: string(kzBayzak), First: "398000030000005", Count: 10}); !domain.IsCode(err, domain.ECONFLICT) {
		t.Fatalf("a range overlapping the crashed one: %v, want ECONFLICT", err)
	}
	if got := e.TagStatus("398000030000010"); got != identification.TagInStock {
		t.Errorf("a number of the crashed allocation is %s, want in_stock", got)
	}
}
