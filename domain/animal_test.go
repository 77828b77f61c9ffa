package domain_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/domain"
)

func TestIdentify(t *testing.T) {
	e := newIdentEnv(t)
	in := e.newAnimal("398000000000001")
	a, doc, err := e.id.Animals.Identify(t.Context(), e.vet, in)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("OK", func(t *testing.T) {
		if a.ID != in.ID || a.Tag != "398000000000001" || a.Territory != kzBayzak1 || a.OwnerIIN != ownerA || a.Version != 1 {
			t.Errorf("animal %+v", a)
		}
		if doc.Type != domain.DocPassport || doc.Subject.Tag != "398000000000001" || doc.Subject.ID != a.ID ||
			doc.Issuer.Unit != kzBayzak || doc.Status != domain.DocValid || a.PassportID != doc.ID {
			t.Errorf("passport %+v for animal passport %s", doc, a.PassportID)
		}
		if got, want := e.tagStatus("398000000000001"), domain.TagFitted; got != want {
			t.Errorf("tag is %s, want %s", got, want)
		}
		if got := e.events(e.vet, a.ID); !slices.Equal(got, []domain.EventKind{domain.EventIdentified}) {
			t.Errorf("events %v", got)
		}
	})

	t.Run("RetryAnswersTheSame", func(t *testing.T) {
		a2, doc2, err := e.id.Animals.Identify(t.Context(), e.vet, in)
		if err != nil {
			t.Fatal(err)
		}
		if a2.ID != a.ID || a2.Version != a.Version || doc2.ID != doc.ID || doc2.Number != doc.Number {
			t.Errorf("retry answered %s v%d / %s, want %s v%d / %s", a2.ID, a2.Version, doc2.Number, a.ID, a.Version, doc.Number)
		}
		if got := e.passports(a.ID); got != 1 {
			t.Errorf("%d papers about the animal, want 1", got)
		}
		if got := e.events(e.vet, a.ID); len(got) != 1 {
			t.Errorf("events %v", got)
		}
	})

	t.Run("ErrIDReused", func(t *testing.T) {
		other := in
		other.Colour = "қара"
		_, _, err := e.id.Animals.Identify(t.Context(), e.vet, other)
		if !domain.IsCode(err, domain.ECONFLICT) || err.(*domain.Error).Field != "body.id" {
			t.Fatalf("err = %v, want ECONFLICT on body.id", err)
		}
	})

	t.Run("FarmerSeesOwnOnly", func(t *testing.T) {
		if _, err := e.id.Animals.Get(t.Context(), e.farmerA, a.ID); err != nil {
			t.Errorf("owner: %v", err)
		}
		other := domain.Principal{UserID: "f2", Role: domain.RoleFarmer, IIN: ownerB}
		if _, err := e.id.Animals.Get(t.Context(), other, a.ID); !domain.IsCode(err, domain.ENOTFOUND) {
			t.Errorf("another farmer: %v, want ENOTFOUND", err)
		}
		if _, err := e.id.Animals.Get(t.Context(), e.vetKorday, a.ID); !domain.IsCode(err, domain.ENOTFOUND) {
			t.Errorf("vet of another district: %v, want ENOTFOUND", err)
		}
	})
}

// TestIdentifyResumesAfterCrash fails one write of an identification as if the process died
// there, then retries: the retry must finish the work with no second animal, passport or event.
func TestIdentifyResumesAfterCrash(t *testing.T) {
	t.Run("BetweenAnimalAndPassport", func(t *testing.T) {
		e := newIdentEnv(t)
		e.docs.Store = &failingStore{Store: e.store, coll: domain.DocumentsSpec.Name}
		in := e.newAnimal("398000000000002")
		if _, _, err := e.id.Animals.Identify(t.Context(), e.vet, in); !errors.Is(err, errCrash) {
			t.Fatalf("first attempt: %v, want the simulated crash", err)
		}
		a, err := e.id.Animals.Get(t.Context(), e.vet, in.ID)
		if err != nil {
			t.Fatalf("the animal was written before the crash: %v", err)
		}
		if p, err := e.id.Animals.Passport(t.Context(), a); p != nil || err != nil {
			t.Fatalf("passport before the retry: %v, %v", p, err)
		}
		a, doc, err := e.id.Animals.Identify(t.Context(), e.vet, in)
		if err != nil {
			t.Fatal(err)
		}
		if doc.ID != a.PassportID || doc.Status != domain.DocValid || a.Version != 1 {
			t.Errorf("after the retry: animal v%d passport %s, doc %s %s", a.Version, a.PassportID, doc.ID, doc.Status)
		}
		if got := e.passports(a.ID); got != 1 {
			t.Errorf("%d passports, want 1", got)
		}
		if got := e.events(e.vet, a.ID); len(got) != 1 {
			t.Errorf("events %v", got)
		}
	})

	t.Run("BetweenClaimAndAnimal", func(t *testing.T) {
		e := newIdentEnv(t)
		e.id.Animals.Store = &failingStore{Store: e.store, coll: domain.AnimalsSpec.Name}
		in := e.newAnimal("398000000000003")
		if _, _, err := e.id.Animals.Identify(t.Context(), e.vet, in); !errors.Is(err, errCrash) {
			t.Fatalf("first attempt: %v, want the simulated crash", err)
		}
		if got := e.tagStatus("398000000000003"); got != domain.TagFitted {
			t.Fatalf("the number is %s after the crash, want it claimed", got)
		}
		// Another request cannot take the claimed number, and the retry can.
		if _, _, err := e.id.Animals.Identify(t.Context(), e.vet, e.newAnimal("398000000000003")); !domain.IsCode(err, domain.ECONFLICT) {
			t.Fatalf("another animal with the claimed number: %v, want ECONFLICT", err)
		}
		a, doc, err := e.id.Animals.Identify(t.Context(), e.vet, in)
		if err != nil {
			t.Fatal(err)
		}
		if a.ID != in.ID || doc.Subject.ID != a.ID || e.passports(a.ID) != 1 {
			t.Errorf("after the retry: %+v, %+v", a, doc)
		}
	})
}

func TestIdentifyConcurrentSameTag(t *testing.T) {
	e := newIdentEnv(t)
	const vets = 8
	var wg sync.WaitGroup
	errs := make([]error, vets)
	ids := make([]string, vets)
	for i := range vets {
		by := e.vet
		if i%2 == 1 {
			by = e.vet2
		}
		in := e.newAnimal("398000000000010")
		ids[i] = in.ID
		wg.Go(func() { _, _, errs[i] = e.id.Animals.Identify(t.Context(), by, in) })
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case domain.IsCode(err, domain.ECONFLICT):
			if _, gerr := e.id.Animals.Get(t.Context(), e.vet, ids[i]); !domain.IsCode(gerr, domain.ENOTFOUND) {
				t.Errorf("the loser's animal exists: %v", gerr)
			}
		default:
			t.Errorf("vet %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d vets fitted the number, want exactly 1", won)
	}
	as, _, err := e.id.Animals.List(t.Context(), e.vet, domain.AnimalFilter{})
	if err != nil || len(as) != 1 {
		t.Fatalf("animals in the district: %d, %v", len(as), err)
	}
}

func TestIdentifyRefusedWritesNothing(t *testing.T) {
	e := newIdentEnv(t)
	e.identify("398000000000020")
	korday := e.newHolding(e.vetKorday, kzKorday, ownerB)
	for _, c := range []struct {
		name  string
		edit  func(*domain.NewAnimal)
		code  string
		field string
	}{
		{"ErrTagShort", func(in *domain.NewAnimal) { in.Identifiers[0].Number = "39800000000002" }, domain.EINVALID, "body.identifiers[0].number"},
		{"ErrTagNonDigits", func(in *domain.NewAnimal) { in.Identifiers[0].Number = "3980000000000a1" }, domain.EINVALID, "body.identifiers[0].number"},
		{"ErrTagCountry", func(in *domain.NewAnimal) { in.Identifiers[0].Number = "643000000000021" }, domain.EINVALID, "body.identifiers[0].number"},
		{"ErrTagFitted", func(in *domain.NewAnimal) { in.Identifiers[0].Number = "398000000000020" }, domain.ECONFLICT, "body.identifiers[0].number"},
		{"ErrTagNotAllocated", func(in *domain.NewAnimal) { in.Identifiers[0].Number = "398000009999999" }, domain.EPRECONDITION, "body.identifiers[0].number"},
		{"ErrTagOtherUnit", func(in *domain.NewAnimal) { in.Identifiers[0].Number = "398000000100005" }, domain.EPRECONDITION, "body.identifiers[0].number"},
		{"ErrTagWrongMeans", func(in *domain.NewAnimal) { in.Identifiers[0].Means = domain.MeansBolus }, domain.EPRECONDITION, "body.identifiers[0].number"},
		{"ErrSecondTagFitted", func(in *domain.NewAnimal) {
			in.Identifiers = append(in.Identifiers, domain.IdentifierInput{Means: domain.MeansEarTag, Number: "398000000000020"})
		}, domain.ECONFLICT, "body.identifiers[1].number"},
		{"ErrOnlyMarks", func(in *domain.NewAnimal) {
			in.Identifiers = []domain.IdentifierInput{{Means: domain.MeansBrand, Number: "AK-7"}}
		}, domain.EINVALID, "body.identifiers"},
		{"ErrBirthInFuture", func(in *domain.NewAnimal) { in.BirthDate = domain.NewCivilDate(2026, 3, 21) }, domain.EINVALID, "body.birth_date"},
		{"ErrSpecies", func(in *domain.NewAnimal) { in.Species = "yak" }, domain.EINVALID, "body.species"},
		{"ErrHoldingElsewhere", func(in *domain.NewAnimal) { in.HoldingID = korday.ID }, domain.EINVALID, "body.holding_id"},
		{"ErrHoldingUnknown", func(in *domain.NewAnimal) { in.HoldingID = uuid.NewString() }, domain.EINVALID, "body.holding_id"},
		{"ErrID", func(in *domain.NewAnimal) { in.ID = "42" }, domain.EINVALID, "body.id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.lastSeq()
			in := e.newAnimal("398000000000021")
			c.edit(&in)
			_, _, err := e.id.Animals.Identify(t.Context(), e.vet, in)
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != c.code || de.Field != c.field {
				t.Fatalf("err = %v, want %s at %s", err, c.code, c.field)
			}
			if got := e.lastSeq(); got != before {
				t.Errorf("the change log moved from %d to %d", before, got)
			}
			if got := e.tagStatus("398000000000021"); got != domain.TagInStock {
				t.Errorf("the number is %s, want in_stock", got)
			}
		})
	}
	t.Run("ErrNotAVet", func(t *testing.T) {
		_, _, err := e.id.Animals.Identify(t.Context(), e.farmerA, e.newAnimal("398000000000021"))
		if !domain.IsCode(err, domain.EFORBIDDEN) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestAnimalUpdate(t *testing.T) {
	e := newIdentEnv(t)
	a, _ := e.identify("398000000000030")
	e.clock.Set(e.clock.Now().Add(time.Hour)) // a tablet pushes its change later
	breed := "Қазақтың ақбас сиыры"
	mutation := uuid.NewString()

	t.Run("OK", func(t *testing.T) {
		got, err := e.id.Animals.Update(t.Context(), e.vet, a.ID, domain.AnimalChange{BaseVersion: 1, MutationID: mutation, Breed: &breed})
		if err != nil {
			t.Fatal(err)
		}
		if got.Breed != breed || got.Version != 2 || got.Colour != a.Colour {
			t.Errorf("updated %+v", got)
		}
	})

	t.Run("ReappliedIsRecognised", func(t *testing.T) {
		got, err := e.id.Animals.Update(t.Context(), e.vet, a.ID, domain.AnimalChange{BaseVersion: 1, MutationID: mutation, Breed: &breed})
		if err != nil || got.Version != 2 {
			t.Fatalf("re-applied: v%d, %v; want v2 and no error", got.Version, err)
		}
		if got := e.events(e.vet, a.ID); !slices.Equal(got, []domain.EventKind{domain.EventIdentified, domain.EventDescriptionChanged}) {
			t.Errorf("events %v", got)
		}
	})

	t.Run("ErrStale", func(t *testing.T) {
		colour := "ала"
		cur, err := e.id.Animals.Update(t.Context(), e.vet, a.ID, domain.AnimalChange{BaseVersion: 1, MutationID: uuid.NewString(), Colour: &colour})
		if !domain.IsCode(err, domain.ECONFLICT) {
			t.Fatalf("err = %v, want ECONFLICT", err)
		}
		if cur == nil || cur.Version != 2 || cur.Breed != breed || cur.Colour == colour {
			t.Errorf("the current record with the conflict: %+v", cur)
		}
	})

	t.Run("ErrBirthInFuture", func(t *testing.T) {
		d := domain.NewCivilDate(2027, 1, 1)
		_, err := e.id.Animals.Update(t.Context(), e.vet, a.ID, domain.AnimalChange{BaseVersion: 2, BirthDate: &d})
		if !domain.IsCode(err, domain.EINVALID) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("ErrOtherDistrict", func(t *testing.T) {
		_, err := e.id.Animals.Update(t.Context(), e.vetKorday, a.ID, domain.AnimalChange{BaseVersion: 2, Breed: &breed})
		if !domain.IsCode(err, domain.ENOTFOUND) {
			t.Fatalf("err = %v", err)
		}
	})
}
