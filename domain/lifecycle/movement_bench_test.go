package lifecycle_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/identification"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/lifecycle"
	"github.com/vetfield/vetfield/domain/sqlite"
	"github.com/vetfield/vetfield/domain/storetest"
)

// BenchmarkMovement500 measures a movement of a flock of 500 sheep from a Bayzak holding to a
// Korday holding of another owner: the dispatch (checks of the reference, the animals and the
// situation at both ends; the movement and 500 animals in transit with their events, one unit),
// and the receipt (500 animals moved with their history and passports, one unit). The flock goes
// back and forth, each way under a fresh reference (issued outside the timer). Beside it, on the
// same file and in the same run, the floor a hand-written store could reach for the same rows:
// one transaction that updates 500 animal rows and inserts 500 event rows through database/sql.
//
//	go test -run x -bench Movement500 -benchtime 5x ./domain/lifecycle/
func BenchmarkMovement500(b *testing.B) {
	const flock = 500
	ctx := b.Context()
	path := filepath.Join(b.TempDir(), "bench.db")
	store, err := sqlite.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	key, _ := keyring.Generate()
	clock := storetest.NewClock(storetest.Almaty("2026-03-20", 10, 0))
	app, err := vetfield.Open(ctx, vetfield.Config{Store: store, Now: clock.Now, Keys: keyring.New(key)})
	if err != nil {
		b.Fatal(err)
	}
	admin := domain.Principal{UserID: "admin", Role: domain.RoleAdmin}
	vets := [2]domain.Principal{{UserID: "vet-1", Username: "aigul", Role: domain.RoleVet, Territory: kzBayzak},
		{UserID: "vet-3", Username: "erlan", Role: domain.RoleVet, Territory: kzKorday}}
	var holdings [2]*identification.Holding
	for i, owner := range []string{ownerA, ownerB} {
		if holdings[i], err = app.Identification.Holdings.Create(ctx, vets[i], identification.NewHolding{Kind: identification.HoldingFarm,
			Name: "Отар", OwnerIIN: owner, OwnerName: "Иесі", Address: "Ауыл", Territory: string(vets[i].Territory)}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := app.Identification.Stock.Allocate(ctx, admin, identification.NewTagRange{Unit: string(kzBayzak), First: "398000000000001", Count: flock}); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, flock)
	for k := range flock {
		a, _, err := app.Identification.Animals.Identify(ctx, vets[0], identification.NewAnimal{ID: uuid.NewString(), HoldingID: holdings[0].ID,
			Species: domain.Sheep, Sex: identification.SexFemale, BirthDate: domain.NewCivilDate(2025, 3, 1), Breed: "Еділбай", Colour: "қоңыр",
			Identifiers: []domain.IdentifierInput{{Means: domain.MeansEarTag, Number: fmt.Sprintf("%015d", 398000000000001+k)}}})
		if err != nil {
			b.Fatal(err)
		}
		ids[k] = a.ID
	}
	here := 0
	b.Run("DispatchAndReceive", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			from, to := here, 1-here
			ref := epizootic.NewReference{ID: uuid.NewString(), HoldingID: holdings[from].ID, Purpose: epizootic.PurposeSale,
				Destination: "Қордай", ExamResult: epizootic.ExamHealthy}
			in := lifecycle.NewMovement{ID: uuid.NewString(), FromHoldingID: holdings[from].ID, ToHoldingID: holdings[to].ID}
			for _, id := range ids {
				ref.Animals = append(ref.Animals, epizootic.ReferenceAnimalInput{ID: id})
				in.Animals = append(in.Animals, lifecycle.AnimalRef{ID: id})
			}
			r, _, err := app.Epizootic.References.Issue(ctx, vets[from], ref)
			if err != nil || r.Outcome != epizootic.RefIssued {
				b.Fatal(err, r.Grounds)
			}
			in.ReferenceID = r.ID
			b.StartTimer()
			if _, err := app.Lifecycle.Movements.Dispatch(ctx, vets[from], in); err != nil {
				b.Fatal(err)
			}
			if _, err := app.Lifecycle.Movements.Receive(ctx, vets[to], in.ID, lifecycle.NewReceipt{ID: uuid.NewString()}); err != nil {
				b.Fatal(err)
			}
			here = to
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*flock), "µs/animal")
	})
	bare, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=synchronous("+strings.ToUpper(string(sqlite.Durable))+")&_pragma=journal_mode(WAL)")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bare.Close() })
	bare.SetMaxOpenConns(1)
	if _, err := bare.Exec(`CREATE TABLE bare_animals (id TEXT PRIMARY KEY NOT NULL, holding TEXT NOT NULL, data TEXT NOT NULL);
		CREATE TABLE bare_events (id TEXT PRIMARY KEY NOT NULL, animal TEXT NOT NULL, data TEXT NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	row := strings.Repeat("x", 700)
	for _, id := range ids {
		if _, err := bare.Exec("INSERT INTO bare_animals VALUES (?, ?, ?)", id, holdings[0].ID, row); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("BareMoveTransaction", func(b *testing.B) {
		for b.Loop() {
			tx, err := bare.Begin()
			if err != nil {
				b.Fatal(err)
			}
			for _, id := range ids {
				if _, err := tx.Exec("UPDATE bare_animals SET holding = ?, data = ? WHERE id = ?", holdings[here].ID, row, id); err != nil {
					b.Fatal(err)
				}
				if _, err := tx.Exec("INSERT INTO bare_events VALUES (?, ?, ?)", uuid.NewString(), id, row[:300]); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			here = 1 - here
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*flock), "µs/animal")
	})
}
