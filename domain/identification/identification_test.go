package identification_test

import (
	"testing"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/identification"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite"
	"github.com/vetfield/vetfield/domain/sqlite/sqlitetest"
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
	T     *testing.T
	Store *sqlite.Store
	Clock *storetest.Clock
	Docs  *documents.Documents
	Cal   *domain.Calendar
	Id    *identification.Service

	Admin, Vet, Vet2, VetKorday, FarmerA domain.Principal
	Holding                              *identification.Holding // Bayzak, owner A
}

// almaty is a local time in Asia/Almaty.
var almaty = storetest.Almaty

func newIdentEnv(t *testing.T) *identEnv {
	t.Helper()
	store := sqlitetest.Open(t)
	key, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	e := &identEnv{T: t, Store: store, Clock: storetest.NewClock(almaty("2026-03-20", 10, 0))}
	app, err := vetfield.Open(t.Context(), vetfield.Config{Store: store, Now: e.Clock.Now, Keys: keyring.New(key)})
	if err != nil {
		t.Fatal(err)
	}
	e.Docs, e.Cal, e.Id = app.Documents, app.Calendar, app.Identification
	e.Admin = domain.Principal{UserID: "admin", Username: "admin", Role: domain.RoleAdmin}
	e.Vet = domain.Principal{UserID: "vet-1", Username: "aigul", Role: domain.RoleVet, Territory: kzBayzak}
	e.Vet2 = domain.Principal{UserID: "vet-2", Username: "marat", Role: domain.RoleVet, Territory: kzBayzak1}
	e.VetKorday = domain.Principal{UserID: "vet-3", Username: "erlan", Role: domain.RoleVet, Territory: kzKorday}
	e.FarmerA = domain.Principal{UserID: "farmer-a", Username: "farmer.a", Role: domain.RoleFarmer, IIN: ownerA}
	e.Holding = e.NewHolding(e.Vet, kzBayzak1, ownerA)
	e.Allocate(kzBayzak, "398000000000001", 1000)
	e.Allocate(kzKorday, "398000000100001", 1000)
	return e
}

func (e *identEnv) NewHolding(by domain.Principal, territory domain.Kato, owner string) *identification.Holding {
	e.T.Helper()
	h, err := e.Id.Holdings.Create(e.T.Context(), by, identification.NewHolding{Kind: identification.HoldingYard, Name: "Ақжол",
		OwnerIIN: owner, OwnerName: "Серік Ахметов", Address: "Сарыкемер, Абай к-сі 12", Territory: string(territory)})
	if err != nil {
		e.T.Fatal(err)
	}
	return h
}

func (e *identEnv) Allocate(unit domain.Kato, first string, count int64) *identification.TagRange {
	e.T.Helper()
	r, err := e.Id.Stock.Allocate(e.T.Context(), e.Admin, identification.NewTagRange{Unit: string(unit), First: first, Count: count})
	if err != nil {
		e.T.Fatal(err)
	}
	return r
}

// newAnimal is a valid identification of a cow on e.holding with one ear tag.
func (e *identEnv) NewAnimal(tag string) identification.NewAnimal {
	return identification.NewAnimal{ID: domain.NewID(), HoldingID: e.Holding.ID, Species: domain.Cattle, Sex: identification.SexFemale,
		BirthDate: domain.NewCivilDate(2025, 4, 2), Breed: "Әулиеата", Colour: "қызыл",
		Identifiers: []domain.IdentifierInput{{Means: domain.MeansEarTag, Number: tag}}}
}

func (e *identEnv) Identify(tag string) (*identification.Animal, *documents.Document) {
	e.T.Helper()
	a, doc, err := e.Id.Animals.Identify(e.T.Context(), e.Vet, e.NewAnimal(tag))
	if err != nil {
		e.T.Fatal(err)
	}
	return a, doc
}

// lastSeq is the newest entry of the change log: a refused request must not move it.
func (e *identEnv) LastSeq() int64 { return storetest.LastSeq(e.T, e.Store) }

// tagStatus is what the stock says of a number.
func (e *identEnv) TagStatus(number string) identification.TagStatus {
	e.T.Helper()
	info, err := e.Id.Stock.Lookup(e.T.Context(), e.Admin, number)
	if err != nil {
		e.T.Fatal(err)
	}
	return info.Status()
}

// passports counts the documents about a subject.
func (e *identEnv) Passports(subject string) int {
	e.T.Helper()
	docs, _, err := e.Docs.List(e.T.Context(), e.Admin, documents.DocumentFilter{SubjectID: subject, Limit: 100})
	if err != nil {
		e.T.Fatal(err)
	}
	return len(docs)
}

func (e *identEnv) Events(by domain.Principal, animalID string) []identification.EventKind {
	e.T.Helper()
	evs, _, err := e.Id.Animals.Events(e.T.Context(), by, animalID, "", 100)
	if err != nil {
		e.T.Fatal(err)
	}
	var kinds []identification.EventKind
	for _, ev := range evs {
		kinds = append(kinds, ev.Kind)
	}
	return kinds
}

// errCrash is what the crash-injecting store (storetest.HookStore) fails a write with.
var errCrash = storetest.ErrCrash
