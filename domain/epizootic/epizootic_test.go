package epizootic_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/sqlite"
)

func TestDiseaseRules(t *testing.T) {
	t.Parallel()
	bird, asf := epizootic.Diseases["avian_influenza"], epizootic.Diseases["asf"]
	for _, s := range domain.AllSpecies {
		if bird.Affects(s) {
			t.Errorf("avian influenza affects %s", s)
		}
	}
	for _, c := range []struct {
		D       epizootic.Disease
		Kind    epizootic.ProductKind
		Species domain.Species
		Want    bool
	}{
		{bird, epizootic.ProductEggs, "", true},
		{bird, epizootic.ProductPoultry, "", true},
		{bird, epizootic.ProductMeat, domain.Cattle, false},
		{asf, epizootic.ProductMeat, domain.Pig, true},
		{asf, epizootic.ProductMeat, domain.Cattle, false},
		{epizootic.Diseases["fmd"], epizootic.ProductMilk, domain.Cattle, true},
		{epizootic.Diseases["fmd"], epizootic.ProductMilk, domain.Horse, false},
	} {
		if got := c.D.Restricts(c.Kind, c.Species); got != c.Want {
			t.Errorf("%s restricts %s of %s = %v, want %v", c.D.Code, c.Kind, c.Species, got, c.Want)
		}
	}
	if len(epizootic.DiseaseCodes) != len(epizootic.Diseases) {
		t.Errorf("%d codes listed for %d diseases", len(epizootic.DiseaseCodes), len(epizootic.Diseases))
	}
}

func TestRestrictionInForce(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC)
	end := start.Add(48 * time.Hour)
	r := &epizootic.Restriction{RestrictionTerms: epizootic.RestrictionTerms{Start: start, End: &end}}
	for at, want := range map[time.Time]bool{start.Add(-time.Second): false, start: true, end.Add(-time.Second): true, end: false} {
		if got := r.InForce(at); got != want {
			t.Errorf("in force at %s = %v, want %v", at, got, want)
		}
	}
}

func TestTerritorySeed(t *testing.T) {
	t.Parallel()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Declare(t.Context(), epizootic.TerritoriesSpec); err != nil {
		t.Fatal(err)
	}
	ts := &epizootic.Territories{Store: store, Now: time.Now}
	if err := ts.Seed(t.Context()); err != nil {
		t.Fatal(err)
	}
	admin := domain.Principal{Role: domain.RoleAdmin, Username: "admin"}
	name := "Байзак ауданы"
	if _, err := ts.Rename(t.Context(), admin, "313200000", epizootic.TerritoryChange{NameKK: &name}); err != nil {
		t.Fatal(err)
	}
	if err := ts.Seed(t.Context()); err != nil {
		t.Fatalf("seeding again: %v", err)
	}
	got, err := ts.Get(t.Context(), "313200000")
	if err != nil {
		t.Fatal(err)
	}
	if got.NameKK != name || got.Version != 2 {
		t.Errorf("a second seed overwrote the rename: %+v", got)
	}
	districts, _, err := ts.Children(t.Context(), "310000000", "", 100)
	if err != nil || len(districts) != 11 {
		t.Fatalf("%d units under the oblast (%v)", len(districts), err)
	}
	if kk, ru, _ := ts.Names(t.Context(), "313233100"); kk != name || ru != "Байзакский район" {
		t.Errorf("a settlement is named after its district: %s / %s", kk, ru)
	}
}
