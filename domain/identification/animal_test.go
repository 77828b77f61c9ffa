package identification_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/identification"
)

func TestIdentify(t *testing.T) {
	t.Parallel()
	e := newIdentEnv(t)
	in := e.NewAnimal("398000000000001")
	a, doc, err := e.Id.Animals.Identify(t.Context(), e.Vet, in)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("OK", func(t *testing.T) {
		if a.ID != in.ID || a.Tag != "398000000000001" || a.Territory != kzBayzak1 || a.OwnerIIN != ownerA || a.Version != 1 {
			t.Errorf("animal %+v", a)
		}
		if doc.Type != documents.DocPassport || doc.Subject.Tag != "398000000000001" || doc.Subject.ID != a.ID ||
			doc.Issuer.Unit != kzBayzak || doc.Status != documents.DocValid || a.PassportID != doc.ID {
			t.Errorf("passport %+v for animal passport %s", doc, a.PassportID)
		}
		if got, want := e.TagStatus("398000000000001"), identification.TagFitted; got != want {
			t.Errorf("tag is %s, want %s", got, want)
		}
		if got := e.Events(e.Vet, a.ID); !slices.Equal(got, []identification.EventKind{identification.EventIdentified}) {
			t.Errorf("events %v", got)
		}
	})

	t.Run("RetryAnswersTheSame", func(t *testing.T) {
		a2, doc2, err := e.Id.Animals.Identify(t.Context(), e.Vet, in)
		if err != nil {
			t.Fatal(err)
		}
		if a2.ID != a.ID || a2.Version != a.Version || doc2.ID != doc.ID || doc2.Number != doc.Number {
			t.Errorf("retry answered %s v%d / %s, want %s v%d / %s", a2.ID, a2.Version, doc2.Number, a.ID, a.Version, doc.Number)
		}
		if got := e.Passports(a.ID); got != 1 {
			t.Errorf("%d papers about the animal, want 1", got)
		}
		if got := e.Events(e.Vet, a.ID); len(got) != 1 {
			t.Errorf("events %v", got)
		}
	})

	t.Run("ErrIDReused", func(t *testing.T) {
		other := in
		other.Colour = "қара"
		_, _, err := e.Id.Animals.Identify(t.Context(), e.Vet, other)
		if !domain.IsCode(err, domain.ECONFLICT) || err.(*domain.Error).Field != "id" {
			t.Fatalf("err = %v, want ECONFLICT on body.id", err)
		}
	})

	t.Run("ErrIDReusedWithAnotherNumber", func(t *testing.T) {
		other := e.NewAnimal("398000000000009")
		other.ID = in.ID
		_, _, err := e.Id.Animals.Identify(t.Context(), e.Vet, other)
		if !domain.IsCode(err, domain.ECONFLICT) || err.(*domain.Error).Field != "id" {
			t.Fatalf("err = %v, want ECONFLICT on body.id", err)
		}
		if got := e.TagStatus("398000000000009"); got != identification.TagInStock {
			t.Errorf("the refused request's number is %s, want in stock", got)
		}
	})

	t.Run("FarmerSeesOwnOnly", func(t *testing.T) {
		if _, err := e.Id.Animals.Get(t.Context(), e.FarmerA, a.ID); err != nil {
			t.Errorf("owner: %v", err)
		}
		other := domain.Principal{UserID: "f2", Role: domain.RoleFarmer, IIN: ownerB}
		if _, err := e.Id.Animals.Get(t.Context(), other, a.ID); !domain.IsCode(err, domain.ENOTFOUND) {
			t.Errorf("another farmer: %v, want ENOTFOUND", err)
		}
		if _, err := e.Id.Animals.Get(t.Context(), e.VetKorday, a.ID); !domain.IsCode(err, domain.ENOTFOUND) {
			t.Errorf("vet of another district: %v, want ENOTFOUND", err)
		}
	})
}

// TestIdentifyResumesAfterCrash fails one write of an identification as if the process died
// there, then retries: the retry must finish the work with no second animal, passport or event.
func TestIdentifyResumesAfterCrash(t *testing.T) {
	t.Parallel()
	t.Run("BetweenAnimalAndPassport", func(t *testing.T) {
		e := newIdentEnv(t)
		e.Hooked().Crash("insert", documents.DocumentsSpec.Name)
		in := e.NewAnimal("398000000000002")
		if _, _, err := e.Id.Animals.Identify(t.Context(), e.Vet, in); !errors.Is(err, errCrash) {
			t.Fatalf("first attempt: %v, want the simulated crash", err)
		}
		a, err := e.Id.Animals.Get(t.Context(), e.Vet, in.ID)
		if err != nil {
			t.Fatalf("the animal was written before the crash: %v", err)
		}
		if p, err := e.Id.Animals.Passport(t.Context(), a); p != nil || err != nil {
			t.Fatalf("passport before the retry: %v, %v", p, err)
		}
		a, doc, err := e.Id.Animals.Identify(t.Context(), e.Vet, in)
		if err != nil {
			t.Fatal(err)
		}
		if doc.ID != a.PassportID || doc.Status != documents.DocValid || a.Version != 1 {
			t.Errorf("after the retry: animal v%d passport %s, doc %s %s", a.Version, a.PassportID, doc.ID, doc.Status)
		}
		if got := e.Passports(a.ID); got != 1 {
			t.Errorf("%d passports, want 1", got)
		}
		if got := e.Events(e.Vet, a.ID); len(got) != 1 {
			t.Errorf("events %v", got)
		}
	})

	// An identification begun by a release that derived the passport's and the event's ids
	// without the animal's leading bits is finished under those ids, and once: the animal names
	// the older passport id, as that release stored it.
	t.Run("BegunUnderTheOlderIDs", func(t *testing.T) {
		e := newIdentEnv(t)
		e.Hooked().Crash("insert", documents.DocumentsSpec.Name)
		in := e.NewAnimal("398000000000004")
		if _, _, err := e.Id.Animals.Identify(t.Context(), e.Vet, in); !errors.Is(err, errCrash) {
			t.Fatalf("first attempt: %v, want the simulated crash", err)
		}
		a, err := e.Id.Animals.Load(t.Context(), in.ID)
		if err != nil {
			t.Fatal(err)
		}
		before := domain.DerivedID("passport", a.ID)
		if a.PassportID == before {
			t.Fatalf("the animal's id %s gives the same passport id both ways", a.ID)
		}
		a.PassportID = before
		if err := domain.UpdateEntity(t.Context(), e.Store, identification.AnimalsSpec.Name, a, a.Scope()); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second retry finds everything done
			a, doc, err := e.Id.Animals.Identify(t.Context(), e.Vet, in)
			if err != nil {
				t.Fatal(err)
			}
			if doc.ID != before || a.PassportID != before || e.Passports(a.ID) != 1 {
				t.Errorf("after the retry: passport %s (animal names %s), %d passports; want %s once", doc.ID, a.PassportID, e.Passports(a.ID), before)
			}
			events, _, err := e.Id.Animals.Events(t.Context(), e.Vet, a.ID, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			if want := domain.DerivedID("event", a.ID, "identified"); len(events) != 1 || events[0].ID != want {
				t.Errorf("events %+v, want one, %s", events, want)
			}
		}
	})

	t.Run("BetweenClaimAndAnimal", func(t *testing.T) {
		e := newIdentEnv(t)
		e.Hooked().Crash("insert", identification.AnimalsSpec.Name)
		in := e.NewAnimal("398000000000003")
		if _, _, err := e.Id.Animals.Identify(t.Context(), e.Vet, in); !errors.Is(err, errCrash) {
			t.Fatalf("first attempt: %v, want the simulated crash", err)
		}
		if got := e.TagStatus("398000000000003"); got != identification.TagFitted {
			t.Fatalf("the number is %s after the crash, want it claimed", got)
		}
		// Another request cannot take the claimed number, and the retry can.
		if _, _, err := e.Id.Animals.Identify(t.Context(), e.Vet, e.NewAnimal("398000000000003")); !domain.IsCode(err, domain.ECONFLICT) {
			t.Fatalf("another animal with the claimed number: %v, want ECONFLICT", err)
		}
		a, doc, err := e.Id.Animals.Identify(t.Context(), e.Vet, in)
		if err != nil {
			t.Fatal(err)
		}
		if a.ID != in.ID || doc.Subject.ID != a.ID || e.Passports(a.ID) != 1 {
			t.Errorf("after the retry: %+v, %+v", a, doc)
		}
	})
}

func TestIdentifyConcurrentSameTag(t *testing.T) {
	t.Parallel()
	e := newIdentEnv(t)
	const vets = 8
	var wg sync.WaitGroup
	errs := make([]error, vets)
	ids := make([]string, vets)
	for i := range vets {
		by := e.Vet
		if i%2 == 1 {
			by = e.Vet2
		}
		in := e.NewAnimal("398000000000010")
		ids[i] = in.ID
		wg.Go(func() { _, _, errs[i] = e.Id.Animals.Identify(t.Context(), by, in) })
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case domain.IsCode(err, domain.ECONFLICT):
			if _, gerr := e.Id.Animals.Get(t.Context(), e.Vet, ids[i]); !domain.IsCode(gerr, domain.ENOTFOUND) {
				t.Errorf("the loser's animal exists: %v", gerr)
			}
		default:
			t.Errorf("vet %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d vets fitted the number, want exactly 1", won)
	}
	as, _, err := e.Id.Animals.List(t.Context(), e.Vet, identification.AnimalFilter{})
	if err != nil || len(as) != 1 {
		t.Fatalf("animals in the district: %d, %v", len(as), err)
	}
}

func TestIdentifyRefusedWritesNothing(t *testing.T) {
	t.Parallel()
	e := newIdentEnv(t)
	e.Identify("398000000000020")
	korday := e.NewHolding(e.VetKorday, kzKorday, ownerB)
	for _, c := range []struct {
		Name  string
		Edit  func(*identification.NewAnimal)
		Code  string
		Field string
	}{
		{"ErrTagShort", func(in *identification.NewAnimal) { in.Identifiers[0].Number = "39800000000002" }, domain.EINVALID, "identifiers[0].number"},
		{"ErrTagNonDigits", func(in *identification.NewAnimal) { in.Identifiers[0].Number = "3980000000000a1" }, domain.EINVALID, "identifiers[0].number"},
		{"ErrTagCountry", func(in *identification.NewAnimal) { in.Identifiers[0].Number = "643000000000021" }, domain.EINVALID, "identifiers[0].number"},
		{"ErrTagFitted", func(in *identification.NewAnimal) { in.Identifiers[0].Number = "398000000000020" }, domain.ECONFLICT, "identifiers[0].number"},
		{"ErrTagNotAllocated", func(in *identification.NewAnimal) { in.Identifiers[0].Number = "398000009999999" }, domain.EPRECONDITION, "identifiers[0].number"},
		{"ErrTagOtherUnit", func(in *identification.NewAnimal) { in.Identifiers[0].Number = "398000000100005" }, domain.EPRECONDITION, "identifiers[0].number"},
		{"ErrTagWrongMeans", func(in *identification.NewAnimal) { in.Identifiers[0].Means = domain.MeansBolus }, domain.EPRECONDITION, "identifiers[0].number"},
		{"ErrSecondTagFitted", func(in *identification.NewAnimal) {
			in.Identifiers = append(in.Identifiers, domain.IdentifierInput{Means: domain.MeansEarTag, Number: "398000000000020"})
		}, domain.ECONFLICT, "identifiers[1].number"},
		{"ErrOnlyMarks", func(in *identification.NewAnimal) {
			in.Identifiers = []domain.IdentifierInput{{Means: domain.MeansBrand, Number: "AK-7"}}
		}, domain.EINVALID, "identifiers"},
		{"ErrBirthInFuture", func(in *identification.NewAnimal) { in.BirthDate = domain.NewCivilDate(2026, 3, 21) }, domain.EINVALID, "birth_date"},
		{"ErrSpecies", func(in *identification.NewAnimal) { in.Species = "yak" }, domain.EINVALID, "species"},
		{"ErrHoldingElsewhere", func(in *identification.NewAnimal) { in.HoldingID = korday.ID }, domain.EINVALID, "holding_id"},
		{"ErrHoldingUnknown", func(in *identification.NewAnimal) { in.HoldingID = uuid.NewString() }, domain.EINVALID, "holding_id"},
		{"ErrID", func(in *identification.NewAnimal) { in.ID = "42" }, domain.EINVALID, "id"},
	} {
		t.Run(c.Name, func(t *testing.T) {
			before := e.LastSeq()
			in := e.NewAnimal("398000000000021")
			c.Edit(&in)
			_, _, err := e.Id.Animals.Identify(t.Context(), e.Vet, in)
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != c.Code || de.Field != c.Field {
				t.Fatalf("err = %v, want %s at %s", err, c.Code, c.Field)
			}
			if got := e.LastSeq(); got != before {
				t.Errorf("the change log moved from %d to %d", before, got)
			}
			if got := e.TagStatus("398000000000021"); got != identification.TagInStock {
				t.Errorf("the number is %s, want in_stock", got)
			}
		})
	}
	t.Run("ErrNotAVet", func(t *testing.T) {
		_, _, err := e.Id.Animals.Identify(t.Context(), e.FarmerA, e.NewAnimal("398000000000021"))
		if !domain.IsCode(err, domain.EFORBIDDEN) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestAnimalUpdate(t *testing.T) {
	t.Parallel()
	e := newIdentEnv(t)
	a, _ := e.Identify("398000000000030")
	e.Clock.Set(e.Clock.Now().Add(time.Hour)) // a tablet pushes its change later
	breed := "Қазақтың ақбас сиыры"
	mutation := uuid.NewString()

	t.Run("OK", func(t *testing.T) {
		got, err := e.Id.Animals.Update(t.Context(), e.Vet, a.ID, identification.AnimalChange{BaseVersion: 1, MutationID: mutation, Breed: &breed})
		if err != nil {
			t.Fatal(err)
		}
		if got.Breed != breed || got.Version != 2 || got.Colour != a.Colour {
			t.Errorf("updated %+v", got)
		}
	})

	t.Run("ReappliedIsRecognised", func(t *testing.T) {
		got, err := e.Id.Animals.Update(t.Context(), e.Vet, a.ID, identification.AnimalChange{BaseVersion: 1, MutationID: mutation, Breed: &breed})
		if err != nil || got.Version != 2 {
			t.Fatalf("re-applied: v%d, %v; want v2 and no error", got.Version, err)
		}
		if got := e.Events(e.Vet, a.ID); !slices.Equal(got, []identification.EventKind{identification.EventIdentified, identification.EventDescriptionChanged}) {
			t.Errorf("events %v", got)
		}
	})

	t.Run("ErrStale", func(t *testing.T) {
		colour := "ала"
		cur, err := e.Id.Animals.Update(t.Context(), e.Vet, a.ID, identification.AnimalChange{BaseVersion: 1, MutationID: uuid.NewString(), Colour: &colour})
		if !domain.IsCode(err, domain.ECONFLICT) {
			t.Fatalf("err = %v, want ECONFLICT", err)
		}
		if cur == nil || cur.Version != 2 || cur.Breed != breed || cur.Colour == colour {
			t.Errorf("the current record with the conflict: %+v", cur)
		}
	})

	t.Run("ErrBirthInFuture", func(t *testing.T) {
		d := domain.NewCivilDate(2027, 1, 1)
		_, err := e.Id.Animals.Update(t.Context(), e.Vet, a.ID, identification.AnimalChange{BaseVersion: 2, BirthDate: &d})
		if !domain.IsCode(err, domain.EINVALID) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("ErrOtherDistrict", func(t *testing.T) {
		_, err := e.Id.Animals.Update(t.Context(), e.VetKorday, a.ID, identification.AnimalChange{BaseVersion: 2, Breed: &breed})
		if !domain.IsCode(err, domain.ENOTFOUND) {
			t.Fatalf("err = %v", err)
		}
	})
}
