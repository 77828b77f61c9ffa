package identification_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/identification"
	"github.com/vetfield/vetfield/domain/storetest"
)

// flock is a group of n sheep on e.Holding taking consecutive numbers from first.
func (e *identEnv) flock(first string, n int) identification.NewGroup {
	g := identification.NewGroup{ID: uuid.NewString(), HoldingID: e.Holding.ID, First: first}
	for range n {
		g.Animals = append(g.Animals, identification.NewAnimal{ID: uuid.NewString(), Species: domain.Sheep,
			Sex: identification.SexFemale, BirthDate: domain.NewCivilDate(2025, 3, 1), Breed: "Қазақтың құйрықты қойы", Colour: "ақ"})
	}
	return g
}

// RecordCounts counts every stored record, the sum of their versions and of every counter, by
// table: any insert, update or number taken moves it.
func RecordCounts(t testing.TB, path string) map[string]int64 {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND (name LIKE 'c\_%' ESCAPE '\' OR name = 'counters')`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	out := map[string]int64{}
	for _, name := range tables {
		sum := "version"
		if name == "counters" {
			sum = "value"
		}
		var n, s int64
		if err := db.QueryRow(fmt.Sprintf(`SELECT count(*), coalesce(sum(%s), 0) FROM "%s"`, sum, name)).Scan(&n, &s); err != nil {
			t.Fatal(err)
		}
		out[name], out[name+".sum"] = n, s
	}
	return out
}

// TestIdentifyGroup: a flock of 300 sheep identified in one request, the stock holding numbers for
// 299 of them: 299 applied with their passports, the one whose number is outside the unit's stock
// rejected with its problem, and the retry writes nothing at all.
func TestIdentifyGroup(t *testing.T) {
	t.Parallel()
	e := newIdentEnv(t)
	ctx := t.Context()
	// Bayzak's stock runs 398000000000001–398000000001000: start 299 numbers before its end.
	g := e.flock("398000000000702", 300)
	before := RecordCounts(t, e.Store.Path())
	grp, res, err := e.Id.Animals.IdentifyGroup(ctx, e.Vet, g)
	if err != nil {
		t.Fatal(err)
	}
	if grp.Applied != 299 || grp.Rejected != 1 || len(res) != 300 {
		t.Fatalf("group: %d applied, %d rejected, %d results", grp.Applied, grp.Rejected, len(res))
	}
	for i, r := range res[:299] {
		want := fmt.Sprintf("398000000%06d", 702+i)
		if r.Status != identification.GroupApplied || r.Animal == nil || r.Passport == nil || r.Tag != want ||
			r.Animal.Tag != domain.EarTag(want) || r.Passport.Subject.Tag != want || r.AnimalID != g.Animals[i].ID {
			t.Fatalf("animal %d: %+v", i, r)
		}
	}
	last := res[299]
	if last.Status != identification.GroupRejected || last.Problem == nil || last.Problem.Code != domain.EPRECONDITION ||
		last.Problem.Field != "animals[299].identifiers[0].number" || !strings.Contains(last.Problem.Message, "398000000001001") {
		t.Fatalf("the animal outside the stock: %+v %+v", last, last.Problem)
	}
	if _, err := e.Id.Animals.Load(ctx, last.AnimalID); !domain.IsCode(err, domain.ENOTFOUND) {
		t.Errorf("the rejected animal is stored: %v", err)
	}
	if s := e.TagStatus("398000000001000"); s != identification.TagFitted {
		t.Errorf("the last number of the stock is %s", s)
	}
	if got := e.Events(e.Vet, res[0].AnimalID); len(got) != 1 || got[0] != identification.EventIdentified {
		t.Errorf("history of an applied animal: %v", got)
	}
	after := RecordCounts(t, e.Store.Path())
	if d := after[`c_animals`] - before[`c_animals`]; d != 299 {
		t.Errorf("%d animals stored, want 299", d)
	}
	if d := after[`c_documents`] - before[`c_documents`]; d != 299 {
		t.Errorf("%d passports stored, want 299", d)
	}

	t.Run("RetryWritesNothing", func(t *testing.T) {
		grp2, res2, err := e.Id.Animals.IdentifyGroup(ctx, e.Vet, g)
		if err != nil {
			t.Fatal(err)
		}
		if grp2.ID != grp.ID || grp2.Applied != 299 || len(res2) != 300 || res2[5].Passport == nil ||
			res2[5].Passport.Number != res[5].Passport.Number || res2[299].Status != identification.GroupRejected {
			t.Fatalf("retry answered %+v", grp2)
		}
		if again := RecordCounts(t, e.Store.Path()); fmt.Sprint(again) != fmt.Sprint(after) {
			t.Errorf("the retry wrote:\nbefore %v\nafter  %v", after, again)
		}
	})

	t.Run("SameIDOtherGroup", func(t *testing.T) {
		other := e.flock("398000000000100", 2)
		other.ID = g.ID
		if _, _, err := e.Id.Animals.IdentifyGroup(ctx, e.Vet, other); !domain.IsCode(err, domain.ECONFLICT) {
			t.Errorf("another group under the same id: %v", err)
		}
	})

	t.Run("AnimalsAlreadyIdentifiedSingly", func(t *testing.T) {
		// The tablet identified two animals one by one, lost the answers and sends them again in a
		// group, with a third that is new, a number fitted long ago and a number listed twice.
		one := e.NewAnimal("398000000000010")
		two := e.NewAnimal("398000000000011")
		for _, na := range []identification.NewAnimal{one, two} {
			if _, _, err := e.Id.Animals.Identify(ctx, e.Vet, na); err != nil {
				t.Fatal(err)
			}
		}
		fitted := e.NewAnimal("398000000000702")
		dup := e.NewAnimal("398000000000013")
		dup2 := e.NewAnimal("398000000000013")
		g := identification.NewGroup{ID: uuid.NewString(), HoldingID: e.Holding.ID,
			Animals: []identification.NewAnimal{one, two, e.NewAnimal("398000000000012"), fitted, dup, dup2}}
		for i := range g.Animals {
			g.Animals[i].HoldingID = ""
		}
		_, res, err := e.Id.Animals.IdentifyGroup(ctx, e.Vet, g)
		if err != nil {
			t.Fatal(err)
		}
		got := []string{}
		for _, r := range res {
			p := ""
			if r.Problem != nil {
				p = " " + r.Problem.Code + "@" + r.Problem.Field
			}
			got = append(got, string(r.Status)+p)
		}
		want := []string{"applied", "applied", "applied", "rejected conflict@animals[3].identifiers[0].number", "applied",
			"rejected invalid@animals[5].identifiers"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("results\n%v, want\n%v", got, want)
		}
		if e.Passports(one.ID) != 1 {
			t.Errorf("the animal identified singly has %d passports", e.Passports(one.ID))
		}
	})

	t.Run("RefusedWhole", func(t *testing.T) {
		seq := e.LastSeq()
		farmer := e.flock("398000000000200", 3)
		if _, _, err := e.Id.Animals.IdentifyGroup(ctx, e.FarmerA, farmer); !domain.IsCode(err, domain.EFORBIDDEN) {
			t.Errorf("a farmer: %v", err)
		}
		other := e.flock("398000000000200", 3)
		if _, _, err := e.Id.Animals.IdentifyGroup(ctx, e.VetKorday, other); !domain.IsCode(err, domain.EINVALID) {
			t.Errorf("another district's holding: %v", err)
		}
		big := e.flock("398000000000200", identification.MaxGroup+1)
		if _, _, err := e.Id.Animals.IdentifyGroup(ctx, e.Vet, big); !domain.IsCode(err, domain.EINVALID) {
			t.Errorf("%d animals: %v", identification.MaxGroup+1, err)
		}
		bad := e.flock("39800000000020x", 3)
		if _, _, err := e.Id.Animals.IdentifyGroup(ctx, e.Vet, bad); !domain.IsCode(err, domain.EINVALID) {
			t.Errorf("a bad first number: %v", err)
		}
		if e.LastSeq() != seq {
			t.Error("a refused group wrote")
		}
	})
}

// TestIdentifyGroupCrash: a group cut short at any write — in the middle of a unit of work, as a
// crash leaves it on MongoDB, where the steps before it stay applied — is finished by its retry:
// every animal identified once, with exactly one valid passport, and the rejected animal holds
// no number.
func TestIdentifyGroupCrash(t *testing.T) {
	t.Parallel()
	for _, k := range []int{0, 1, 3, 9, 17, 26, 38, 41} {
		t.Run(fmt.Sprint("CrashAt", k), func(t *testing.T) {
			e := newIdentEnv(t)
			ctx := t.Context()
			h := e.Hooked()
			g := e.flock("398000000000991", 11) // the 11th number, 398000000001001, is outside the stock
			h.Set(storetest.CrashAt(k))
			if _, _, err := e.Id.Animals.IdentifyGroup(ctx, e.Vet, g); err == nil {
				t.Logf("the first attempt finished before write %d", k)
			}
			h.Set(nil)
			grp, res, err := e.Id.Animals.IdentifyGroup(ctx, e.Vet, g)
			if err != nil {
				t.Fatal(err)
			}
			if grp.Applied != 10 || grp.Rejected != 1 {
				t.Fatalf("after the retry: %d applied, %d rejected", grp.Applied, grp.Rejected)
			}
			for _, r := range res[:10] {
				e.CheckOnePassport(r.AnimalID)
				if got := e.Events(e.Vet, r.AnimalID); len(got) != 1 {
					t.Errorf("history of %s: %v", r.Tag, got)
				}
			}
			if _, err := e.Id.Animals.Load(ctx, res[10].AnimalID); !domain.IsCode(err, domain.ENOTFOUND) {
				t.Errorf("the rejected animal is stored: %v", err)
			}
		})
	}
}

// TestIdentifyGroupConcurrent: two vets send groups numbered from the same pack at once. Every
// number is fitted once: each animal of one group is applied and its twin of the other rejected
// (or both groups split the pack), never both.
func TestIdentifyGroupConcurrent(t *testing.T) {
	t.Parallel()
	e := newIdentEnv(t)
	ctx := t.Context()
	a, b := e.flock("398000000000101", 60), e.flock("398000000000101", 60)
	type answer struct {
		res []identification.GroupResult
		err error
	}
	ch := make(chan answer, 2)
	for _, g := range []identification.NewGroup{a, b} {
		go func() {
			_, res, err := e.Id.Animals.IdentifyGroup(ctx, e.Vet, g)
			ch <- answer{res, err}
		}()
	}
	fitted := map[string]string{}
	for range 2 {
		ans := <-ch
		if ans.err != nil {
			t.Fatal(ans.err)
		}
		for _, r := range ans.res {
			if r.Status != identification.GroupApplied {
				if r.Problem == nil || r.Problem.Code != domain.ECONFLICT {
					t.Errorf("%s rejected with %+v", r.Tag, r.Problem)
				}
				continue
			}
			if other, ok := fitted[r.Tag]; ok {
				t.Errorf("number %s fitted to %s and %s", r.Tag, other, r.AnimalID)
			}
			fitted[r.Tag] = r.AnimalID
		}
	}
	if len(fitted) != 60 {
		t.Errorf("%d numbers fitted, want 60", len(fitted))
	}
	for tag, id := range fitted {
		info, err := e.Id.Stock.Lookup(ctx, e.Admin, tag)
		if err != nil || info.Record == nil || info.Record.AnimalID != id {
			t.Errorf("number %s: %+v %v", tag, info.Record, err)
		}
		e.CheckOnePassport(id)
	}
}
