package domain_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite"
	"github.com/vetfield/vetfield/domain/storetest"
)

// Territories and owners of the identification tests: two districts of Zhambyl oblast.
const (
	kzBayzak  = domain.Kato("313200000")
	kzBayzak1 = domain.Kato("313230000") // a rural district inside Bayzak
	kzKorday  = domain.Kato("314800000")
	ownerA    = "880101300123"
	ownerB    = "900515400123"
)

// identEnv is the identification services over a fresh SQLite file, with a clock the test moves.
type identEnv struct {
	t     *testing.T
	store *sqlite.Store
	clock *storetest.Clock
	docs  *domain.Documents
	cal   *domain.Calendar
	id    *domain.Identification

	admin, vet, vet2, vetKorday, farmerA domain.Principal
	holding                              *domain.Holding // Bayzak, owner A
}

// almaty is a local time in Asia/Almaty.
func almaty(date string, hour, minute int) time.Time {
	d, err := domain.ParseCivilDate(date)
	if err != nil {
		panic(err)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), hour, minute, 0, 0, domain.Almaty)
}

func newIdentEnv(t *testing.T) *identEnv {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "ident.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	specs := append([]domain.CollectionSpec{domain.UsersSpec, domain.DocumentsSpec, domain.CalendarSpec}, domain.IdentificationSpecs...)
	if err := store.Declare(t.Context(), specs...); err != nil {
		t.Fatal(err)
	}
	key, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	e := &identEnv{t: t, store: store, clock: storetest.NewClock(almaty("2026-03-20", 10, 0))}
	e.docs = &domain.Documents{Store: store, Now: e.clock.Now, Keys: keyring.New(key)}
	e.cal = domain.NewCalendar(store, e.clock.Now)
	e.id = domain.NewIdentification(store, e.docs, e.cal, e.clock.Now)
	e.admin = domain.Principal{UserID: "admin", Username: "admin", Role: domain.RoleAdmin}
	e.vet = domain.Principal{UserID: "vet-1", Username: "aigul", Role: domain.RoleVet, Territory: kzBayzak}
	e.vet2 = domain.Principal{UserID: "vet-2", Username: "marat", Role: domain.RoleVet, Territory: kzBayzak1}
	e.vetKorday = domain.Principal{UserID: "vet-3", Username: "erlan", Role: domain.RoleVet, Territory: kzKorday}
	e.farmerA = domain.Principal{UserID: "farmer-a", Username: "farmer.a", Role: domain.RoleFarmer, IIN: ownerA}
	e.holding = e.newHolding(e.vet, kzBayzak1, ownerA)
	e.allocate(kzBayzak, "398000000000001", 1000)
	e.allocate(kzKorday, "398000000100001", 1000)
	return e
}

func (e *identEnv) newHolding(by domain.Principal, territory domain.Kato, owner string) *domain.Holding {
	e.t.Helper()
	h, err := e.id.Holdings.Create(e.t.Context(), by, domain.NewHolding{Kind: domain.HoldingYard, Name: "Ақжол",
		OwnerIIN: owner, OwnerName: "Серік Ахметов", Address: "Сарыкемер, Абай к-сі 12", Territory: string(territory)})
	if err != nil {
		e.t.Fatal(err)
	}
	return h
}

func (e *identEnv) allocate(unit domain.Kato, first string, count int64) *domain.TagRange {
	e.t.Helper()
	r, err := e.id.Stock.Allocate(e.t.Context(), e.admin, domain.NewTagRange{Unit: string(unit), First: first, Count: count})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// newAnimal is a valid identification of a cow on e.holding with one ear tag.
func (e *identEnv) newAnimal(tag string) domain.NewAnimal {
	return domain.NewAnimal{ID: uuid.NewString(), HoldingID: e.holding.ID, Species: domain.Cattle, Sex: domain.SexFemale,
		BirthDate: domain.NewCivilDate(2025, 4, 2), Breed: "Әулиеата", Colour: "қызыл",
		Identifiers: []domain.IdentifierInput{{Means: domain.MeansEarTag, Number: tag}}}
}

func (e *identEnv) identify(tag string) (*domain.Animal, *domain.Document) {
	e.t.Helper()
	a, doc, err := e.id.Animals.Identify(e.t.Context(), e.vet, e.newAnimal(tag))
	if err != nil {
		e.t.Fatal(err)
	}
	return a, doc
}

// lastSeq is the newest entry of the change log: a refused request must not move it.
func (e *identEnv) lastSeq() int64 {
	e.t.Helper()
	var seq int64
	for {
		cs, err := e.store.Changes(e.t.Context(), seq, 1000)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(cs) == 0 {
			return seq
		}
		seq = cs[len(cs)-1].Seq
	}
}

// tagStatus is what the stock says of a number.
func (e *identEnv) tagStatus(number string) domain.TagStatus {
	e.t.Helper()
	info, err := e.id.Stock.Lookup(e.t.Context(), e.admin, number)
	if err != nil {
		e.t.Fatal(err)
	}
	return info.Status()
}

// passports counts the documents about a subject.
func (e *identEnv) passports(subject string) int {
	e.t.Helper()
	docs, _, err := e.docs.List(e.t.Context(), domain.DocumentFilter{SubjectID: subject, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(docs)
}

func (e *identEnv) events(by domain.Principal, animalID string) []domain.EventKind {
	e.t.Helper()
	evs, _, err := e.id.Animals.Events(e.t.Context(), by, animalID, "", 100)
	if err != nil {
		e.t.Fatal(err)
	}
	var kinds []domain.EventKind
	for _, ev := range evs {
		kinds = append(kinds, ev.Kind)
	}
	return kinds
}

// failingStore is the real store with one injected failure: the first insert into coll fails
// before it reaches the database, as if the process died right there.
type failingStore struct {
	domain.Store
	coll   string
	failed atomic.Bool
}

var errCrash = errors.New("simulated crash")

func (f *failingStore) Insert(ctx context.Context, coll string, rec domain.Record) (domain.Record, error) {
	if coll == f.coll && f.failed.CompareAndSwap(false, true) {
		return domain.Record{}, errCrash
	}
	return f.Store.Insert(ctx, coll, rec)
}
