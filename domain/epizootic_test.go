package domain_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/sqlite"
)

func TestDiseaseRules(t *testing.T) {
	bird, asf := domain.Diseases["avian_influenza"], domain.Diseases["asf"]
	for _, s := range domain.AllSpecies {
		if bird.Affects(s) {
			t.Errorf("avian influenza affects %s", s)
		}
	}
	for _, c := range []struct {
		d       domain.Disease
		kind    domain.ProductKind
		species domain.Species
		want    bool
	}{
		{bird, domain.ProductEggs, "", true},
		{bird, domain.ProductPoultry, "", true},
		{bird, domain.ProductMeat, domain.Cattle, false},
		{asf, domain.ProductMeat, domain.Pig, true},
		{asf, domain.ProductMeat, domain.Cattle, false},
		{domain.Diseases["fmd"], domain.ProductMilk, domain.Cattle, true},
		{domain.Diseases["fmd"], domain.ProductMilk, domain.Horse, false},
	} {
		if got := c.d.Restricts(c.kind, c.species); got != c.want {
			t.Errorf("%s restricts %s of %s = %v, want %v", c.d.Code, c.kind, c.species, got, c.want)
		}
	}
	if len(domain.DiseaseCodes) != len(domain.Diseases) {
		t.Errorf("%d codes listed for %d diseases", len(domain.DiseaseCodes), len(domain.Diseases))
	}
}

func TestRestrictionInForce(t *testing.T) {
	start := time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC)
	end := start.Add(48 * time.Hour)
	r := &domain.Restriction{RestrictionTerms: domain.RestrictionTerms{Start: start, End: &end}}
	for at, want := range map[time.Time]bool{start.Add(-time.Second): false, start: true, end.Add(-time.Second): true, end: false} {
		if got := r.InForce(at); got != want {
			t.Errorf("in force at %s = %v, want %v", at, got, want)
		}
	}
}

func TestTerritorySeed(t *testing.T) {
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Declare(t.Context(), domain.TerritoriesSpec); err != nil {
		t.Fatal(err)
	}
	ts := &domain.Territories{Store: store, Now: time.Now}
	if err := ts.Seed(t.Context()); err != nil {
		t.Fatal(err)
	}
	admin := domain.Principal{Role: domain.RoleAdmin, Username: "admin"}
	name := "Байзак ауданы"
	if _, err := ts.Rename(t.Context(), admin, "313200000", domain.TerritoryChange{NameKK: &name}); err != nil {
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
