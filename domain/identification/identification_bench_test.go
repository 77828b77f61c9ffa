package identification_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/identification"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite"
)

// BenchmarkIdentification measures, with benchAnimals animals in the embedded database, what a
// vet's tablet waits for when it identifies an animal (checks, claim of the number, the animal,
// the signed passport, the event) and when it looks an animal up by its number — and, on the same
// file and in the same run, a bare INSERT and a bare indexed SELECT through database/sql, the
// floor a hand-written store could reach:
//
//	go test -run x -bench Identification -benchtime 2000x ./domain/
//
// The 100 000 animals (animal and number records as the service writes them, without passports)
// are bulk-loaded in a few seconds; with -short the benchmark is skipped.
func BenchmarkIdentification(b *testing.B) {
	if testing.Short() {
		b.Skip("loads 100 000 animals")
	}
	// Durable is the default (every commit synced); Fast shows what the sync costs. The bare
	// baseline runs with the same setting on the same file.
	for _, d := range []sqlite.Durability{sqlite.Durable, sqlite.Fast} {
		b.Run(string(d), func(b *testing.B) { benchIdentification(b, d) })
	}
}

func benchIdentification(b *testing.B, durability sqlite.Durability) {
	const benchAnimals = 100_000
	ctx := b.Context()
	path := filepath.Join(b.TempDir(), "bench.db")
	store, err := sqlite.Open(path, sqlite.WithDurability(durability))
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
	holding, err := ident.Holdings.Create(ctx, vet, identification.NewHolding{Kind: identification.HoldingFarm, Name: "Береке",
		OwnerIIN: ownerA, OwnerName: "Серік Ахметов", Address: "Сарыкемер", Territory: string(kzBayzak)})
	if err != nil {
		b.Fatal(err)
	}
	loaded, err := ident.Stock.Allocate(ctx, admin, identification.NewTagRange{Unit: string(kzBayzak), First: "398000000000001", Count: benchAnimals})
	if err != nil {
		b.Fatal(err)
	}
	fresh, err := ident.Stock.Allocate(ctx, admin, identification.NewTagRange{Unit: string(kzBayzak), First: "398000100000001", Count: identification.MaxRangeSize})
	if err != nil {
		b.Fatal(err)
	}

	start := time.Now()
	bare := openBare(b, path, durability)
	loadAnimals(b, bare, holding, loaded, benchAnimals)
	loadBare(b, bare, benchAnimals)
	b.Logf("loaded %d animals into the port's tables and %d bare rows in %s", benchAnimals, benchAnimals, time.Since(start).Round(time.Millisecond))

	next := fresh.First
	b.Run("IdentifyWithPassport", func(b *testing.B) {
		for b.Loop() {
			in := identification.NewAnimal{ID: uuid.NewString(), HoldingID: holding.ID, Species: domain.Cattle, Sex: identification.SexFemale,
				BirthDate: domain.NewCivilDate(2025, 4, 2), Breed: "Әулиеата", Colour: "қызыл",
				Identifiers: []domain.IdentifierInput{{Means: domain.MeansEarTag, Number: fmt.Sprintf("%015d", next)}}}
			next++
			if _, _, err := ident.Animals.Identify(ctx, vet, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	i := 0
	b.Run("LookupByTag", func(b *testing.B) {
		for b.Loop() {
			tag := fmt.Sprintf("%015d", loaded.First+int64(i*7919%benchAnimals))
			i++
			as, _, err := ident.Animals.List(ctx, vet, identification.AnimalFilter{Tag: tag})
			if err != nil || len(as) != 1 {
				b.Fatal(tag, len(as), err)
			}
		}
	})
	doc := benchAnimalJSON(holding, "398000000000001", uuid.NewString())
	b.Run("BareInsert", func(b *testing.B) {
		n := 0
		for b.Loop() {
			n++
			if _, err := bare.ExecContext(ctx, "INSERT INTO bare_animals (id, tag, data) VALUES (?, ?, ?)",
				uuid.NewString(), fmt.Sprintf("399%012d", n), doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("BareSelectByTag", func(b *testing.B) {
		var data string
		for b.Loop() {
			tag := fmt.Sprintf("%015d", loaded.First+int64(i*7919%benchAnimals))
			i++
			if err := bare.QueryRowContext(ctx, "SELECT data FROM bare_animals WHERE tag = ?", tag).Scan(&data); err != nil {
				b.Fatal(tag, err)
			}
		}
	})
}

// loadAnimals writes n animals of the holding, with their number records, into the port's own
// tables (the layout domain/sqlite documents: c_<collection>(id, version, scope, data), indexes on
// generated columns) in one transaction: the rows are the ones Identify writes, without passports
// and without change-log entries. Through the port, one transaction per record, the same load
// takes about 45 s on two cores; the measured operations below all go through the port.
func loadAnimals(b *testing.B, db *sql.DB, h *identification.Holding, r *identification.TagRange, n int) {
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	tags, err := tx.Prepare("INSERT INTO c_tags (id, version, scope, data) VALUES (?, 1, NULL, ?)")
	if err != nil {
		b.Fatal(err)
	}
	animals, err := tx.Prepare("INSERT INTO c_animals (id, version, scope, data) VALUES (?, 1, ?, ?)")
	if err != nil {
		b.Fatal(err)
	}
	scope, _ := json.Marshal([]string{domain.ScopeTerritory(h.Territory), domain.ScopeOwner(h.OwnerIIN)})
	now := time.Now().UTC()
	for k := range n {
		tag := fmt.Sprintf("%015d", r.First+int64(k))
		id := uuid.NewString()
		rec, _ := json.Marshal(identification.TagRecord{Meta: domain.Meta{ID: tag, Version: 1}, Status: identification.TagFitted,
			Means: domain.MeansEarTag, Unit: r.Unit, RangeID: r.ID, AnimalID: id, FittedAt: &now, FittedBy: "vet-1"})
		if _, err := tags.Exec(tag, string(rec)); err != nil {
			b.Fatal(err)
		}
		if _, err := animals.Exec(id, string(scope), string(benchAnimalJSON(h, tag, id))); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// benchAnimalJSON is an animal record as Identify stores it, about 700 bytes.
func benchAnimalJSON(h *identification.Holding, tag, id string) []byte {
	now := time.Now().UTC()
	data, _ := json.Marshal(identification.Animal{Meta: domain.Meta{ID: id}, Tag: domain.EarTag(tag),
		Identifiers: []domain.Identifier{{Means: domain.MeansEarTag, Number: tag, Status: domain.IdentActive}},
		Species:     domain.Cattle, Sex: identification.SexFemale, BirthDate: domain.NewCivilDate(2025, 4, 2), Breed: "Әулиеата",
		Colour: "қызыл", HoldingID: h.ID, OwnerIIN: h.OwnerIIN, Territory: h.Territory, Status: identification.AnimalActive,
		PassportID: uuid.NewString(), IdentifiedAt: now, IdentifiedBy: "vet-1", IdentifiedByName: "Айгүл Серікқызы",
		Unit: h.Territory, UpdatedAt: now, CreateHash: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"})
	return data
}

// openBare opens the same file through database/sql with the port's pragmas.
func openBare(b *testing.B, path string, durability sqlite.Durability) *sql.DB {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=synchronous("+strings.ToUpper(string(durability))+")&_pragma=journal_mode(WAL)")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { db.Close() })
	return db
}

// loadBare fills a plain table of n animals with a unique index on the tag, in one transaction.
func loadBare(b *testing.B, db *sql.DB, n int) {
	if _, err := db.Exec(`CREATE TABLE bare_animals (id TEXT PRIMARY KEY NOT NULL, tag TEXT NOT NULL, data TEXT NOT NULL);
		CREATE UNIQUE INDEX bare_animals_tag ON bare_animals (tag)`); err != nil {
		b.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	st, err := tx.Prepare("INSERT INTO bare_animals (id, tag, data) VALUES (?, ?, ?)")
	if err != nil {
		b.Fatal(err)
	}
	h := &identification.Holding{Meta: domain.Meta{ID: uuid.NewString()}, OwnerIIN: ownerA, Territory: kzBayzak}
	for k := range n {
		tag, id := fmt.Sprintf("%015d", int64(398000000000001)+int64(k)), uuid.NewString()
		if _, err := st.Exec(id, tag, benchAnimalJSON(h, tag, id)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
