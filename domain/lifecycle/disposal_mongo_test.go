package lifecycle_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/identification"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/lifecycle"
	"github.com/vetfield/vetfield/domain/mongo"
	"github.com/vetfield/vetfield/domain/mongo/mongotest"
)

// TestDisposeMongo: a disposal on the mongo adapter retires the number and records the event;
// its retry writes nothing new.
func TestDisposeMongo(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts FerretDB")
	}
	uri := mongotest.Start(t)
	ctx := t.Context()
	store, err := mongo.Open(ctx, uri, fmt.Sprintf("dispose_%d", time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	key, _ := keyring.Generate()
	app, err := vetfield.Open(ctx, vetfield.Config{Store: store, Keys: keyring.New(key)})
	if err != nil {
		t.Fatal(err)
	}
	id := app.Identification
	admin := domain.Principal{UserID: "admin", Role: domain.RoleAdmin}
	vet := domain.Principal{UserID: "vet-1", Username: "aigul", Role: domain.RoleVet, Territory: kzBayzak}
	h, err := id.Holdings.Create(ctx, vet, identification.NewHolding{Kind: identification.HoldingYard, Name: "Ақжол",
		OwnerIIN: ownerA, OwnerName: "Серік Ахметов", Address: "Сарыкемер", Territory: string(kzBayzak)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := id.Stock.Allocate(ctx, admin, identification.NewTagRange{Unit: string(kzBayzak), First: "398000000000001", Count: 10}); err != nil {
		t.Fatal(err)
	}
	a, _, err := id.Animals.Identify(ctx, vet, identification.NewAnimal{ID: uuid.NewString(), HoldingID: h.ID, Species: domain.Cattle,
		Sex: identification.SexFemale, BirthDate: domain.NewCivilDate(2025, 4, 2), Breed: "Әулиеата", Colour: "қызыл",
		Identifiers: []domain.IdentifierInput{{Means: domain.MeansEarTag, Number: "398000000000001"}}})
	if err != nil {
		t.Fatal(err)
	}
	in := lifecycle.NewDisposal{ID: uuid.NewString(), Kind: lifecycle.DisposalDied, Date: domain.CivilDateOf(time.Now()), Cause: "ауырып өлді"}
	got, err := app.Lifecycle.Disposals.Dispose(ctx, vet, a.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := app.Lifecycle.Disposals.Dispose(ctx, vet, a.ID, in)
	if err != nil || again.Version != got.Version {
		t.Fatalf("retry: %v", err)
	}
	if info, _ := id.Stock.Lookup(ctx, admin, "398000000000001"); info.Status() != identification.TagRetired {
		t.Errorf("the number is %s", info.Status())
	}
	evs, _, err := id.Animals.Events(ctx, admin, a.ID, "", 10)
	if err != nil || len(evs) != 2 || evs[1].Kind != lifecycle.EventDisposed {
		t.Errorf("history: %v %d", err, len(evs))
	}
}
