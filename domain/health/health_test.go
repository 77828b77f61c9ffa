package health_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/health"
	"github.com/vetfield/vetfield/domain/identification"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite"
	"github.com/vetfield/vetfield/domain/storetest"
)

const (
	kzBayzak  = domain.Kato("313200000")
	kzBayzak1 = domain.Kato("313230000")
	ownerA    = "880101300123"
)

// healthEnv is the whole graph over a fresh SQLite file, a vet of Bayzak and a holding there.
type healthEnv struct {
	TB      testing.TB
	Store   *sqlite.Store
	App     *vetfield.App
	Vet     domain.Principal
	Holding *identification.Holding
	next    int
}

func newHealthEnv(tb testing.TB) *healthEnv {
	tb.Helper()
	store, err := sqlite.Open(filepath.Join(tb.TempDir(), "health.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	key, err := keyring.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	clock := storetest.NewClock(time.Date(2026, 3, 20, 5, 0, 0, 0, time.UTC))
	app, err := vetfield.Open(tb.Context(), vetfield.Config{Store: store, Now: clock.Now, Keys: keyring.New(key)})
	if err != nil {
		tb.Fatal(err)
	}
	e := &healthEnv{TB: tb, Store: store, App: app,
		Vet: domain.Principal{UserID: "vet-1", Username: "aigul", Role: domain.RoleVet, Territory: kzBayzak}}
	admin := domain.Principal{UserID: "admin", Username: "admin", Role: domain.RoleAdmin}
	if e.Holding, err = app.Identification.Holdings.Create(tb.Context(), e.Vet, identification.NewHolding{Kind: identification.HoldingYard,
		Name: "Ақжол", OwnerIIN: ownerA, OwnerName: "Серік Ахметов", Address: "Сарыкемер", Territory: string(kzBayzak1)}); err != nil {
		tb.Fatal(err)
	}
	if _, err := app.Identification.Stock.Allocate(tb.Context(), admin, identification.NewTagRange{Unit: string(kzBayzak),
		First: "398000000000001", Count: 5000}); err != nil {
		tb.Fatal(err)
	}
	return e
}

// cows identifies n cows on the holding.
func (e *healthEnv) cows(n int) []*identification.Animal {
	e.TB.Helper()
	out := make([]*identification.Animal, 0, n)
	for range n {
		e.next++
		a, _, err := e.App.Identification.Animals.Identify(e.TB.Context(), e.Vet, identification.NewAnimal{ID: uuid.NewString(),
			HoldingID: e.Holding.ID, Species: domain.Cattle, Sex: identification.SexFemale, BirthDate: domain.NewCivilDate(2025, 4, 2),
			Breed: "Әулиеата", Colour: "қызыл",
			Identifiers: []domain.IdentifierInput{{Means: domain.MeansEarTag, Number: fmt.Sprintf("398%012d", e.next)}}})
		if err != nil {
			e.TB.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func refs(as []*identification.Animal) []health.AnimalRef {
	out := make([]health.AnimalRef, 0, len(as))
	for _, a := range as {
		out = append(out, health.AnimalRef{ID: a.ID})
	}
	return out
}

func (e *healthEnv) vaccination(as []*identification.Animal) health.NewVaccination {
	return health.NewVaccination{ID: uuid.NewString(), HoldingID: e.Holding.ID, Disease: "anthrax", Vaccine: "55-ВНИИВВиМ",
		Series: "С-17", Dose: "1 мл", Date: domain.NewCivilDate(2026, 3, 19), Animals: refs(as)}
}

func (e *healthEnv) events(a *identification.Animal, kind identification.EventKind) int {
	e.TB.Helper()
	evs, _, err := e.App.Identification.Animals.Events(e.TB.Context(), e.Vet, a.ID, "", 1000)
	if err != nil {
		e.TB.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

// hooked puts the crash-injecting store under the health service: every unit is applied step by
// step, so a crash midway leaves the prefix MongoDB would.
func (e *healthEnv) hooked() *storetest.HookStore {
	h := storetest.Hook(e.Store)
	e.App.Health.Store = h
	return h
}

// TestVaccinationResumesAfterCrash: a crash after the vaccination was stored but before its
// history entries leaves a prefix; the retry writes the missing entries once.
func TestVaccinationResumesAfterCrash(t *testing.T) {
	t.Parallel()
	e := newHealthEnv(t)
	cows := e.cows(3)
	h := e.hooked()
	h.Crash("insert", identification.AnimalEventsSpec.Name).Skip = 1 // the second cow's entry
	in := e.vaccination(cows)
	if _, err := e.App.Health.Vaccinations.Record(t.Context(), e.Vet, in); !errors.Is(err, storetest.ErrCrash) {
		t.Fatalf("crash: %v", err)
	}
	if got := e.events(cows[0], health.EventVaccinated) + e.events(cows[1], health.EventVaccinated); got != 1 {
		t.Fatalf("after the crash %d entries", got)
	}
	v, err := e.App.Health.Vaccinations.Record(t.Context(), e.Vet, in)
	if err != nil || v.Applied != 3 {
		t.Fatalf("retry: %+v %v", v, err)
	}
	for i, c := range cows {
		if n := e.events(c, health.EventVaccinated); n != 1 {
			t.Errorf("cow %d has %d vaccination entries", i, n)
		}
	}
}

// TestResultResumesAfterCrash: a crash before the test's own update (the last step) leaves the
// animal's finding and history written; the retry completes the test without a second entry, and
// the finding is the one the act reported.
func TestResultResumesAfterCrash(t *testing.T) {
	t.Parallel()
	e := newHealthEnv(t)
	cows := e.cows(2)
	ctx := t.Context()
	test, err := e.App.Health.Tests.Sample(ctx, e.Vet, health.NewTest{ID: uuid.NewString(), HoldingID: e.Holding.ID,
		Disease: "brucellosis", Method: health.MethodRBT, SampledOn: domain.NewCivilDate(2026, 3, 10), Animals: refs(cows)})
	if err != nil {
		t.Fatal(err)
	}
	res := health.NewResult{ID: uuid.NewString(), Laboratory: "Облыстық зертхана", Act: "245", ActDate: domain.NewCivilDate(2026, 3, 20),
		Animals: []health.AnimalResultInput{{AnimalRef: health.AnimalRef{ID: cows[0].ID}, Result: health.ResultPositive},
			{AnimalRef: health.AnimalRef{ID: cows[1].ID}, Result: health.ResultNegative}}}
	h := e.hooked()
	h.Crash("update", health.TestsSpec.Name)
	if _, err := e.App.Health.Tests.RecordResult(ctx, e.Vet, test.ID, res); !errors.Is(err, storetest.ErrCrash) {
		t.Fatalf("crash: %v", err)
	}
	a, _ := e.App.Identification.Animals.Load(ctx, cows[0].ID)
	if len(a.Findings) != 1 || e.events(cows[0], health.EventDiagnosticResult) != 1 {
		t.Fatalf("the prefix: findings %+v", a.Findings)
	}
	got, err := e.App.Health.Tests.RecordResult(ctx, e.Vet, test.ID, res)
	if err != nil || len(got.Results) != 1 || got.Animals[0].Result != health.ResultPositive {
		t.Fatalf("retry: %+v %v", got, err)
	}
	a, _ = e.App.Identification.Animals.Load(ctx, cows[0].ID)
	if len(a.Findings) != 1 || a.Findings[0].TestID != test.ID || a.Findings[0].Act != "245" ||
		e.events(cows[0], health.EventDiagnosticResult) != 1 || e.events(cows[1], health.EventDiagnosticResult) != 1 {
		t.Errorf("after the retry: findings %+v", a.Findings)
	}
	// The same result id with another act is a conflict, not a second result.
	other := res
	other.Act = "246"
	if _, err := e.App.Health.Tests.RecordResult(ctx, e.Vet, test.ID, other); !domain.IsCode(err, domain.ECONFLICT) {
		t.Errorf("a reused result id: %v", err)
	}
}

// BenchmarkVaccination compares, per animal, one vaccination of 500 animals in one request with
// 500 vaccinations of one animal each, in the same run over the same herd.
func BenchmarkVaccination(b *testing.B) {
	e := newHealthEnv(b)
	herd := e.cows(500)
	b.Run("Group500", func(b *testing.B) {
		for b.Loop() {
			v, err := e.App.Health.Vaccinations.Record(b.Context(), e.Vet, e.vaccination(herd))
			if err != nil || v.Applied != 500 {
				b.Fatal(v, err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/animal")
	})
	b.Run("Single500", func(b *testing.B) {
		for b.Loop() {
			for _, a := range herd {
				if _, err := e.App.Health.Vaccinations.Record(b.Context(), e.Vet, e.vaccination([]*identification.Animal{a})); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/animal")
	})
}

// TestFindingsFollowTheSamples: a doubtful result keeps a finding, a negative result on an
// earlier sample does not clear a positive one on a later sample, a negative on a later sample
// does; a finding of another disease stays through all of it.
func TestFindingsFollowTheSamples(t *testing.T) {
	t.Parallel()
	e := newHealthEnv(t)
	cow := e.cows(1)[0]
	ctx := t.Context()
	sample := func(disease string, day int) *health.DiagnosticTest {
		t.Helper()
		test, err := e.App.Health.Tests.Sample(ctx, e.Vet, health.NewTest{ID: uuid.NewString(), HoldingID: e.Holding.ID,
			Disease: disease, Method: health.MethodELISA, SampledOn: domain.NewCivilDate(2026, 3, day), Animals: refs([]*identification.Animal{cow})})
		if err != nil {
			t.Fatal(err)
		}
		return test
	}
	result := func(test *health.DiagnosticTest, r string) []identification.Finding {
		t.Helper()
		if _, err := e.App.Health.Tests.RecordResult(ctx, e.Vet, test.ID, health.NewResult{ID: uuid.NewString(), Laboratory: "Зертхана",
			Act: r + test.ID[:4], ActDate: domain.NewCivilDate(2026, 3, 20),
			Animals: []health.AnimalResultInput{{AnimalRef: health.AnimalRef{Tag: string(cow.Tag)}, Result: r}}}); err != nil {
			t.Fatal(err)
		}
		a, err := e.App.Identification.Animals.Load(ctx, cow.ID)
		if err != nil {
			t.Fatal(err)
		}
		return a.Findings
	}
	diseases := func(fs []identification.Finding) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Disease+"@"+f.SampledOn.String())
		}
		return out
	}
	early, late := sample("brucellosis", 5), sample("brucellosis", 15)
	leuk := sample("leukosis", 6)
	if got := diseases(result(leuk, health.ResultPositive)); len(got) != 1 {
		t.Fatalf("leukosis positive: %v", got)
	}
	if got := diseases(result(late, health.ResultPositive)); len(got) != 2 {
		t.Fatalf("brucellosis positive: %v", got)
	}
	if got := diseases(result(late, health.ResultDoubtful)); len(got) != 2 {
		t.Errorf("a doubtful result changed the findings: %v", got)
	}
	if got := diseases(result(early, health.ResultNegative)); len(got) != 2 {
		t.Errorf("a negative on an earlier sample cleared a later positive: %v", got)
	}
	if got := diseases(result(sample("brucellosis", 18), health.ResultNegative)); len(got) != 1 || got[0] != "leukosis@2026-03-06" {
		t.Errorf("a negative on a later sample: %v", got)
	}
	// A sheep-only disease for a cow, a future date, an unknown method: refused, nothing written.
	seq := func() int64 {
		var last int64
		for {
			cs, err := e.Store.Changes(ctx, last, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) == 0 {
				return last
			}
			last = cs[len(cs)-1].Seq
		}
	}
	before := seq()
	for _, in := range []health.NewTest{
		{Disease: "ppr", Method: health.MethodPCR, SampledOn: domain.NewCivilDate(2026, 3, 19)},
		{Disease: "brucellosis", Method: health.MethodPCR, SampledOn: domain.NewCivilDate(2026, 3, 21)},
		{Disease: "brucellosis", Method: "guesswork", SampledOn: domain.NewCivilDate(2026, 3, 19)},
	} {
		in.ID, in.HoldingID, in.Animals = uuid.NewString(), e.Holding.ID, refs([]*identification.Animal{cow})
		if _, err := e.App.Health.Tests.Sample(ctx, e.Vet, in); !domain.IsCode(err, domain.EINVALID) {
			t.Errorf("%+v: %v", in, err)
		}
	}
	if seq() != before {
		t.Error("refused samplings wrote")
	}
}
