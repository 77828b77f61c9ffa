package api_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain/documents"
	vsync "github.com/vetfield/vetfield/sync"
)

// update rewrites the golden files instead of comparing with them: go test ./api -run Golden -update.
var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

var (
	uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	hexPattern  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// opaqueKeys hold values a client must treat as opaque and that differ on every run (signed tokens,
// cursors, hashes over random ids); the golden file keeps only that they are present and strings.
var opaqueKeys = map[string]bool{
	"access_token": true, "refresh_token": true, "token": true, "checkpoint": true, "next_cursor": true,
	"content_hash": true, "key_id": true, "kid": true, "create_hash": true, "qr_url": true, "verify_url": true,
}

// goldenJSON pins a JSON answer a tablet depends on: its keys, their nesting and types, and every
// value that is deterministic under the test's frozen clock. Ids become <id-1>, <id-2>, … in order of
// first appearance, so which record refers to which stays pinned; opaque values become <key>.
// A renamed or dropped JSON tag fails the comparison.
func goldenJSON(t *testing.T, name string, body []byte) {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", name, err, body)
	}
	n := &normaliser{ids: map[string]string{}}
	v = n.value("", v)
	var got bytes.Buffer
	enc := json.NewEncoder(&got)
	enc.SetEscapeHTML(false) // keep <id-1> readable in the file
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	golden(t, name+".json", got.Bytes())
}

// golden compares got with testdata/golden/name, or writes it there under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./api -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from its golden file (if the change is meant, rerun with -update and review the diff):\n%s",
			name, lineDiff(string(want), string(got)))
	}
}

type normaliser struct {
	ids map[string]string
}

func (n *normaliser) value(key string, v any) any {
	switch v := v.(type) {
	case map[string]any:
		// Keys in order, so ids are numbered the same way on every run.
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make(map[string]any, len(v))
		for _, k := range keys {
			out[k] = n.value(k, v[k])
		}
		return out
	case []any:
		for i, x := range v {
			v[i] = n.value(key, x)
		}
		return v
	case string:
		switch {
		case opaqueKeys[key] && v != "":
			return "<" + key + ">"
		case uuidPattern.MatchString(v):
			if _, ok := n.ids[v]; !ok {
				n.ids[v] = fmt.Sprintf("<id-%d>", len(n.ids)+1)
			}
			return n.ids[v]
		case hexPattern.MatchString(v):
			return "<sha256>"
		}
		return n.idsIn(v)
	}
	return v
}

// idsIn replaces ids inside a longer string (a path, a Location) by their placeholders.
func (n *normaliser) idsIn(s string) string {
	return uuidInText.ReplaceAllStringFunc(s, func(id string) string {
		if _, ok := n.ids[id]; !ok {
			n.ids[id] = fmt.Sprintf("<id-%d>", len(n.ids)+1)
		}
		return n.ids[id]
	})
}

var uuidInText = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// lineDiff shows the lines of want and got that differ, with their numbers.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 40; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d\n  want: %s\n   got: %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

// TestGoldenWire pins the JSON tablets and scripts depend on: the main API answers, the problem
// bodies, a pull page with one item of every synced collection, and a push answer.
func TestGoldenWire(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	answer := func(name string, r response) {
		t.Helper()
		goldenJSON(t, name, r.Body)
	}

	answer("login", h.do("POST", "/v1/auth/login", "", map[string]any{"username": "vet.bayzak", "password": "long-enough-1"}).expect(t, 200))
	answer("me", h.do("GET", "/v1/me", h.vet, nil).expect(t, 200))

	cow := h.cow("398000000000001")
	cow["id"] = "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e01"
	var animal struct {
		ID string `json:"id"`
	}
	r := h.do("POST", "/v1/animals", h.vet2, cow).expect(t, 201)
	r.JSON(t, &animal)
	answer("animal_identify", r)
	answer("animal_get", h.do("GET", "/v1/animals/"+animal.ID, h.vet, nil).expect(t, 200))
	answer("animal_list", h.do("GET", "/v1/animals?holding="+h.holding.ID, h.vet, nil).expect(t, 200))
	answer("animal_events", h.do("GET", "/v1/animals/"+animal.ID+"/events", h.vet, nil).expect(t, 200))
	answer("holding_get", h.do("GET", "/v1/holdings/"+h.holding.ID, h.vet, nil).expect(t, 200))
	answer("tag_get", h.do("GET", "/v1/tags/398000000000001", h.vet, nil).expect(t, 200))

	ref := h.refBody("398000000000001")
	ref["id"] = "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e02"
	answer("reference_issue", h.do("POST", "/v1/references", h.vet2, ref).expect(t, 201))
	// A sale to a Korday holding, in transit: the movement's shape.
	cow2 := h.cow("398000000000003")
	cow2["id"] = "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e13"
	h.do("POST", "/v1/animals", h.vet2, cow2).expect(t, 201)
	ref2 := h.refBody("398000000000003")
	ref2["id"] = "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e14"
	h.do("POST", "/v1/references", h.vet2, ref2).expect(t, 201)
	var to struct {
		ID string `json:"id"`
	}
	h.do("POST", "/v1/holdings", h.korday, map[string]any{"kind": "farm", "name": "Қордай-Агро", "owner_iin": otherIIN,
		"owner_name": "Әсел Нұрланқызы", "address": "Қордай ауылы", "territory": kordayKato}).expect(t, 201).JSON(t, &to)
	answer("movement_dispatch", h.do("POST", "/v1/movements", h.farmer, map[string]any{"id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e15",
		"animals": []map[string]any{{"tag": "398000000000003"}}, "from_holding_id": h.holding.ID, "to_holding_id": to.ID,
		"reference_id": ref2["id"]}).expect(t, 201))
	answer("restriction_declare", h.do("POST", "/v1/restrictions", h.admin, map[string]any{"kind": "quarantine",
		"disease": "fmd", "territory": kordayKato, "decision": map[string]any{"number": "12-Қ", "date": "2026-03-19"}}).expect(t, 201))
	answer("territory_get", h.do("GET", "/v1/territories/"+bayzakKato, h.vet, nil).expect(t, 200))

	// Problems: each kind of refusal has one shape.
	answer("problem_not_found", h.do("GET", "/v1/animals/0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9eff", h.vet, nil).expect(t, 404))
	answer("problem_unauthorized", h.do("GET", "/v1/me", "", nil).expect(t, 401))
	answer("problem_forbidden", h.do("POST", "/v1/restrictions", h.vet, map[string]any{"kind": "quarantine",
		"disease": "fmd", "territory": bayzakKato, "decision": map[string]any{"number": "1", "date": "2026-03-19"}}).expect(t, 403))
	bad := h.cow("398000000000002")
	bad["id"] = "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e03"
	bad["sex"] = "other"
	answer("problem_invalid", h.do("POST", "/v1/animals", h.vet2, bad).expect(t, 422))
	short := h.cow("39800000000000")
	short["id"] = "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e08"
	answer("problem_invalid_domain", h.do("POST", "/v1/animals", h.vet2, short).expect(t, 422))
	taken := h.cow("398000000000001")
	taken["id"] = "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e04"
	answer("problem_conflict", h.do("POST", "/v1/animals", h.vet2, taken).expect(t, 409))

	// A record of every other synced collection, so the pull below pins each one's shape.
	h.do("POST", "/v1/animals/"+animal.ID+"/tag-loss", h.farmer, map[string]any{"id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e10",
		"kind": "lost"}).expect(t, 201)
	h.do("POST", "/v1/reference-applications", h.farmer, map[string]any{"id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e11",
		"holding_id": h.holding.ID, "animal_ids": []string{animal.ID}, "purpose": "movement", "destination": "Жуалы ауданы, жайлау"}).expect(t, 201)
	var object struct {
		ID string `json:"id"`
	}
	h.do("POST", "/v1/objects", h.admin, map[string]any{"id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e12", "kind": "farm", "name": "Береке",
		"owner_iin": ownerIIN, "address": "Сарыкемер ауылы", "territory": bayzakRural}).expect(t, 201).JSON(t, &object)
	h.do("POST", "/v1/inspections", h.admin, map[string]any{"object_id": object.ID, "documents": []string{"өтініш"}}).expect(t, 201)
	h.do("PUT", "/v1/calendar/2026", h.admin, map[string]any{"kurban_ait": "2026-05-27", "transfers": []map[string]any{}}, "If-Match", `"0"`).expect(t, 200)
	// Vaccinations, diagnostic tests and plans (package health): group answers, a result, a plan's progress.
	answer("vaccination_record", h.do("POST", "/v1/vaccinations", h.vet, map[string]any{"id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e13",
		"holding_id": h.holding.ID, "disease": "anthrax", "vaccine": "55-ВНИИВВиМ", "series": "С-17-2026", "dose": "1 мл",
		"date": "2026-03-19", "animals": []map[string]any{{"id": animal.ID}, {"tag": "398000000000999"}}}).expect(t, 201))
	h.do("POST", "/v1/diagnostic-tests", h.vet, map[string]any{"id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e14", "holding_id": h.holding.ID,
		"disease": "brucellosis", "method": "rbt", "sampled_on": "2026-03-18", "animals": []map[string]any{{"id": animal.ID}}}).expect(t, 201)
	answer("diagnostic_test_result", h.do("POST", "/v1/diagnostic-tests/0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e14/results", h.vet,
		map[string]any{"id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e15", "laboratory": "Жамбыл облыстық ветеринариялық зертханасы",
			"act": "245-Б", "act_date": "2026-03-20", "animals": []map[string]any{{"id": animal.ID, "result": "negative"}}}).expect(t, 200))
	h.do("POST", "/v1/plans", h.admin, map[string]any{"id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e16", "territory": "310000000",
		"title": "2026 жылғы жоспар", "decision": "Әкімдіктің 2026 жылғы 15 қаңтардағы № 12 қаулысы", "from": "2026-01-01",
		"to": "2026-12-31", "items": []map[string]any{{"measure": "vaccination", "disease": "anthrax", "species": "cattle"}}}).expect(t, 201)
	answer("plan_progress", h.do("GET", "/v1/plans/0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e16/progress", h.admin, nil).expect(t, 200))

	// Sync: a pull page holding the first item of every synced collection the admin's tablet gets,
	// and a push answer with each result status.
	var page struct {
		Items []json.RawMessage `json:"items"`
	}
	pull := h.do("GET", "/v1/sync/pull?limit=1000", h.admin, nil, "X-Device-ID", "golden").expect(t, 200)
	pull.JSON(t, &page)
	firsts := map[string]json.RawMessage{}
	for _, it := range page.Items {
		var head struct {
			Collection string `json:"collection"`
		}
		json.Unmarshal(it, &head)
		if _, ok := firsts[head.Collection]; !ok {
			firsts[head.Collection] = it
		}
	}
	names := make([]string, 0, len(firsts))
	for c := range firsts {
		names = append(names, c)
	}
	sort.Strings(names)
	for _, c := range names {
		answer("pull_item_"+c, response{Body: firsts[c]})
	}
	// Format 2: a first page of a vet's first pull, read from the snapshot index (reference data
	// first), and a document as format 2 carries it.
	if err := h.app.Sync.ProjectAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	answer("pull2_page", h.do("GET", "/v1/sync/pull?format=2&limit=2", h.vet, nil, "X-Device-ID", "golden").expect(t, 200))
	var page2 vsync.Page
	h.do("GET", "/v1/sync/pull?format=2&limit=5000", h.vet, nil, "X-Device-ID", "golden").expect(t, 200).JSON(t, &page2)
	for _, raw := range page2.Records {
		var rec [4]json.RawMessage
		var coll int
		json.Unmarshal(raw, &rec)
		json.Unmarshal(rec[0], &coll)
		if page2.Collections[coll] == documents.DocumentsSpec.Name {
			answer("pull2_record_documents", response{Body: raw})
			break
		}
	}
	answer("push", h.do("POST", "/v1/sync/push", h.vet, map[string]any{"mutations": []map[string]any{
		{"id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e05", "kind": "animal.update", "record_id": animal.ID, "base_version": 2,
			"at": "2026-03-20T14:00:00+05:00", "data": map[string]any{"colour": "қара-ала"}},
		{"id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e06", "kind": "animal.update", "record_id": animal.ID, "base_version": 1,
			"at": "2026-03-20T14:01:00+05:00", "data": map[string]any{"colour": "ақ"}},
		{"id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e07", "kind": "nonsense", "record_id": "x"},
		{"id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e09", "kind": "animal.identify", "record_id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e0a",
			"at": "2026-03-20T14:02:00+05:00", "data": map[string]any{"holding_id": h.holding.ID, "species": "cattle", "sex": "female",
				"birth_date": "2025-04-02", "breed": "Әулиеата", "colour": "қызыл",
				"identifiers": []map[string]any{{"means": "ear_tag", "number": "39800000000000"}}}},
		{"id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e0b", "kind": "animal.update", "record_id": animal.ID, "base_version": 2,
			"at": "2026-03-20T14:03:00+05:00", "data": map[string]any{"sex": "other"}},
		{"id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e0c", "kind": "holding.create", "record_id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e0d",
			"at": "2026-03-20T14:04:00+05:00", "data": map[string]any{"id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e0e", "kind": "farm"}},
	}}, "X-Device-ID", "golden").expect(t, 200))

	var doc map[string]any
	h.do("GET", "/openapi.json", "", nil).expect(t, 200).JSON(t, &doc)
	push := doc["paths"].(map[string]any)["/v1/sync/push"].(map[string]any)["post"].(map[string]any)
	kinds, _ := json.Marshal(push["x-mutation-kinds"])
	goldenJSON(t, "push_kinds", kinds)
}

// TestEverySyncedCollectionHasAView: a synced collection without a view would send tablets its
// stored JSON, bookkeeping included.
func TestEverySyncedCollectionHasAView(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range vetfield.Collections {
		if c.Synced && e.app.Sync.Views[c.Name] == nil {
			t.Errorf("synced collection %q has no view for the wire", c.Name)
		}
	}
}

// TestEveryListRefusesAForeignCursor walks the OpenAPI description: every list that pages with a
// cursor answers a cursor it never gave with 422 naming query.cursor, in the one problem shape.
func TestEveryListRefusesAForeignCursor(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string } `json:"parameters"`
		} `json:"paths"`
	}
	h.do("GET", "/openapi.json", "", nil).expect(t, 200).JSON(t, &doc)
	a := h.identify(h.vet2, h.cow("398000000000001"))
	// Lists that take a path id or a required filter are given one.
	urls := map[string]string{"/v1/animals/{id}/events": "/v1/animals/" + a.ID + "/events",
		"/v1/documents": "/v1/documents?subject=" + a.ID, "/v1/reference-applications": "/v1/reference-applications?status=pending"}
	lists := 0
	for path, ops := range doc.Paths {
		op, ok := ops["get"]
		if !ok {
			continue
		}
		pages := false
		for _, p := range op.Parameters {
			pages = pages || (p.Name == "cursor" && p.In == "query")
		}
		if !pages {
			continue
		}
		url, given := urls[path]
		if !given {
			url = path
		}
		if strings.Contains(url, "{") {
			t.Logf("GET %s not tried: give it an id above", path)
			continue
		}
		lists++
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		r := h.do("GET", url+sep+"cursor=bm90LWEtY3Vyc29y", h.admin, nil)
		p := r.expectProblem(t, 422)
		if len(p.Errors) != 1 || p.Errors[0].Location != "query.cursor" {
			t.Errorf("GET %s with a foreign cursor: %+v", path, p)
		}
	}
	if lists < 10 {
		t.Errorf("only %d lists found in the OpenAPI description", lists)
	}
}

// TestRouteTable keeps api/ROUTES.md, every operation with its access and handler in one place,
// true: a route added, moved or opened to another role changes the file (go test ./api -run
// RouteTable -update rewrites it).
func TestRouteTable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var b strings.Builder
	b.WriteString("# Routes\n\nEvery operation of the server, in the order `api/server.go` registers them: who may call it and\n" +
		"the handler (a method of `api.Server`) that answers it. The request and answer shapes are in `/openapi.json`\n" +
		"(readable at `/docs`). Generated by `go test ./api -run RouteTable -update`; a test fails when it is stale.\n\n" +
		"| method | path | access | handler | what it does |\n|---|---|---|---|---|\n")
	for _, r := range e.srv.Routes() {
		fmt.Fprintf(&b, "| %s | `%s` | %s | `%s` | %s |\n", r.Method, r.Path, r.Access, r.Handler, r.Summary)
	}
	const path = "ROUTES.md"
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != b.String() {
		t.Errorf("api/ROUTES.md is stale (rerun with -update):\n%s", lineDiff(string(want), b.String()))
	}
}

// TestDocumentTypesFromTheDomain: the type filter of /v1/documents takes the domain's document
// types, lists them in the description, and refuses another in the one problem shape.
func TestDocumentTypesFromTheDomain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.do("GET", "/v1/documents?subject=x&type=bogus", e.admin, nil).expectProblem(t, 422)
	if len(p.Errors) != 1 || p.Errors[0].Location != "query.type" {
		t.Errorf("an unknown type answers %+v", p)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name   string `json:"name"`
				Schema struct {
					Enum []string `json:"enum"`
				} `json:"schema"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	e.do("GET", "/openapi.json", "", nil).expect(t, 200).JSON(t, &doc)
	for _, prm := range doc.Paths["/v1/documents"]["get"].Parameters {
		if prm.Name == "type" && len(prm.Schema.Enum) != len(documents.DocTypes) {
			t.Errorf("the description lists %v, the domain %v", prm.Schema.Enum, documents.DocTypes)
		}
	}
}

// TestProblemsEchoNothing: a refused body is never answered back — not a password in a malformed
// login, not a megabyte of garbage — and no answer speaks of Go types.
func TestProblemsEchoNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := map[string]string{
		"MalformedLogin": `{"username":"admin","password":"very-secret-pw`,
		"WrongType":      `{"username":"admin","password":12}`,
		"Garbage":        `{"username":"` + strings.Repeat("x", 900<<10),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.do("POST", "/v1/auth/login", "", []byte(body), "Content-Type", "application/json")
			if r.Status != 400 && r.Status != 422 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			r.expectProblem(t, r.Status)
			text := string(r.Body)
			for _, leak := range []string{"very-secret-pw", "Go struct", "Go value", "json:", "xxxxxxxx", `"value"`} {
				if strings.Contains(text, leak) {
					t.Errorf("the problem carries %q: %.300s", leak, text)
				}
			}
			if len(r.Body) > 2048 {
				t.Errorf("a %d-byte body answered with %d bytes", len(body), len(r.Body))
			}
		})
	}
	// An overflowing number.
	r := e.do("POST", "/v1/sync/push", e.admin, []byte(`{"mutations":[{"id":"a","kind":"x","record_id":"y","base_version":99999999999999999999999}]}`),
		"Content-Type", "application/json")
	if strings.Contains(string(r.Body), "Go struct") || strings.Contains(string(r.Body), "int64") {
		t.Errorf("an overflowing number answers Go text: %s", r.Body)
	}
}

// TestSecurityHeaders: every answer is nosniff with no referrer; every HTML page forbids scripts
// and framing.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	a := h.identify(h.vet2, h.cow("398000000000001"))
	for path, html := range map[string]bool{
		"/v/" + a.Passport.Token:                    true,
		"/v1/documents/" + a.Passport.ID + "/print": true,
		"/docs":       true,
		"/v1/me":      false,
		"/v1/nowhere": false,
	} {
		r := h.do("GET", path, h.vet, nil)
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s: %v", path, r.Header)
		}
		csp := r.Header.Get("Content-Security-Policy")
		if html && (!strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") ||
			r.Header.Get("X-Frame-Options") != "DENY") {
			t.Errorf("GET %s (%s): CSP %q", path, r.Header.Get("Content-Type"), csp)
		}
	}
}

// TestMetricsSurviveTraffic: after a thousand requests of every method on many routes, /metrics
// still answers, and its labels are only the methods served (made-up ones count as OTHER).
func TestMetricsSurviveTraffic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	client := &http.Client{Timeout: 5 * time.Second}
	methods := []string{"GET", "POST", "DELETE", "HEAD", "PATCH", "PUT", "OPTIONS", "DEL", "HEADH", "PROPFIND"}
	paths := []string{"/v1/me", "/v1/animals", "/livez", "/v1/nowhere/x", "/v1/documents/abc", "/v1/holdings?owner=1"}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 125 {
				req, _ := http.NewRequest(methods[(i+w)%len(methods)], e.base+paths[(i*7+w)%len(paths)], strings.NewReader("{}"))
				req.Header.Set("Authorization", "Bearer "+e.admin)
				if resp, err := client.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	for range 3 {
		for _, line := range strings.Split(e.metrics(), "\n") {
			if !strings.HasPrefix(line, "vetfield_http_requests_total{") {
				continue
			}
			_, rest, _ := strings.Cut(line, `method="`)
			m, _, _ := strings.Cut(rest, `"`)
			switch m {
			case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER":
			default:
				t.Errorf("a series with method %q: %s", m, line)
			}
		}
	}
}
