package identification_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/identification"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/mongo"
	"github.com/vetfield/vetfield/domain/mongo/mongotest"
)

// TestIdentifyGroupMongo: a group on the mongo adapter, whose units of work are ordered steps
// rather than transactions: 19 applied and 1 rejected, and the retry answers the same.
func TestIdentifyGroupMongo(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts FerretDB")
	}
	uri := mongotest.Start(t)
	ctx := t.Context()
	store, err := mongo.Open(ctx, uri, fmt.Sprintf("group_%d", time.Now().UnixNano()))
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
	h, err := id.Holdings.Create(ctx, vet, identification.NewHolding{Kind: identification.HoldingFarm, Name: "Береке",
		OwnerIIN: ownerA, OwnerName: "Серік Ахметов", Address: "Сарыкемер", Territory: string(kzBayzak)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := id.Stock.Allocate(ctx, admin, identification.NewTagRange{Unit: string(kzBayzak), First: "398000000000001", Count: 19}); err != nil {
		t.Fatal(err)
	}
	g := identification.NewGroup{ID: uuid.NewString(), HoldingID: h.ID, First: "398000000000001"}
	for range 20 {
		g.Animals = append(g.Animals, identification.NewAnimal{ID: uuid.NewString(), Species: domain.Sheep,
			Sex: identification.SexFemale, BirthDate: domain.NewCivilDate(2025, 3, 1), Breed: "Еділбай", Colour: "қара"})
	}
	grp, res, err := id.Animals.IdentifyGroup(ctx, vet, g)
	if err != nil {
		t.Fatal(err)
	}
	if grp.Applied != 19 || grp.Rejected != 1 || res[19].Problem == nil || res[19].Problem.Code != domain.EPRECONDITION {
		t.Fatalf("group: %d applied, %d rejected, last %+v", grp.Applied, grp.Rejected, res[19])
	}
	again, res2, err := id.Animals.IdentifyGroup(ctx, vet, g)
	if err != nil || again.Version != grp.Version || res2[3].Passport.Number != res[3].Passport.Number {
		t.Fatalf("retry: %v", err)
	}
}
