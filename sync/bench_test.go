package sync_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/identification"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite"
	vsync "github.com/vetfield/vetfield/sync"
)

// district is a benchmark's loaded database: a district of animals with their passports.
type district struct {
	store   *sqlite.Store
	svc     *vsync.Service
	vet     *accounts.User
	animals []string
}

const districtSize = 100_000

// loadDistrict writes districtSize animals and as many passports, with their change-log entries,
// straight into the SQLite adapter's tables in one transaction (loading them one write at a time
// through the port takes minutes); everything measured afterwards goes through the real code.
func loadDistrict(b *testing.B) *district {
	b.Helper()
	if testing.Short() {
		b.Skip("loads 200 000 records")
	}
	dir := b.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "district.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	ctx := context.Background()
	// Real documents, signed, as the passports would be.
	key, _ := keyring.Generate()
	// The graph without the seeded territories, so the pull holds exactly the district's records.
	if err := store.Declare(ctx, vetfield.Collections...); err != nil {
		b.Fatal(err)
	}
	app := vetfield.New(vetfield.Config{Store: store, Keys: keyring.New(key)})
	api.New(api.Deps{App: app, Keys: keyring.New(key)}) // installs the wire views a pull renders
	sample, err := app.Documents.Issue(ctx, documents.Draft{Type: documents.DocPassport,
		Subject: documents.Subject{Kind: documents.SubjectAnimal, ID: uuid.NewString(), Tag: "398012345678901", Species: "cattle",
			OwnerIIN: "880101300123", Territory: "313245100"},
		Issuer: documents.Issuer{UserID: uuid.NewString(), Name: "Айгүл Серікқызы", Unit: "313200000", UnitName: "Байзақ ауданы"},
		Content: map[string]any{"breed": "Әулиеата", "colour": "қызыл", "sex": "female", "birth_date": "2024-04-02",
			"id_means": "ear_tag", "holding": "Ақжол шаруа қожалығы"}})
	if err != nil {
		b.Fatal(err)
	}
	sampleDoc, _ := json.Marshal(sample)

	db, err := sql.Open("sqlite", "file:"+store.Path()+"?_pragma=busy_timeout(5000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	insA, _ := tx.Prepare(`INSERT INTO c_animals (id, version, scope, data) VALUES (?, 1, ?, ?)`)
	insD, _ := tx.Prepare(`INSERT INTO c_documents (id, version, scope, data) VALUES (?, 1, ?, ?)`)
	insC, _ := tx.Prepare(`INSERT INTO changes (coll, id, version, scope, at) VALUES (?, ?, 1, ?, ?)`)
	scope := `["t:313245100","o:880101300123"]`
	d := &district{store: store}
	now := time.Now().UnixMilli()
	for i := range districtSize {
		id := uuid.NewString()
		tag := fmt.Sprintf("398%012d", i+1)
		animal, _ := json.Marshal(&identification.Animal{Meta: domain.Meta{ID: id, Version: 1}, Tag: domain.EarTag(tag),
			Identifiers: []domain.Identifier{{Means: "ear_tag", Number: tag, Status: "active"}},
			Species:     domain.Cattle, Sex: identification.SexFemale, BirthDate: domain.NewCivilDate(2024, 4, 2),
			Breed: "Әулиеата", Colour: "қызыл", HoldingID: uuid.NewString(), OwnerIIN: "880101300123",
			Territory: "313245100", Status: identification.AnimalActive, PassportID: uuid.NewString(),
			IdentifiedAt: time.Now().UTC(), IdentifiedBy: uuid.NewString(), IdentifiedByName: "Айгүл Серікқызы",
			Unit: "313200000", UpdatedAt: time.Now().UTC(), CreateHash: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"})
		if _, err := insA.Exec(id, scope, string(animal)); err != nil {
			b.Fatal(err)
		}
		docID := uuid.NewString()
		doc := bytes.ReplaceAll(sampleDoc, []byte(sample.ID), []byte(docID))
		doc = bytes.ReplaceAll(doc, []byte(sample.Number), fmt.Appendf(nil, "VP-2026-313200-%07d", i+2))
		if _, err := insD.Exec(docID, scope, string(doc)); err != nil {
			b.Fatal(err)
		}
		for _, c := range [][2]string{{"animals", id}, {"documents", docID}} {
			if _, err := insC.Exec(c[0], c[1], scope, now); err != nil {
				b.Fatal(err)
			}
		}
		d.animals = append(d.animals, id)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	d.vet = &accounts.User{Meta: domain.Meta{ID: "vet"}, Username: "vet.bayzak", Role: domain.RoleVet, Territory: "313200000"}
	d.svc = app.Sync
	return d
}

// wireSize is what a page costs on the wire: its JSON, gzipped as the server sends it.
func wireSize(b *testing.B, page *vsync.PullResult) int {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err := json.NewEncoder(zw).Encode(page); err != nil {
		b.Fatal(err)
	}
	zw.Close()
	return buf.Len()
}

// BenchmarkSync measures, on one loaded district: the initial pull of everything (records per
// second and gzipped bytes per record) against a bare SQL read of the same rows from the same
// file, an incremental pull of 100 changes, and a push of 500 mutations.
func BenchmarkSync(b *testing.B) {
	d := loadDistrict(b)
	ctx := context.Background()
	records := 2*districtSize + 1 // and the sample passport issued through the domain

	b.Run("InitialPull", func(b *testing.B) {
		var wire int
		for b.Loop() {
			wire = 0
			n, cp := 0, ""
			for {
				page, err := d.svc.Pull(ctx, d.vet, "bench", cp, vsync.MaxPullLimit)
				if err != nil {
					b.Fatal(err)
				}
				n += len(page.Items)
				wire += wireSize(b, page)
				cp = page.Checkpoint
				if !page.More {
					break
				}
			}
			if n != records {
				b.Fatalf("pulled %d records, want %d", n, records)
			}
		}
		b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		b.ReportMetric(float64(wire)/float64(records), "wire_bytes/record")
	})

	b.Run("BareSQL", func(b *testing.B) {
		db, err := sql.Open("sqlite", "file:"+d.store.Path()+"?mode=ro")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		for b.Loop() {
			n := 0
			for _, table := range []string{"c_animals", "c_documents"} {
				rows, err := db.Query(`SELECT id, version, data FROM ` + table)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
					var id string
					var v int64
					var data []byte
					if err := rows.Scan(&id, &v, &data); err != nil {
						b.Fatal(err)
					}
					n++
				}
				rows.Close()
			}
			if n != records {
				b.Fatalf("read %d rows", n)
			}
		}
		b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})

	// The checkpoint at the end of the log, for incremental pulls.
	head := ""
	for {
		page, err := d.svc.Pull(ctx, d.vet, "bench", head, vsync.MaxPullLimit)
		if err != nil {
			b.Fatal(err)
		}
		head = page.Checkpoint
		if !page.More {
			break
		}
	}
	next := 0
	touch := func(n int) {
		for range n {
			id := d.animals[next%len(d.animals)]
			next++
			rec, err := d.store.Get(ctx, identification.AnimalsSpec.Name, id)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := d.store.Update(ctx, identification.AnimalsSpec.Name, rec); err != nil {
				b.Fatal(err)
			}
		}
	}

	b.Run("IncrementalPull100", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			touch(100)
			b.StartTimer()
			page, err := d.svc.Pull(ctx, d.vet, "bench", head, 1000)
			if err != nil {
				b.Fatal(err)
			}
			if len(page.Items) != 100 || page.More {
				b.Fatalf("incremental pull: %d items, more %v", len(page.Items), page.More)
			}
			head = page.Checkpoint
		}
	})

	b.Run("Push500", func(b *testing.B) {
		// animal.update mutations on the stored animals, through the real handler.
		for b.Loop() {
			b.StopTimer()
			muts := make([]vsync.Mutation, 0, 500)
			for range 500 {
				aid := d.animals[next%len(d.animals)]
				next++
				rec, err := d.store.Get(ctx, identification.AnimalsSpec.Name, aid)
				if err != nil {
					b.Fatal(err)
				}
				muts = append(muts, vsync.Mutation{ID: uuid.NewString(), Kind: "animal.update", RecordID: aid,
					BaseVersion: rec.Version, Data: json.RawMessage(`{"colour":"ала"}`)})
			}
			b.StartTimer()
			res, err := d.svc.Push(ctx, d.vet, "bench", muts)
			if err != nil {
				b.Fatal(err)
			}
			if res[0].Status != vsync.Applied || res[499].Status != vsync.Applied {
				b.Fatalf("push: %+v", res[0])
			}
		}
	})
}
