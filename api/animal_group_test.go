package api_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/api"
	vsync "github.com/vetfield/vetfield/sync"
)

// flock is the body of a group identification of n ewes on the herd's holding, numbered
// consecutively from first.
func (h *herd) flock(first string, n int) map[string]any {
	animals := make([]map[string]any, 0, n)
	for range n {
		animals = append(animals, map[string]any{"id": uuid.NewString(), "species": "sheep", "sex": "female",
			"birth_date": "2025-03-01", "breed": "Қазақтың құйрықты қойы", "colour": "ақ"})
	}
	return map[string]any{"id": uuid.NewString(), "holding_id": h.holding.ID, "first": first, "animals": animals}
}

// records counts every stored record, the sum of their versions and every counter, by table: an
// insert, an update or a number taken moves it. The tablets' device records, which every push
// and pull touches (its last push, its last pull), are left out.
func (e *env) records() string {
	e.t.Helper()
	db, err := sql.Open("sqlite", e.store.Path()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND (name LIKE 'c\_%' ESCAPE '\' OR name = 'counters') ORDER BY name`)
	if err != nil {
		e.t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			e.t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	out := ""
	for _, name := range tables {
		if name == "c_sync_devices" {
			continue
		}
		col := "version"
		if name == "counters" {
			col = "value"
		}
		var n, sum int64
		if err := db.QueryRow(fmt.Sprintf(`SELECT count(*), coalesce(sum(%s), 0) FROM "%s"`, col, name)).Scan(&n, &sum); err != nil {
			e.t.Fatal(err)
		}
		out += fmt.Sprintf("%s %d/%d\n", name, n, sum)
	}
	return out
}

// count is how many records of one table the records snapshot holds.
func countIn(snapshot, table string) int {
	var n, sum int
	for _, line := range splitLines(snapshot) {
		if _, err := fmt.Sscanf(line, table+" %d/%d", &n, &sum); err == nil {
			return n
		}
	}
	return -1
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := range s {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// checkFlock checks the answer of a flock of 300 whose last number is outside the unit's stock.
func checkFlock(t *testing.T, g api.AnimalGroupView, body map[string]any, first int64) {
	t.Helper()
	if g.Applied != 299 || g.Rejected != 1 || len(g.Items) != 300 {
		t.Fatalf("group: %d applied, %d rejected, %d items", g.Applied, g.Rejected, len(g.Items))
	}
	animals := body["animals"].([]map[string]any)
	for i, it := range g.Items[:299] {
		want := fmt.Sprintf("%d", first+int64(i))
		if it.Status != "applied" || it.AnimalID != animals[i]["id"] || it.Tag != want || it.Problem != nil {
			t.Fatalf("item %d: %+v", i, it)
		}
	}
	last := g.Items[299]
	if last.Status != "rejected" || last.Problem == nil || last.Problem.Status != 409 || last.Problem.Code != "precondition" ||
		last.Problem.Field != "animals[299].identifiers[0].number" || last.Animal != nil {
		t.Fatalf("the animal outside the stock: %+v %+v", last, last.Problem)
	}
}

// TestAnimalGroup: a campaign identifies a flock of 300 sheep in one request; the stock holds
// numbers for 299 of them. 299 are applied, each with its own passport; the one whose number is
// outside the unit's stock is rejected with its problem; the retry answers the same and writes
// nothing.
func TestAnimalGroup(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	// Bayzak's stock runs 398000000000001–398000000001000.
	body := h.flock("398000000000702", 300)
	before := h.records()
	r := h.do("POST", "/v1/animal-groups", h.vet, body).expect(t, 201)
	var g api.AnimalGroupView
	r.JSON(t, &g)
	checkFlock(t, g, body, 398000000000702)
	if r.Header.Get("Location") != "/v1/animal-groups/"+g.ID {
		t.Errorf("Location %q", r.Header.Get("Location"))
	}
	first := g.Items[0].Animal
	if first == nil || first.Passport == nil || first.Passport.Type != "vet_passport" || first.Passport.Subject.Tag != "398000000000702" ||
		first.Species != "sheep" || first.HoldingID != h.holding.ID {
		t.Fatalf("the first animal: %+v", first)
	}
	after := h.records()
	if d := countIn(after, "c_animals") - countIn(before, "c_animals"); d != 299 {
		t.Errorf("%d animals stored, want 299", d)
	}
	if d := countIn(after, "c_documents") - countIn(before, "c_documents"); d != 299 {
		t.Errorf("%d passports stored, want 299", d)
	}

	t.Run("RetryWritesNothing", func(t *testing.T) {
		var again api.AnimalGroupView
		h.do("POST", "/v1/animal-groups", h.vet, body).expect(t, 201).JSON(t, &again)
		checkFlock(t, again, body, 398000000000702)
		if again.Items[7].Animal == nil || again.Items[7].Animal.Passport.Number != g.Items[7].Animal.Passport.Number {
			t.Errorf("the retry answered another passport")
		}
		if now := h.records(); now != after {
			t.Errorf("the retry wrote:\n%s\nthen\n%s", after, now)
		}
	})

	t.Run("Lookups", func(t *testing.T) {
		var got api.AnimalGroupView
		h.do("GET", "/v1/animal-groups/"+g.ID, h.vet, nil).expect(t, 200).JSON(t, &got)
		checkFlock(t, got, body, 398000000000702)
		h.do("GET", "/v1/animal-groups/"+g.ID, h.farmer, nil).expect(t, 200)
		h.do("GET", "/v1/animal-groups/"+g.ID, h.korday, nil).expectProblem(t, 404)
		h.do("GET", "/v1/animal-groups/"+g.ID, h.farmer2, nil).expectProblem(t, 404)
		var tag api.TagView
		h.do("GET", "/v1/tags/398000000000900", h.vet, nil).expect(t, 200).JSON(t, &tag)
		if tag.Status != "fitted" {
			t.Errorf("a number of the flock is %s", tag.Status)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		snap := h.records()
		h.do("POST", "/v1/animal-groups", h.farmer, h.flock("398000000000100", 2)).expectProblem(t, 403)
		h.do("POST", "/v1/animal-groups", h.korday, h.flock("398000000000100", 2)).expectProblem(t, 422)
		p := h.do("POST", "/v1/animal-groups", h.vet, h.flock("398000000000100", 501)).expectProblem(t, 422)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.animals" {
			t.Errorf("501 animals: %+v", p)
		}
		other := h.flock("398000000000100", 2)
		other["id"] = body["id"]
		h.do("POST", "/v1/animal-groups", h.vet, other).expectProblem(t, 409)
		if h.records() != snap {
			t.Error("a refused group wrote")
		}
	})
}

// TestAnimalGroupOffline: the same flock identified on a tablet offline and pushed as one
// animal.identify_group mutation: the push answers the group record with each animal's result,
// the tablet's pull brings the animals, their passports and the group, and a repeated push writes
// nothing.
func TestAnimalGroupOffline(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	h.allocate(bayzakKato, "398000000200001", 299)
	body := h.flock("398000000200001", 300)
	id := body["id"]
	delete(body, "id")
	m := map[string]any{"id": uuid.NewString(), "kind": "animal.identify_group", "record_id": id,
		"at": h.clock.Now().Add(-2 * time.Hour).Format(time.RFC3339), "data": body}
	res := h.push(h.vet, m)
	if len(res) != 1 || res[0].Status != "applied" || res[0].Record == nil || res[0].Record.Collection != "animal_groups" {
		t.Fatalf("push answered %+v", res)
	}
	var g api.AnimalGroupView
	if err := jsonOf(res[0].Record.Data, &g); err != nil {
		t.Fatal(err)
	}
	checkFlock(t, g, body, 398000000200001)
	after := h.records()
	if again := h.push(h.vet, m); len(again) != 1 || again[0].Status != "applied" {
		t.Errorf("a repeated push: %+v", again)
	}
	if now := h.records(); now != after {
		t.Errorf("the repeated push wrote:\n%s\nthen\n%s", after, now)
	}
	// The same group sent again under a new mutation id (the tablet lost its queue's answers):
	// answered by the stored group, nothing written.
	m2 := map[string]any{"id": uuid.NewString(), "kind": "animal.identify_group", "record_id": id, "data": body}
	if again := h.push(h.vet, m2); len(again) != 1 || again[0].Status != "applied" {
		t.Errorf("the group pushed again: %+v", again)
	}
	if now := h.records(); countIn(now, "c_animals") != countIn(after, "c_animals") || countIn(now, "c_documents") != countIn(after, "c_documents") {
		t.Errorf("the group pushed again stored animals or papers:\n%s\nthen\n%s", after, now)
	}
	// A farmer's push is rejected.
	fm := map[string]any{"id": uuid.NewString(), "kind": "animal.identify_group", "record_id": uuid.NewString(),
		"data": h.flock("398000000000001", 1)}
	delete(fm["data"].(map[string]any), "id")
	if r := h.push(h.farmer, fm); len(r) != 1 || r[0].Status != "rejected" || r[0].Problem.Status != 403 {
		t.Errorf("a farmer's group: %+v", r)
	}

	pulled := map[string]int{}
	for _, it := range h.pullAll(h.vet) {
		pulled[it.Collection]++
	}
	if pulled["animals"] != 299 || pulled["animal_groups"] != 1 || pulled["documents"] < 299 {
		t.Errorf("the tablet pulled %v", pulled)
	}
}

// pull2All pulls everything in the caller's scope in format 2 from no checkpoint, once the
// projector has filed every write in the snapshot index, as a tablet's first sync reads it.
func (h *herd) pull2All(token string) []vsync.Record {
	h.t.Helper()
	if err := h.app.Sync.ProjectAll(h.t.Context()); err != nil {
		h.t.Fatal(err)
	}
	var records []vsync.Record
	checkpoint := ""
	for range 100 {
		var page vsync.Page
		h.do("GET", "/v1/sync/pull?format=2&limit=1000&checkpoint="+url.QueryEscape(checkpoint), token, nil, "X-Device-ID", "tab-group").
			expect(h.t, 200).JSON(h.t, &page)
		if err := page.Each(func(r vsync.Record) error { records = append(records, r); return nil }); err != nil {
			h.t.Fatal(err)
		}
		checkpoint = page.Checkpoint
		if !page.More {
			return records
		}
	}
	h.t.Fatal("the pull never ended")
	return nil
}

func jsonOf(data []byte, v any) error { return json.Unmarshal(data, v) }

// pullAll pulls everything in the caller's scope from no checkpoint, page after page.
func (h *herd) pullAll(token string) []vsync.Item {
	h.t.Helper()
	var items []vsync.Item
	checkpoint := ""
	for range 100 {
		var page vsync.PullResult
		h.do("GET", "/v1/sync/pull?limit=1000&checkpoint="+url.QueryEscape(checkpoint), token, nil, "X-Device-ID", "tab-group").
			expect(h.t, 200).JSON(h.t, &page)
		items = append(items, page.Items...)
		checkpoint = page.Checkpoint
		if !page.More {
			return items
		}
	}
	h.t.Fatal("the pull never ended")
	return nil
}
