package sync_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"syscall"
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

// district is a benchmark's loaded database: a district of animals with their passports, and
// maybe other districts beside it.
type district struct {
	store   *sqlite.Store
	svc     *vsync.Service
	vet     *accounts.User
	animals []string
	// others holds the animal ids of each other district, for writes elsewhere.
	others [][]string
}

const districtSize = 100_000

// otherDistrict is the territory and owner of the i-th other district (1..9): other districts of
// the same oblast, so that nothing but the district tells them apart.
func otherDistrict(i int) (territory, owner string) {
	return fmt.Sprintf("31%02d45100", 32+2*i), fmt.Sprintf("8801013%05d", i)
}

// loadDistrict writes districtSize animals and as many passports, with their change-log entries,
// straight into the SQLite adapter's tables in one transaction (loading them one write at a time
// through the port takes minutes), and as many again for each of others more districts,
// interleaved in the log as a country's writes are; everything measured afterwards goes through
// the real code. Where the adapter indexes its log by bucket (the table change_keys), the entries
// are indexed as the adapter would index them, so that the other districts cost what they would.
func loadDistrict(b *testing.B, others int) *district {
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
	var keyed int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE name = 'change_keys'").Scan(&keyed); err != nil {
		b.Fatal(err)
	}
	// The collections' own indexes are dropped for the load and built again afterwards by
	// Declare, at once: a bulk build is several times faster than a million random insertions.
	var drop []string
	rows, err := db.Query("SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('c_animals', 'c_documents')")
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var name string
		rows.Scan(&name)
		drop = append(drop, name)
	}
	rows.Close()
	for _, name := range drop {
		if _, err := db.Exec(`DROP INDEX "` + name + `"`); err != nil {
			b.Fatal(err)
		}
	}
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	insA, _ := tx.Prepare(`INSERT INTO c_animals (id, version, scope, data) VALUES (?, 1, ?, ?)`)
	insD, _ := tx.Prepare(`INSERT INTO c_documents (id, version, scope, data) VALUES (?, 1, ?, ?)`)
	insC, _ := tx.Prepare(`INSERT INTO changes (coll, id, version, scope, at) VALUES (?, ?, 1, ?, ?)`)
	insK, _ := tx.Prepare(`INSERT INTO change_keys (bucket, seq) VALUES (?, ?)`)
	logged := func(coll, id, scope string, buckets ...string) {
		res, err := insC.Exec(coll, id, scope, time.Now().UnixMilli())
		if err != nil {
			b.Fatal(err)
		}
		if keyed == 0 {
			return
		}
		seq, _ := res.LastInsertId()
		for _, k := range buckets {
			if _, err := insK.Exec(k, seq); err != nil {
				b.Fatal(err)
			}
		}
	}
	type other struct {
		scope, bucketT, bucketO              string
		animal, doc, animalID, docID, number []byte
	}
	var elsewhere []other
	for i := 1; i <= others; i++ {
		t, o := otherDistrict(i)
		a := &identification.Animal{Meta: domain.Meta{ID: "ANIMAL-ID-000000000000000000000000", Version: 1}, Tag: "398000000000001",
			Species: domain.Cattle, Sex: identification.SexFemale, BirthDate: domain.NewCivilDate(2024, 4, 2),
			Breed: "Әулиеата", Colour: "қызыл", HoldingID: uuid.NewString(), OwnerIIN: domain.IIN(o),
			Territory: domain.Kato(t), Status: identification.AnimalActive, PassportID: uuid.NewString(),
			IdentifiedAt: time.Now().UTC(), IdentifiedBy: uuid.NewString(), Unit: domain.Kato(t[:4] + "00000"), UpdatedAt: time.Now().UTC()}
		aj, _ := json.Marshal(a)
		elsewhere = append(elsewhere, other{scope: fmt.Sprintf(`["t:%s","o:%s"]`, t, o), bucketT: "t:" + t[:4], bucketO: "o:" + o,
			animal: aj, doc: sampleDoc, animalID: []byte(a.ID), docID: []byte(sample.ID), number: []byte(sample.Number)})
	}
	scope := `["t:313245100","o:880101300123"]`
	d := &district{store: store, others: make([][]string, others)}
	// As a district is: about fifty animals to a holding, a handful of vets, and every passport
	// with its own id, subject, signature and content hash (random bytes of the real lengths, so
	// that they cost on the wire what real ones cost).
	holdings := make([]string, districtSize/50)
	for i := range holdings {
		holdings[i] = uuid.NewString()
	}
	vets := []string{uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()}
	rng := rand.New(rand.NewPCG(1, 2))
	randomText := func(n int, alphabet string) []byte {
		out := make([]byte, n)
		for i := range out {
			out[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return out
	}
	const base64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range districtSize {
		// Ids as a tablet and the server make them (README, "Ids and times"): the animal's a
		// UUID v7 of the moment it was identified, its passport's derived beside it.
		id := domain.NewID()
		docID := domain.DerivedIDBeside(id, "passport", id)
		tag := fmt.Sprintf("398%012d", i+1)
		at := time.Now().UTC().Truncate(time.Millisecond)
		animal, _ := json.Marshal(&identification.Animal{Meta: domain.Meta{ID: id, Version: 1}, Tag: domain.EarTag(tag),
			Identifiers: []domain.Identifier{{Means: "ear_tag", Number: tag, Status: "active"}},
			Species:     domain.Cattle, Sex: identification.SexFemale, BirthDate: domain.NewCivilDate(2024, 4, 2),
			Breed: "Әулиеата", Colour: "қызыл", HoldingID: holdings[i/50], OwnerIIN: "880101300123",
			Territory: "313245100", Status: identification.AnimalActive, PassportID: docID,
			IdentifiedAt: at, IdentifiedBy: vets[i%len(vets)], IdentifiedByName: "Айгүл Серікқызы",
			Unit: "313200000", UpdatedAt: at, CreateHash: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"})
		if _, err := insA.Exec(id, scope, string(animal)); err != nil {
			b.Fatal(err)
		}
		doc := bytes.ReplaceAll(sampleDoc, []byte(sample.ID), []byte(docID))
		doc = bytes.ReplaceAll(doc, []byte(sample.Subject.ID), []byte(id))
		doc = bytes.ReplaceAll(doc, []byte(sample.Subject.Tag), []byte(tag))
		doc = bytes.ReplaceAll(doc, []byte(sample.Token), randomText(len(sample.Token), base64url))
		doc = bytes.ReplaceAll(doc, []byte(sample.ContentHash), randomText(len(sample.ContentHash), "0123456789abcdef"))
		doc = bytes.ReplaceAll(doc, []byte(sample.Number), fmt.Appendf(nil, "VP-2026-313200-%07d", i+2))
		if _, err := insD.Exec(docID, scope, string(doc)); err != nil {
			b.Fatal(err)
		}
		logged("animals", id, scope, "t:3132", "o:880101300123")
		logged("documents", docID, scope, "t:3132", "o:880101300123")
		d.animals = append(d.animals, id)
		for j, o := range elsewhere {
			aid, did := uuid.NewString(), uuid.NewString()
			if _, err := insA.Exec(aid, o.scope, string(bytes.ReplaceAll(o.animal, o.animalID, []byte(aid)))); err != nil {
				b.Fatal(err)
			}
			doc := bytes.ReplaceAll(o.doc, o.docID, []byte(did))
			doc = bytes.ReplaceAll(doc, o.number, fmt.Appendf(nil, "VP-2026-%02d-%09d", j, i))
			if _, err := insD.Exec(did, o.scope, string(doc)); err != nil {
				b.Fatal(err)
			}
			logged("animals", aid, o.scope, o.bucketT, o.bucketO)
			logged("documents", did, o.scope, o.bucketT, o.bucketO)
			d.others[j] = append(d.others[j], aid)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if err := store.Declare(ctx, vetfield.Collections...); err != nil {
		b.Fatal(err)
	}
	d.vet = &accounts.User{Meta: domain.Meta{ID: "vet"}, Username: "vet.bayzak", Role: domain.RoleVet, Territory: "313200000"}
	d.svc = app.Sync
	return d
}

// writeElsewhere logs n writes of the other districts' animals straight into the log, as if
// their vets had updated them: what a district's incremental pull must not pay for.
func (d *district) writeElsewhere(b *testing.B, n int) {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+d.store.Path()+"?_pragma=busy_timeout(5000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var keyed int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE name = 'change_keys'").Scan(&keyed); err != nil {
		b.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	insC, _ := tx.Prepare(`INSERT INTO changes (coll, id, version, scope, prev_scope, at) VALUES ('animals', ?, 2, ?, ?, ?)`)
	insK, _ := tx.Prepare(`INSERT INTO change_keys (bucket, seq) VALUES (?, ?)`)
	for i := range n {
		j := i % len(d.others)
		t, o := otherDistrict(j + 1)
		scope := fmt.Sprintf(`["t:%s","o:%s"]`, t, o)
		res, err := insC.Exec(d.others[j][(i/len(d.others))%len(d.others[j])], scope, scope, time.Now().UnixMilli())
		if err != nil {
			b.Fatal(err)
		}
		if keyed == 0 {
			continue
		}
		seq, _ := res.LastInsertId()
		for _, k := range []string{"t:" + t[:4], "o:" + o} {
			if _, err := insK.Exec(k, seq); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// initialPull pulls the district from no checkpoint and returns the records and the bytes on the
// wire.
func (d *district) initialPull(b *testing.B, want int) (wire int) {
	ctx := context.Background()
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
	if n != want {
		b.Fatalf("pulled %d records, want %d", n, want)
	}
	return wire
}

// initialPull2 pulls the district from no checkpoint in format 2, compressed as a client taking
// acceptEncoding receives it, and returns the bytes on the wire. Decoding the pages (what the
// tablet does) is left out of the time.
func (d *district) initialPull2(b *testing.B, want int, acceptEncoding string) (wire int) {
	ctx := context.Background()
	n, cp := 0, ""
	for {
		raw, err := d.svc.PullPage(ctx, d.vet, "bench", cp, vsync.MaxPullLimit)
		if err != nil {
			b.Fatal(err)
		}
		body, _, err := vsync.CompressPage(raw, acceptEncoding)
		if err != nil {
			b.Fatal(err)
		}
		wire += len(body)
		b.StopTimer()
		var page vsync.Page
		if err := json.Unmarshal(raw, &page); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		n += page.Len()
		cp = page.Checkpoint
		if !page.More {
			break
		}
	}
	if n != want {
		b.Fatalf("pulled %d records, want %d", n, want)
	}
	return wire
}

// project files the whole log in the snapshot index.
func (d *district) project(b *testing.B) {
	if err := d.svc.ProjectAll(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// head is the checkpoint at the end of the district's log, for incremental pulls.
func (d *district) head(b *testing.B) string {
	head := ""
	for {
		page, err := d.svc.Pull(context.Background(), d.vet, "bench", head, vsync.MaxPullLimit)
		if err != nil {
			b.Fatal(err)
		}
		head = page.Checkpoint
		if !page.More {
			return head
		}
	}
}

// touch updates n of the district's animals through the port.
func (d *district) touch(b *testing.B, next *int, n int) {
	ctx := context.Background()
	for range n {
		id := d.animals[*next%len(d.animals)]
		*next++
		rec, err := d.store.Get(ctx, identification.AnimalsSpec.Name, id)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.store.Update(ctx, identification.AnimalsSpec.Name, rec); err != nil {
			b.Fatal(err)
		}
	}
}

// incrementalPull pulls the 100 changes after head, in as many pulls as the server asks for
// (More), and returns the new head.
func (d *district) incrementalPull(b *testing.B, head string) string {
	n, pulls := 0, 0
	for {
		page, err := d.svc.Pull(context.Background(), d.vet, "bench", head, 1000)
		if err != nil {
			b.Fatal(err)
		}
		n, pulls, head = n+len(page.Items), pulls+1, page.Checkpoint
		if !page.More {
			break
		}
	}
	if n != 100 {
		b.Fatalf("incremental pull: %d items in %d pulls", n, pulls)
	}
	b.ReportMetric(float64(pulls), "pulls")
	return head
}

// cpuClock measures the CPU time the process spends (user and system), which on a machine shared
// with other work is a steadier measure of a pull's cost than the time on the wall clock.
type cpuClock struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() *cpuClock { return &cpuClock{start: cpuNow()} }

// report adds the CPU seconds per operation to b's results.
func (c *cpuClock) report(b *testing.B) {
	b.ReportMetric((cpuNow()-c.start).Seconds()/float64(b.N), "cpu_s/op")
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
//
//	go test -run x -bench 'BenchmarkSync$' ./sync
func BenchmarkSync(b *testing.B) {
	d := loadDistrict(b, 0)
	ctx := context.Background()
	records := 2*districtSize + 1 // and the sample passport issued through the domain

	b.Run("InitialPull", func(b *testing.B) {
		var wire int
		cpu := startCPU()
		for b.Loop() {
			wire = d.initialPull(b, records)
		}
		cpu.report(b)
		b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		b.ReportMetric(float64(wire)/float64(records), "wire_bytes/record")
	})

	b.Run("Project", func(b *testing.B) {
		// What filing the log in the snapshot index costs: once per write, off the pull.
		cpu := startCPU()
		for b.Loop() {
			b.StopTimer()
			db, err := sql.Open("sqlite", "file:"+d.store.Path()+"?_pragma=busy_timeout(5000)")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.Exec(`DELETE FROM snapshot; DELETE FROM c_sync_projection`); err != nil {
				b.Fatal(err)
			}
			db.Close()
			b.StartTimer()
			d.project(b)
		}
		cpu.report(b)
		b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	d.project(b) // whichever sub-benchmarks run, format 2 reads a complete index
	for _, enc := range []string{"zstd", "gzip"} {
		b.Run("InitialPull2/"+enc, func(b *testing.B) {
			var wire int
			cpu := startCPU()
			for b.Loop() {
				wire = d.initialPull2(b, records, enc)
			}
			cpu.report(b)
			b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(wire)/float64(records), "wire_bytes/record")
		})
	}

	b.Run("BareSQL", func(b *testing.B) {
		db, err := sql.Open("sqlite", "file:"+d.store.Path()+"?mode=ro")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		cpu := startCPU()
		defer cpu.report(b)
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

	head := d.head(b)
	next := 0
	b.Run("IncrementalPull100", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			d.touch(b, &next, 100)
			b.StartTimer()
			head = d.incrementalPull(b, head)
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

// BenchmarkSyncCountry measures isolation: the same district as BenchmarkSync inside a database
// holding nine more districts of as many animals and passports, their log entries interleaved
// with its own. Its initial pull should cost what it costs alone (BenchmarkSync/InitialPull, and
// InitialPull2 against BenchmarkSync/InitialPull2/zstd for format 2, from the snapshot index), and
// an incremental pull of 100 changes after the other districts wrote 100 000 changes what the
// same pull costs when nobody else wrote (IncrementalPull100Quiet). Its load takes a few minutes,
// so run it with a fixed count:
//
//	go test -run x -bench BenchmarkSyncCountry -benchtime 3x -timeout 60m ./sync
func BenchmarkSyncCountry(b *testing.B) {
	start := time.Now()
	d := loadDistrict(b, 9)
	b.Logf("loaded 10 districts (%d records) in %s", 20*districtSize, time.Since(start).Round(time.Second))
	records := 2*districtSize + 1

	b.Run("InitialPull", func(b *testing.B) {
		cpu := startCPU()
		for b.Loop() {
			d.initialPull(b, records)
		}
		cpu.report(b)
		b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	start = time.Now()
	d.project(b)
	b.Logf("filed the 10 districts in the snapshot index in %s", time.Since(start).Round(time.Second))
	b.Run("InitialPull2", func(b *testing.B) {
		cpu := startCPU()
		for b.Loop() {
			d.initialPull2(b, records, "zstd")
		}
		cpu.report(b)
		b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})

	head := d.head(b)
	next := 0
	b.Run("IncrementalPull100Quiet", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			d.touch(b, &next, 100)
			b.StartTimer()
			head = d.incrementalPull(b, head)
		}
	})
	b.Run("IncrementalPull100Busy", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			d.touch(b, &next, 50)
			d.writeElsewhere(b, 100_000)
			d.touch(b, &next, 50)
			b.StartTimer()
			head = d.incrementalPull(b, head)
		}
	})
}
