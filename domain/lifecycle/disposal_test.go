package lifecycle_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/identification"
	"github.com/vetfield/vetfield/domain/inspection"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/lifecycle"
	"github.com/vetfield/vetfield/domain/sqlite"
	"github.com/vetfield/vetfield/domain/sqlite/sqlitetest"
	"github.com/vetfield/vetfield/domain/storetest"
)

const (
	kzBayzak = domain.Kato("313200000")
	kzKorday = domain.Kato("314800000")
	ownerA   = "880101300123"
)

type lifeEnv struct {
	t     *testing.T
	store *sqlite.Store
	clock *storetest.Clock
	app   *vetfield.App

	admin, vet, korday, farmer domain.Principal
	holding                    *identification.Holding
	site                       *inspection.ProductionObject
}

func newLifeEnv(t *testing.T) *lifeEnv {
	t.Helper()
	store := sqlitetest.Open(t)
	key, _ := keyring.Generate()
	e := &lifeEnv{t: t, store: store, clock: storetest.NewClock(storetest.Almaty("2026-03-20", 10, 0))}
	var err error
	if e.app, err = vetfield.Open(t.Context(), vetfield.Config{Store: store, Now: e.clock.Now, Keys: keyring.New(key)}); err != nil {
		t.Fatal(err)
	}
	e.admin = domain.Principal{UserID: "admin", Username: "admin", Role: domain.RoleAdmin}
	e.vet = domain.Principal{UserID: "vet-1", Username: "aigul", Role: domain.RoleVet, Territory: kzBayzak}
	e.korday = domain.Principal{UserID: "vet-3", Username: "erlan", Role: domain.RoleVet, Territory: kzKorday}
	e.farmer = domain.Principal{UserID: "farmer-a", Username: "farmer.a", Role: domain.RoleFarmer, IIN: ownerA}
	id := e.app.Identification
	if e.holding, err = id.Holdings.Create(t.Context(), e.vet, identification.NewHolding{Kind: identification.HoldingYard,
		Name: "Ақжол", OwnerIIN: ownerA, OwnerName: "Серік Ахметов", Address: "Сарыкемер", Territory: string(kzBayzak)}); err != nil {
		t.Fatal(err)
	}
	if _, err := id.Stock.Allocate(t.Context(), e.admin, identification.NewTagRange{Unit: string(kzBayzak), First: "398000000000001", Count: 100}); err != nil {
		t.Fatal(err)
	}
	if e.site, _, err = e.app.Inspection.Register.Create(t.Context(), e.vet, inspection.NewObject{Kind: inspection.KindSlaughter,
		Name: "Тараз ет", OwnerIIN: "900515400123", Address: "Сарыкемер, Өнеркәсіп к-сі 3", Territory: string(kzBayzak)}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *lifeEnv) cow(tag string) *identification.Animal {
	e.t.Helper()
	a, _, err := e.app.Identification.Animals.Identify(e.t.Context(), e.vet, identification.NewAnimal{ID: uuid.NewString(),
		HoldingID: e.holding.ID, Species: domain.Cattle, Sex: identification.SexFemale, BirthDate: domain.NewCivilDate(2025, 4, 2),
		Breed: "Әулиеата", Colour: "қызыл", Identifiers: []domain.IdentifierInput{{Means: domain.MeansEarTag, Number: tag}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *lifeEnv) slaughter() lifecycle.NewDisposal {
	return lifecycle.NewDisposal{ID: uuid.NewString(), Kind: lifecycle.DisposalSlaughtered, Date: domain.NewCivilDate(2026, 3, 20),
		Cause: "сатуға союға жіберілді", ObjectID: e.site.ID,
		Expertise: &identification.Expertise{Result: lifecycle.ExpertiseFit, Act: "ВСЭ-17"}}
}

func (e *lifeEnv) lastSeq() int64 { return storetest.LastSeq(e.t, e.store) }

func (e *lifeEnv) events(id string) []identification.EventKind {
	e.t.Helper()
	evs, _, err := e.app.Identification.Animals.Events(e.t.Context(), e.admin, id, "", 100)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []identification.EventKind
	for _, ev := range evs {
		out = append(out, ev.Kind)
	}
	return out
}

// TestDisposeSlaughtered: a cow slaughtered at a site of the register leaves the register — its
// number retired and never fitted again, no copy of its passport, no reissue — and a retry of the
// disposal writes nothing; an admin's correction keeps the earlier entry.
func TestDisposeSlaughtered(t *testing.T) {
	t.Parallel()
	e := newLifeEnv(t)
	ctx := t.Context()
	ds := e.app.Lifecycle.Disposals
	id := e.app.Identification
	cow := e.cow("398000000000001")
	e.clock.Advance(time.Hour)
	in := e.slaughter()
	a, err := ds.Dispose(ctx, e.vet, cow.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != identification.AnimalDisposed || a.Disposal == nil || a.Disposal.Kind != lifecycle.DisposalSlaughtered ||
		a.Disposal.ObjectID != e.site.ID || a.Disposal.Expertise.Act != "ВСЭ-17" || a.Identifiers[0].Status != domain.IdentRetired {
		t.Fatalf("disposed %+v %+v", a, a.Disposal)
	}
	info, err := id.Stock.Lookup(ctx, e.admin, "398000000000001")
	if err != nil || info.Status() != identification.TagRetired {
		t.Fatalf("the number is %v (%v)", info.Status(), err)
	}
	if got := e.events(cow.ID); len(got) != 2 || got[1] != lifecycle.EventDisposed {
		t.Errorf("history %v", got)
	}

	t.Run("RetryWritesNothing", func(t *testing.T) {
		seq := e.lastSeq()
		again, err := ds.Dispose(ctx, e.vet, cow.ID, in)
		if err != nil || again.Version != a.Version {
			t.Fatalf("retry: %v %+v", err, again)
		}
		if e.lastSeq() != seq {
			t.Error("the retry wrote")
		}
	})

	t.Run("NoPaperAgain", func(t *testing.T) {
		if _, _, err := id.Animals.DuplicatePassport(ctx, e.vet, cow.ID, uuid.NewString()); !domain.IsCode(err, domain.EPRECONDITION) {
			t.Errorf("duplicate: %v", err)
		}
		if _, _, err := id.Animals.ExtractPassport(ctx, e.vet, cow.ID, uuid.NewString()); !domain.IsCode(err, domain.EPRECONDITION) {
			t.Errorf("extract: %v", err)
		}
		if _, err := id.Reissues.ReportTagLoss(ctx, e.vet, cow.ID, identification.TagLoss{ID: uuid.NewString(), Kind: identification.TagLost}); !domain.IsCode(err, domain.EPRECONDITION) {
			t.Errorf("reissue: %v", err)
		}
		other := identification.NewAnimal{ID: uuid.NewString(), HoldingID: e.holding.ID, Species: domain.Cattle, Sex: identification.SexMale,
			BirthDate: domain.NewCivilDate(2025, 4, 2), Breed: "Әулиеата", Colour: "қызыл",
			Identifiers: []domain.IdentifierInput{{Means: domain.MeansEarTag, Number: "398000000000001"}}}
		if _, _, err := id.Animals.Identify(ctx, e.vet, other); !domain.IsCode(err, domain.ECONFLICT) {
			t.Errorf("the retired number fitted again: %v", err)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		other := e.cow("398000000000002")
		seq := e.lastSeq()
		future := e.slaughter()
		future.Date = domain.NewCivilDate(2026, 3, 21)
		if _, err := ds.Dispose(ctx, e.vet, other.ID, future); !domain.IsCode(err, domain.EINVALID) {
			t.Errorf("in the future: %v", err)
		}
		early := e.slaughter()
		early.Date = domain.NewCivilDate(2025, 4, 1)
		if _, err := ds.Dispose(ctx, e.vet, other.ID, early); !domain.IsCode(err, domain.EINVALID) {
			t.Errorf("before birth: %v", err)
		}
		noSite := e.slaughter()
		noSite.ObjectID = e.holding.ID
		if _, err := ds.Dispose(ctx, e.vet, other.ID, noSite); !domain.IsCode(err, domain.EINVALID) {
			t.Errorf("not a slaughter site: %v", err)
		}
		if _, err := ds.Dispose(ctx, e.korday, other.ID, e.slaughter()); !domain.IsCode(err, domain.ENOTFOUND) {
			t.Errorf("another district: %v", err)
		}
		if _, err := ds.Dispose(ctx, e.farmer, other.ID, e.slaughter()); !domain.IsCode(err, domain.EFORBIDDEN) {
			t.Errorf("a farmer: %v", err)
		}
		if _, err := ds.Dispose(ctx, e.vet, cow.ID, e.slaughter()); !domain.IsCode(err, domain.ECONFLICT) {
			t.Errorf("disposed twice: %v", err)
		}
		// In transit: the movement's mark on the animal.
		w := &domain.Writes{}
		other.InTransit = uuid.NewString()
		if err := id.Animals.WriteUpdate(w, other); err != nil {
			t.Fatal(err)
		}
		if _, err := domain.ApplyWrites(ctx, e.store, w); err != nil {
			t.Fatal(err)
		}
		seq = e.lastSeq()
		if _, err := ds.Dispose(ctx, e.vet, other.ID, lifecycle.NewDisposal{ID: uuid.NewString(), Kind: lifecycle.DisposalDied,
			Date: domain.NewCivilDate(2026, 3, 20), Cause: "ауырып өлді"}); !domain.IsCode(err, domain.EPRECONDITION) {
			t.Errorf("in transit: %v", err)
		}
		if e.lastSeq() != seq {
			t.Error("a refused disposal wrote")
		}
		if s, _ := id.Stock.Lookup(ctx, e.admin, "398000000000002"); s.Status() != identification.TagFitted {
			t.Errorf("the number of a refused disposal is %s", s.Status())
		}
	})

	t.Run("Correction", func(t *testing.T) {
		fix := lifecycle.DisposalFix{ID: uuid.NewString(), Reason: "сойылған жоқ, ауырып өлді: акт қате толтырылған",
			NewDisposal: lifecycle.NewDisposal{Kind: lifecycle.DisposalDied, Date: domain.NewCivilDate(2026, 3, 20), Cause: "пастереллез"}}
		if _, err := ds.Correct(ctx, e.vet, cow.ID, fix); !domain.IsCode(err, domain.EFORBIDDEN) {
			t.Errorf("a vet corrects: %v", err)
		}
		noReason := fix
		noReason.Reason = ""
		if _, err := ds.Correct(ctx, e.admin, cow.ID, noReason); !domain.IsCode(err, domain.EINVALID) {
			t.Errorf("without a reason: %v", err)
		}
		e.clock.Advance(time.Hour)
		got, err := ds.Correct(ctx, e.admin, cow.ID, fix)
		if err != nil {
			t.Fatal(err)
		}
		d := got.Disposal
		if d.Kind != lifecycle.DisposalDied || d.ID != in.ID || len(d.Corrections) != 1 ||
			d.Corrections[0].Earlier.Kind != lifecycle.DisposalSlaughtered || d.Corrections[0].Earlier.ObjectID != e.site.ID {
			t.Fatalf("corrected %+v", d)
		}
		seq := e.lastSeq()
		if _, err := ds.Correct(ctx, e.admin, cow.ID, fix); err != nil || e.lastSeq() != seq {
			t.Errorf("a retried correction: %v, wrote %v", err, e.lastSeq() != seq)
		}
		if got := e.events(cow.ID); len(got) != 3 || got[1] != lifecycle.EventDisposed || got[2] != lifecycle.EventDisposalCorrected {
			t.Errorf("history %v", got)
		}
		living := e.cow("398000000000003")
		if _, err := ds.Correct(ctx, e.admin, living.ID, lifecycle.DisposalFix{ID: uuid.NewString(), Reason: "x", NewDisposal: fix.NewDisposal}); !domain.IsCode(err, domain.EPRECONDITION) {
			t.Errorf("a living animal's disposal corrected: %v", err)
		}
	})
}

// TestDisposeCrash: a disposal cut short at any write of its unit (the animal, its number, the
// event — on MongoDB the steps before stay applied) is finished by its retry, writing each once.
func TestDisposeCrash(t *testing.T) {
	t.Parallel()
	for k := range 4 {
		t.Run(fmt.Sprint("CrashAt", k), func(t *testing.T) {
			e := newLifeEnv(t)
			ctx := t.Context()
			cow := e.cow("398000000000001")
			e.clock.Advance(time.Hour)
			h := storetest.Hook(e.store)
			ds := e.app.Lifecycle.Disposals
			ds.Store, e.app.Identification.Animals.Store, e.app.Identification.Stock.Store = h, h, h
			in := e.slaughter()
			h.Set(storetest.CrashAt(k))
			if _, err := ds.Dispose(ctx, e.vet, cow.ID, in); err == nil {
				t.Logf("finished before write %d", k)
			}
			h.Set(nil)
			a, err := ds.Dispose(ctx, e.vet, cow.ID, in)
			if err != nil {
				t.Fatal(err)
			}
			if a.Status != identification.AnimalDisposed {
				t.Errorf("status %s", a.Status)
			}
			if info, _ := e.app.Identification.Stock.Lookup(ctx, e.admin, "398000000000001"); info.Status() != identification.TagRetired {
				t.Errorf("the number is %s", info.Status())
			}
			if got := e.events(cow.ID); fmt.Sprint(got) != "[identified disposed]" {
				t.Errorf("history %v", got)
			}
		})
	}
}

// TestDisposeWithdrawsReissue: a cow that lost its tag dies before the new one is fitted. Its
// disposal withdraws the open reissue case — no tag is fitted to a dead animal, and the case
// leaves the list of cases running against the clock — and a completion is refused.
func TestDisposeWithdrawsReissue(t *testing.T) {
	t.Parallel()
	e := newLifeEnv(t)
	ctx := t.Context()
	id := e.app.Identification
	cow := e.cow("398000000000001")
	c, err := id.Reissues.ReportTagLoss(ctx, e.vet, cow.ID, identification.TagLoss{ID: uuid.NewString(), Kind: identification.TagLost})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := id.Reissues.TagsArrived(ctx, e.vet, c.ID, domain.NewCivilDate(2026, 3, 20)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	a, err := e.app.Lifecycle.Disposals.Dispose(ctx, e.vet, cow.ID, lifecycle.NewDisposal{ID: uuid.NewString(),
		Kind: lifecycle.DisposalDied, Date: domain.NewCivilDate(2026, 3, 20), Cause: "ауырып өлді"})
	if err != nil {
		t.Fatal(err)
	}
	if a.OpenReissue != "" {
		t.Errorf("the disposed animal still has an open case %s", a.OpenReissue)
	}
	got, err := id.Reissues.Get(ctx, e.vet, c.ID)
	if err != nil || got.Status != identification.ReissueWithdrawn || got.WithdrawnBy != a.Disposal.ID {
		t.Fatalf("the case: %+v %v", got, err)
	}
	open, _, err := id.Reissues.List(ctx, e.vet, identification.ReissueFilter{Status: identification.ReissueTagsArrived, Limit: 10})
	if err != nil || len(open) != 0 {
		t.Errorf("cases running: %d %v", len(open), err)
	}
	if _, err := id.Reissues.Complete(ctx, e.vet, c.ID, identification.ReissueCompletion{Number: "398000000000002"}); !domain.IsCode(err, domain.EPRECONDITION) {
		t.Errorf("a completion after the disposal: %v", err)
	}
	if info, _ := id.Stock.Lookup(ctx, e.admin, "398000000000001"); info.Status() != identification.TagLost {
		t.Errorf("the lost number is %s", info.Status())
	}
	if info, _ := id.Stock.Lookup(ctx, e.admin, "398000000000002"); info.Status() != identification.TagInStock {
		t.Errorf("the replacement number is %s", info.Status())
	}
}

// TestDisposeConcurrent: two vets record the same cow's death at once, each with its own id:
// exactly one disposal applies, the other is a conflict, and the number is retired once.
func TestDisposeConcurrent(t *testing.T) {
	t.Parallel()
	e := newLifeEnv(t)
	ctx := t.Context()
	cow := e.cow("398000000000001")
	e.clock.Advance(time.Hour)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := e.app.Lifecycle.Disposals.Dispose(ctx, e.vet, cow.ID, lifecycle.NewDisposal{ID: uuid.NewString(),
				Kind: lifecycle.DisposalDied, Date: domain.NewCivilDate(2026, 3, 20), Cause: "ауырып өлді"})
			errs <- err
		}()
	}
	ok, conflicts := 0, 0
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case domain.IsCode(err, domain.ECONFLICT):
			conflicts++
		default:
			t.Error(err)
		}
	}
	if ok != 1 || conflicts != 1 {
		t.Errorf("%d applied, %d conflicts", ok, conflicts)
	}
	if got := e.events(cow.ID); fmt.Sprint(got) != "[identified disposed]" {
		t.Errorf("history %v", got)
	}
}
