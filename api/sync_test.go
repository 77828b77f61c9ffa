package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/klauspost/compress/zstd"

	"github.com/vetfield/vetfield/domain"
	vsync "github.com/vetfield/vetfield/sync"
)

func TestSyncAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createUser(map[string]any{"username": "vet.bayzak", "password": "vet-password-1", "role": "vet", "territory": "313200000"})
	e.createUser(map[string]any{"username": "vet.shu", "password": "vet-password-1", "role": "vet", "territory": "314000000"})
	vet := e.login("vet.bayzak", "vet-password-1").AccessToken
	doc := e.issuePassport("880101300123")

	var page vsync.PullResult
	r := e.do("GET", "/v1/sync/pull?limit=100", vet, nil, "X-Device-ID", "tablet-7", "Accept-Encoding", "gzip")
	r.expect(t, 200)
	if r.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("a pull is not compressed for a client that accepts gzip: %q", r.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(zr).Decode(&page); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, it := range page.Items {
		found = found || it.ID == doc.ID
	}
	if !found || page.Checkpoint == "" || page.More {
		t.Fatalf("pull: %+v", page)
	}
	e.do("GET", "/v1/sync/pull?checkpoint=%%%", vet, nil).expectProblem(t, 422)
	e.do("GET", "/v1/sync/pull?limit=6000", vet, nil).expectProblem(t, 422)
	e.do("GET", "/v1/sync/pull", "", nil).expectProblem(t, 401)

	t.Run("Push", func(t *testing.T) {
		var ans struct {
			Results []struct {
				MutationID string `json:"mutation_id"`
				Status     string `json:"status"`
				Problem    *problem
			} `json:"results"`
		}
		body := map[string]any{"mutations": []map[string]any{
			{"id": "a", "kind": "document.revoke", "record_id": doc.ID, "base_version": 1, "data": map[string]string{"reason": "died"}},
			{"id": "b", "kind": "nonsense", "record_id": "x"},
		}}
		e.do("POST", "/v1/sync/push", vet, body, "X-Device-ID", "tablet-7").expect(t, 200).JSON(t, &ans)
		if len(ans.Results) != 2 || ans.Results[0].Status != "applied" || ans.Results[1].Status != "rejected" ||
			ans.Results[1].Problem == nil || ans.Results[1].Problem.Status != 422 {
			t.Fatalf("push answered %+v", ans)
		}
		big := `{"mutations":[{"id":"c","kind":"document.revoke","record_id":"x","data":{"reason":"` + strings.Repeat("x", 1<<20) + `"}}]}`
		e.do("POST", "/v1/sync/push", vet, big).expectProblem(t, 413)
	})

	t.Run("Devices", func(t *testing.T) {
		var devs struct {
			Items []vsync.DeviceStatus `json:"items"`
		}
		e.do("GET", "/v1/devices", e.admin, nil).expect(t, 200).JSON(t, &devs)
		if len(devs.Items) != 1 || devs.Items[0].DeviceID != "tablet-7" || devs.Items[0].Username != "vet.bayzak" ||
			devs.Items[0].Pulls != 1 || devs.Items[0].Pushes != 1 || devs.Items[0].LastPullAt.IsZero() {
			t.Fatalf("devices: %+v", devs.Items)
		}
		// The revoke since the pull put the tablet behind.
		if devs.Items[0].Behind < 1 {
			t.Errorf("behind = %d after a write since its pull", devs.Items[0].Behind)
		}
		// A vet of another district does not see this tablet; a farmer may not ask.
		other := e.login("vet.shu", "vet-password-1").AccessToken
		e.do("GET", "/v1/devices", other, nil).expect(t, 200).JSON(t, &devs)
		if len(devs.Items) != 0 {
			t.Errorf("another district sees %d devices", len(devs.Items))
		}
	})
}

// TestSyncAnimalsOffline: a vet identifies animals offline and corrects one; the push applies
// them once, a second tablet's stale correction loses and is kept for a supervisor, and the pull
// brings the animals and their passports.
func TestSyncAnimalsOffline(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	cow := h.cow("398000000000007")
	animalID := cow["id"].(string)
	delete(cow, "id")
	push := func(token, device string, muts ...map[string]any) []struct {
		MutationID string          `json:"mutation_id"`
		Status     string          `json:"status"`
		Record     *vsync.Item     `json:"record"`
		Problem    json.RawMessage `json:"problem"`
	} {
		var ans struct {
			Results []struct {
				MutationID string          `json:"mutation_id"`
				Status     string          `json:"status"`
				Record     *vsync.Item     `json:"record"`
				Problem    json.RawMessage `json:"problem"`
			} `json:"results"`
		}
		h.do("POST", "/v1/sync/push", token, map[string]any{"mutations": muts}, "X-Device-ID", device).expect(t, 200).JSON(t, &ans)
		return ans.Results
	}
	m1, m2, m3, m4 := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	identify := map[string]any{"id": m1, "kind": "animal.identify", "record_id": animalID, "data": cow}
	bad := map[string]any{"id": m2, "kind": "animal.identify", "record_id": "01a20000-0000-7000-8000-000000000002",
		"data": map[string]any{"holding_id": h.holding.ID, "species": "unicorn"}}
	fix := map[string]any{"id": m3, "kind": "animal.update", "record_id": animalID, "base_version": 1,
		"data": map[string]any{"colour": "ала"}}
	res := push(h.vet, "tab-1", identify, bad, fix)
	if res[0].Status != "applied" || res[1].Status != "rejected" || res[2].Status != "applied" {
		t.Fatalf("push: %+v", res)
	}
	// The same batch again, as after a lost answer: same results, nothing written twice.
	before := h.lastSeq()
	again := push(h.vet, "tab-1", identify, bad, fix)
	for i := range res {
		if again[i].Status != res[i].Status {
			t.Errorf("repeat of %s: %s, first %s", res[i].MutationID, again[i].Status, res[i].Status)
		}
	}
	if after := h.lastSeq(); after != before {
		t.Errorf("the repeated push wrote %d log entries", after-before)
	}
	// Another tablet corrected the same animal from version 1 too: it loses, and its change waits.
	stale := map[string]any{"id": m4, "kind": "animal.update", "record_id": animalID, "base_version": 1,
		"data": map[string]any{"colour": "қара"}}
	res = push(h.vet2, "tab-2", stale)
	if res[0].Status != "conflict" || res[0].Record == nil || !strings.Contains(string(res[0].Record.Data), "ала") {
		t.Fatalf("stale update: %+v", res)
	}
	var devs struct {
		Items []vsync.DeviceStatus `json:"items"`
	}
	h.do("GET", "/v1/devices", h.admin, nil).expect(t, 200).JSON(t, &devs)
	conflicts := 0
	for _, d := range devs.Items {
		if d.DeviceID == "tab-2" {
			conflicts = d.Conflicts
		}
	}
	if conflicts != 1 {
		t.Errorf("tab-2 has %d open conflicts, want 1", conflicts)
	}
	// The pull brings the animal, at its latest version, and its passport.
	var page vsync.PullResult
	h.do("GET", "/v1/sync/pull?limit=1000", h.vet, nil).expect(t, 200).JSON(t, &page)
	var gotAnimal, gotPassport bool
	for _, it := range page.Items {
		if it.Collection == "animals" && it.ID == animalID && it.Version == 2 {
			gotAnimal = true
		}
		if it.Collection == "documents" && strings.Contains(string(it.Data), animalID) {
			gotPassport = true
		}
	}
	if !gotAnimal || !gotPassport {
		t.Errorf("pull: animal %v, passport %v", gotAnimal, gotPassport)
	}
	// The farmer who owns it pulls it too; a vet of Korday does not.
	h.do("GET", "/v1/sync/pull?limit=1000", h.farmer, nil).expect(t, 200).JSON(t, &page)
	if !containsID(page.Items, animalID) {
		t.Error("the owner's pull lacks the animal")
	}
	h.do("GET", "/v1/sync/pull?limit=1000", h.korday, nil).expect(t, 200).JSON(t, &page)
	if containsID(page.Items, animalID) {
		t.Error("a vet of another district pulled the animal")
	}
}

func containsID(items []vsync.Item, id string) bool {
	for _, it := range items {
		if it.ID == id && !it.Deleted {
			return true
		}
	}
	return false
}

// TestSyncPushRefusals: a push cannot reach a document outside the caller's scope, and a
// refusal names the field at fault without a word of Go.
func TestSyncPushRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createUser(map[string]any{"username": "neighbour", "password": "farmer-password", "role": "farmer", "iin": "781214200010"})
	farmer := e.login("neighbour", "farmer-password").AccessToken
	doc := e.issuePassport("880101300123") // someone else's animal
	var ans struct {
		Results []struct {
			Status  string   `json:"status"`
			Problem *problem `json:"problem"`
		} `json:"results"`
	}
	body := map[string]any{"mutations": []map[string]any{
		{"id": uuid.NewString(), "kind": "document.revoke", "record_id": doc.ID, "base_version": 7, "data": map[string]string{"reason": "x"}},
		{"id": uuid.NewString(), "kind": "animal.update", "record_id": uuid.NewString(), "base_version": 1, "data": map[string]any{"colour": 5}},
		{"id": uuid.NewString(), "kind": "animal.update", "record_id": uuid.NewString(), "base_version": 1, "data": map[string]any{"horns": "long"}},
	}}
	r := e.do("POST", "/v1/sync/push", farmer, body, "X-Device-ID", "phone")
	r.expect(t, 200).JSON(t, &ans)
	if got := ans.Results[0]; got.Status != "rejected" || got.Problem == nil || got.Problem.Status != 404 {
		t.Errorf("revoking another's document: %+v", got)
	}
	for i, field := range map[int]string{1: "data.colour", 2: "data.horns"} {
		got := ans.Results[i]
		if got.Status != "rejected" || got.Problem == nil || len(got.Problem.Errors) == 0 || got.Problem.Errors[0].Location != field {
			t.Errorf("mutation %d: %+v, want a problem naming %s", i, got, field)
		}
	}
	if strings.Contains(string(r.Body), "Go struct") || strings.Contains(string(r.Body), "domain.") {
		t.Errorf("a refusal speaks Go: %s", r.Body)
	}
	// The stale base_version did not earn the probe a conflict record about a paper it may not see.
	open, err := e.store.List(t.Context(), vsync.ConflictsSpec.Name, domain.Query{Index: "sync_conflicts_open", Eq: []any{false}})
	if err != nil || len(open.Records) != 0 {
		t.Errorf("conflict records after refused pushes: %d (%v)", len(open.Records), err)
	}
	if v, _ := e.srv.Documents.Get(t.Context(), doc.ID); v.Status != "valid" {
		t.Errorf("the document became %s", v.Status)
	}
}

// TestSyncPushPermissionBeforeConflict: a farmer who may see their passport but not revoke it
// gets 403 for a stale base_version too, and the supervisors' queue of conflicts stays empty.
func TestSyncPushPermissionBeforeConflict(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createUser(map[string]any{"username": "owner", "password": "farmer-password", "role": "farmer", "iin": "880101300123"})
	farmer := e.login("owner", "farmer-password").AccessToken
	doc := e.issuePassport("880101300123") // the farmer's own animal
	var ans struct {
		Results []struct {
			Status  string   `json:"status"`
			Problem *problem `json:"problem"`
		} `json:"results"`
	}
	e.do("POST", "/v1/sync/push", farmer, map[string]any{"mutations": []map[string]any{
		{"id": uuid.NewString(), "kind": "document.revoke", "record_id": doc.ID, "base_version": 7, "data": map[string]string{"reason": "x"}},
	}}, "X-Device-ID", "phone").expect(t, 200).JSON(t, &ans)
	if got := ans.Results[0]; got.Status != "rejected" || got.Problem == nil || got.Problem.Status != 403 {
		t.Errorf("a farmer revoking their own passport with a stale version: %+v", got)
	}
	open, err := e.store.List(t.Context(), vsync.ConflictsSpec.Name, domain.Query{Index: "sync_conflicts_open", Eq: []any{false}})
	if err != nil || len(open.Records) != 0 {
		t.Errorf("conflict records after a refused push: %d (%v)", len(open.Records), err)
	}
}

// TestPullFormat2: format 2 over HTTP — zstd for a client that takes it, gzip for one that takes
// only gzip, plain for one that takes neither, the same page each time; a first pull from the
// snapshot index that a format 1 pull cannot read on from; and a format that does not exist.
func TestPullFormat2(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createUser(map[string]any{"username": "vet.bayzak", "password": "vet-password-1", "role": "vet", "territory": "313200000"})
	vet := e.login("vet.bayzak", "vet-password-1").AccessToken
	var docs []string
	for range 3 {
		docs = append(docs, e.issuePassport("880101300123").ID)
	}
	if err := e.app.Sync.ProjectAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	decoded := map[string][]byte{}
	for _, enc := range []string{"zstd, gzip;q=0.5", "gzip", ""} {
		r := e.do("GET", "/v1/sync/pull?format=2&limit=5000", vet, nil, "Accept-Encoding", enc).expect(t, 200)
		got := r.Header.Get("Content-Encoding")
		var body []byte
		switch {
		case enc == "":
			if got != "" {
				t.Fatalf("a client that takes no encoding got %q", got)
			}
			body = r.Body
		case strings.HasPrefix(enc, "zstd"):
			if got != "zstd" {
				t.Fatalf("a client that takes zstd got %q", got)
			}
			dec, _ := zstd.NewReader(nil)
			var err error
			if body, err = dec.DecodeAll(r.Body, nil); err != nil {
				t.Fatal(err)
			}
		default:
			if got != "gzip" {
				t.Fatalf("a client that takes gzip got %q", got)
			}
			zr, err := gzip.NewReader(bytes.NewReader(r.Body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if r.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("a format 2 page does not vary by Accept-Encoding: %q", r.Header.Get("Vary"))
		}
		decoded[enc] = body
	}
	var page vsync.Page
	if err := json.Unmarshal(decoded[""], &page); err != nil {
		t.Fatal(err)
	}
	// The snapshot's pages end by handing over to the log, hence more.
	if first := page.Collections[0]; !page.More || page.Len() == 0 || (first != "calendar_years" && first != "territories") {
		t.Fatalf("the first page: more=%v, %d records, first %q", page.More, page.Len(), first)
	}
	var passports []string
	err := page.Each(func(r vsync.Record) error {
		if r.Collection == "documents" {
			passports = append(passports, r.ID)
			if bytes.Contains(r.Data, []byte(`"token"`)) || bytes.Contains(r.Data, []byte(`"content_hash"`)) ||
				bytes.Contains(r.Data, []byte(`"verify_url"`)) || !bytes.Contains(r.Data, []byte(`"number"`)) {
				t.Errorf("a document on a vet's tablet in format 2 is not its compact view: %s", r.Data)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(passports) != len(docs) {
		t.Fatalf("the first page holds %d documents, want %d", len(passports), len(docs))
	}
	if !strings.Contains(string(decoded["gzip"]), docs[0]) || string(decoded["gzip"]) != string(decoded[""]) {
		t.Fatal("the gzip page is not the same page")
	}

	// The farmer's own papers keep their QR codes: the farmer shows them.
	e.createUser(map[string]any{"username": "farmer", "password": "farmer-password-1", "role": "farmer", "iin": "880101300123"})
	farmer := e.login("farmer", "farmer-password-1").AccessToken
	var mine vsync.Page
	e.do("GET", "/v1/sync/pull?format=2&limit=5000", farmer, nil).expect(t, 200).JSON(t, &mine)
	theirs := 0
	mine.Each(func(r vsync.Record) error {
		if r.Collection == "documents" {
			theirs++
			if !bytes.Contains(r.Data, []byte(`"token"`)) || !bytes.Contains(r.Data, []byte(`"verify_url"`)) {
				t.Errorf("a farmer's paper came without its QR code: %s", r.Data)
			}
		}
		return nil
	})
	if theirs != len(docs) {
		t.Fatalf("the farmer pulled %d papers, want %d", theirs, len(docs))
	}

	// A format 1 pull cannot go on from a checkpoint inside the snapshot: it must start again.
	var first vsync.Page
	e.do("GET", "/v1/sync/pull?format=2&limit=2", vet, nil).expect(t, 200).JSON(t, &first)
	var res vsync.PullResult
	e.do("GET", "/v1/sync/pull?limit=10&checkpoint="+first.Checkpoint, vet, nil).expect(t, 200).JSON(t, &res)
	if !res.Resync {
		t.Fatal("a format 1 pull read on from a snapshot checkpoint")
	}
	for _, bad := range []string{"3", "0", "x"} {
		e.do("GET", "/v1/sync/pull?format="+bad, vet, nil).expectProblem(t, 422)
	}

	// A tablet that pulled to the end in format 2, through the snapshot and the log (a paper issued
	// since the index was filed), is behind by nothing until the next write.
	e.issuePassport("880101300123")
	behind := func() int {
		var devs struct {
			Items []vsync.DeviceStatus `json:"items"`
		}
		e.do("GET", "/v1/devices", e.admin, nil).expect(t, 200).JSON(t, &devs)
		for _, d := range devs.Items {
			if d.DeviceID == "tab-2" {
				return d.Behind
			}
		}
		t.Fatal("the tablet is not listed")
		return 0
	}
	for cp := ""; ; {
		var p vsync.Page
		e.do("GET", "/v1/sync/pull?format=2&limit=2&checkpoint="+cp, vet, nil, "X-Device-ID", "tab-2").expect(t, 200).JSON(t, &p)
		if cp = p.Checkpoint; !p.More {
			break
		}
	}
	if n := behind(); n != 0 {
		t.Fatalf("behind by %d after pulling to the end", n)
	}
	e.issuePassport("880101300123")
	if n := behind(); n < 1 {
		t.Fatalf("behind by %d after a write since the pull", n)
	}
}
