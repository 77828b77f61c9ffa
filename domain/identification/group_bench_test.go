package identification_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/identification"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite"
)

// BenchmarkIdentifyGroup compares, in one run and on one kind of database file, a flock of 500
// sheep identified in one group request against the same 500 identified one request at a time,
// and reports the cost per animal (ns/animal) of each:
//
//	go test -run x -bench IdentifyGroup -benchtime 3x ./domain/identification/
func BenchmarkIdentifyGroup(b *testing.B) {
	for _, d := range []sqlite.Durability{sqlite.Durable, sqlite.Fast} {
		b.Run(string(d), func(b *testing.B) {
			b.Run("Group500", func(b *testing.B) { benchGroup(b, d, true) })
			b.Run("Single500", func(b *testing.B) { benchGroup(b, d, false) })
		})
	}
}

func benchGroup(b *testing.B, durability sqlite.Durability, group bool) {
	const flock = identification.MaxGroup
	ctx := b.Context()
	store, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"), sqlite.WithDurability(durability))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	key, _ := keyring.Generate()
	app, err := vetfield.Open(ctx, vetfield.Config{Store: store, Keys: keyring.New(key)})
	if err != nil {
		b.Fatal(err)
	}
	ident := app.Identification
	admin := domain.Principal{UserID: "admin", Role: domain.RoleAdmin}
	vet := domain.Principal{UserID: "vet-1", Username: "aigul", Role: domain.RoleVet, Territory: kzBayzak}
	h, err := ident.Holdings.Create(ctx, vet, identification.NewHolding{Kind: identification.HoldingFarm, Name: "Береке",
		OwnerIIN: ownerA, OwnerName: "Серік Ахметов", Address: "Сарыкемер", Territory: string(kzBayzak)})
	if err != nil {
		b.Fatal(err)
	}
	r, err := ident.Stock.Allocate(ctx, admin, identification.NewTagRange{Unit: string(kzBayzak), First: "398000000000001", Count: identification.MaxRangeSize})
	if err != nil {
		b.Fatal(err)
	}
	next := r.First
	var elapsed time.Duration
	b.ResetTimer()
	for range b.N {
		g := identification.NewGroup{ID: uuid.NewString(), HoldingID: h.ID, First: string(domain.EarTagOf(next))}
		for range flock {
			g.Animals = append(g.Animals, identification.NewAnimal{ID: uuid.NewString(), Species: domain.Sheep,
				Sex: identification.SexFemale, BirthDate: domain.NewCivilDate(2025, 3, 1), Breed: "Еділбай", Colour: "қара"})
		}
		start := time.Now()
		if group {
			grp, _, err := ident.Animals.IdentifyGroup(ctx, vet, g)
			if err != nil || grp.Applied != flock {
				b.Fatal(err, grp)
			}
		} else {
			for i, na := range g.Animals {
				na.HoldingID = h.ID
				na.Identifiers = []domain.IdentifierInput{{Means: domain.MeansEarTag, Number: string(domain.EarTagOf(next + int64(i)))}}
				if _, _, err := ident.Animals.Identify(ctx, vet, na); err != nil {
					b.Fatal(fmt.Errorf("animal %d: %w", i, err))
				}
			}
		}
		elapsed += time.Since(start)
		next += flock
	}
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*flock), "ns/animal")
}
