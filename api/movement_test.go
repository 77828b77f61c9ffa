package api_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/api"
	vsync "github.com/vetfield/vetfield/sync"
)

// tablet is one device's view of the server, kept as sync leaves it: a record per collection and
// id, removed when a pull says so.
type tablet struct {
	h          *herd
	token      string
	device     string
	checkpoint string
	records    map[string]json.RawMessage // collection/id → data
}

func (h *herd) tablet(token, device string) *tablet {
	return &tablet{h: h, token: token, device: device, records: map[string]json.RawMessage{}}
}

// pull brings the tablet up to date.
func (tb *tablet) pull() {
	tb.h.t.Helper()
	for {
		var page vsync.PullResult
		url := "/v1/sync/pull?limit=1000"
		if tb.checkpoint != "" {
			url += "&checkpoint=" + tb.checkpoint
		}
		tb.h.do("GET", url, tb.token, nil, "X-Device-ID", tb.device).expect(tb.h.t, 200).JSON(tb.h.t, &page)
		for _, it := range page.Items {
			if it.Deleted {
				delete(tb.records, it.Collection+"/"+it.ID)
			} else {
				tb.records[it.Collection+"/"+it.ID] = it.Data
			}
		}
		tb.checkpoint = page.Checkpoint
		if !page.More {
			return
		}
	}
}

func (tb *tablet) has(coll, id string) bool { _, ok := tb.records[coll+"/"+id]; return ok }

// events counts the history entries of animal id the tablet holds.
func (tb *tablet) events(animalID string) int {
	n := 0
	for k, v := range tb.records {
		if strings.HasPrefix(k, "animal_events/") && strings.Contains(string(v), animalID) {
			n++
		}
	}
	return n
}

// push sends mutations from the tablet and answers each result.
func (tb *tablet) push(muts ...map[string]any) []api.PushResult {
	tb.h.t.Helper()
	var ans struct {
		Results []api.PushResult `json:"results"`
	}
	tb.h.do("POST", "/v1/sync/push", tb.token, map[string]any{"mutations": muts}, "X-Device-ID", tb.device).
		expect(tb.h.t, 200).JSON(tb.h.t, &ans)
	return ans.Results
}

// moveEnds is a herd with a Korday holding of the second farmer: the destination of a sale.
func moveEnds(t *testing.T) (*herd, api.HoldingView) {
	h := newHerd(t)
	var to api.HoldingView
	h.do("POST", "/v1/holdings", h.korday, map[string]any{"kind": "farm", "name": "Қордай-Агро", "owner_iin": otherIIN,
		"owner_name": "Әсел Нұрланқызы", "address": "Қордай ауылы", "territory": kordayKato}).expect(t, 201).JSON(t, &to)
	return h, to
}

// The cow, online: moved from a Bayzak holding to a Korday holding of another owner.
func TestMovementAcrossDistrictsAndOwners(t *testing.T) {
	t.Parallel()
	h, to := moveEnds(t)
	cow := h.identify(h.vet2, h.cow("398000000000001"))
	bayzakTab, kordayTab := h.tablet(h.vet, "bayzak-1"), h.tablet(h.korday, "korday-1")
	sellerTab, buyerTab := h.tablet(h.farmer, "seller"), h.tablet(h.farmer2, "buyer")
	tabs := []*tablet{bayzakTab, kordayTab, sellerTab, buyerTab}
	for _, tb := range tabs {
		tb.pull()
	}
	if !bayzakTab.has("animals", cow.ID) || kordayTab.has("animals", cow.ID) || buyerTab.has("animals", cow.ID) {
		t.Fatal("before the sale the cow is not where it should be")
	}
	ref := h.reference(h.vet2, h.refBody("398000000000001"))
	issued(t, ref)

	var m api.MovementView
	body := map[string]any{"id": uuid.NewString(), "animals": []map[string]any{{"tag": "398000000000001"}},
		"from_holding_id": h.holding.ID, "to_holding_id": to.ID, "reference_id": ref.ID}
	r := h.do("POST", "/v1/movements", h.farmer, body).expect(t, 201)
	r.JSON(t, &m)
	if m.Status != "dispatched" || !m.OwnerChange || m.Animals[0].ID != cow.ID || r.Header.Get("Location") != "/v1/movements/"+m.ID {
		t.Fatalf("dispatch: %+v", m)
	}
	h.do("POST", "/v1/movements", h.farmer, body).expect(t, 201) // a retry answers the same
	for _, tok := range []string{h.vet, h.korday, h.farmer, h.farmer2} {
		h.do("GET", "/v1/movements/"+m.ID, tok, nil).expect(t, 200)
	}
	for _, tb := range tabs {
		tb.pull()
		if !tb.has("movements", m.ID) {
			t.Errorf("%s did not get the movement in transit", tb.device)
		}
	}
	// In transit: the Korday vet lists it incoming; no reference and no second dispatch meanwhile.
	var in api.Page[api.MovementView]
	h.do("GET", "/v1/movements?direction=incoming", h.korday, nil).expect(t, 200).JSON(t, &in)
	if len(in.Items) != 1 {
		t.Errorf("incoming to Korday: %d", len(in.Items))
	}
	again := h.do("POST", "/v1/movements", h.vet2, map[string]any{"id": uuid.NewString(), "animals": []map[string]any{{"id": cow.ID}},
		"from_holding_id": h.holding.ID, "to_holding_id": to.ID, "reference_id": ref.ID}).expectProblem(t, 409)
	if len(again.Errors) != 1 || again.Errors[0].Location != "body.animals[0]" {
		t.Errorf("second dispatch: %+v", again)
	}

	h.do("POST", "/v1/movements/"+m.ID+"/receive", h.vet, map[string]any{"id": uuid.NewString()}).expectProblem(t, 403)
	receipt := map[string]any{"id": uuid.NewString()}
	h.do("POST", "/v1/movements/"+m.ID+"/receive", h.korday, receipt).expect(t, 200).JSON(t, &m)
	if m.Status != "received" || m.Receipt == nil {
		t.Fatalf("receipt: %+v", m)
	}
	h.do("POST", "/v1/movements/"+m.ID+"/receive", h.korday, map[string]any{"id": uuid.NewString()}).expectProblem(t, 409)

	h.do("GET", "/v1/animals/"+cow.ID, h.vet, nil).expectProblem(t, 404)
	h.do("GET", "/v1/animals/"+cow.ID, h.farmer, nil).expectProblem(t, 404)
	var moved api.AnimalView
	h.do("GET", "/v1/animals/"+cow.ID, h.korday, nil).expect(t, 200).JSON(t, &moved)
	if moved.HoldingID != to.ID || moved.OwnerIIN != otherIIN || moved.Territory != kordayKato || moved.Passport == nil {
		t.Errorf("the cow in Korday: %+v", moved)
	}
	h.do("GET", "/v1/animals/"+cow.ID, h.farmer2, nil).expect(t, 200)
	var evs api.Page[api.AnimalEventView]
	h.do("GET", "/v1/animals/"+cow.ID+"/events", h.korday, nil).expect(t, 200).JSON(t, &evs)
	kinds := []string{}
	for _, e := range evs.Items {
		kinds = append(kinds, e.Kind)
	}
	slices.Sort(kinds) // the test's clock stands still: every entry has the same time
	if strings.Join(kinds, ",") != "dispatched,identified,received,reference" {
		t.Errorf("history in Korday: %v", kinds)
	}

	for _, tb := range tabs {
		tb.pull()
	}
	if bayzakTab.has("animals", cow.ID) || sellerTab.has("animals", cow.ID) || bayzakTab.events(cow.ID) != 0 ||
		bayzakTab.has("documents", cow.PassportID) {
		t.Error("the source's tablets kept the cow, its history or its passport")
	}
	if !kordayTab.has("animals", cow.ID) || !buyerTab.has("animals", cow.ID) || kordayTab.events(cow.ID) != 4 ||
		!kordayTab.has("documents", cow.PassportID) {
		t.Errorf("the destination's tablets lack the cow whole: animal %v, %d events, passport %v",
			kordayTab.has("animals", cow.ID), kordayTab.events(cow.ID), kordayTab.has("documents", cow.PassportID))
	}
	if !bayzakTab.has("movements", m.ID) || !kordayTab.has("movements", m.ID) {
		t.Error("a side lost the movement record")
	}
}

// A quarantine over the destination refuses the dispatch with 409, citing it in Kazakh and
// Russian, and nothing is written.
func TestMovementRefusedInQuarantine(t *testing.T) {
	t.Parallel()
	h, to := moveEnds(t)
	h.identify(h.vet2, h.cow("398000000000001"))
	ref := h.reference(h.vet2, h.refBody("398000000000001"))
	h.declare("quarantine", "fmd", kordayKato, "12-Қ")
	before := h.lastSeq()
	r := h.do("POST", "/v1/movements", h.vet2, map[string]any{"id": uuid.NewString(), "animals": []map[string]any{{"tag": "398000000000001"}},
		"from_holding_id": h.holding.ID, "to_holding_id": to.ID, "reference_id": ref.ID})
	r.expectProblem(t, 409)
	var p struct {
		Grounds []struct {
			Code   string `json:"code"`
			TextKK string `json:"text_kk"`
			TextRU string `json:"text_ru"`
		} `json:"grounds"`
	}
	r.JSON(t, &p)
	if len(p.Grounds) != 1 || p.Grounds[0].Code != "restriction" || !strings.Contains(p.Grounds[0].TextRU, "12-Қ") || p.Grounds[0].TextKK == "" {
		t.Errorf("grounds: %s", r.Body)
	}
	goldenJSON(t, "problem_refused_grounds", r.Body)
	if h.lastSeq() != before {
		t.Error("a refused dispatch wrote")
	}
}

// The same sale from offline tablets: the Bayzak vet dispatches by push, the Korday vet confirms
// by push; a retried batch changes nothing, and a refusal comes back with its grounds.
func TestMovementOffline(t *testing.T) {
	t.Parallel()
	h, to := moveEnds(t)
	cow := h.identify(h.vet2, h.cow("398000000000001"))
	ref := h.reference(h.vet2, h.refBody("398000000000001"))
	bayzakTab, kordayTab := h.tablet(h.vet2, "bayzak-2"), h.tablet(h.korday, "korday-2")
	mid := uuid.NewString()
	at := h.clock.Now().Format(time.RFC3339)
	dispatch := map[string]any{"id": uuid.NewString(), "kind": "movement.dispatch", "record_id": mid, "at": at,
		"data": map[string]any{"animals": []map[string]any{{"id": cow.ID}}, "from_holding_id": h.holding.ID,
			"to_holding_id": to.ID, "reference_id": ref.ID}}
	res := bayzakTab.push(dispatch)
	if res[0].Status != "applied" || res[0].Record == nil || res[0].Record.Collection != "movements" {
		t.Fatalf("pushed dispatch: %+v", res[0])
	}
	before := h.lastSeq()
	if res = bayzakTab.push(dispatch); res[0].Status != "applied" || h.lastSeq() != before {
		t.Errorf("a repeated dispatch: %+v, %d entries", res[0], h.lastSeq()-before)
	}
	// The Korday vet's tablet hears of it and confirms offline.
	kordayTab.pull()
	if !kordayTab.has("movements", mid) {
		t.Fatal("the destination's tablet did not get the movement")
	}
	foreign := kordayTab.push(map[string]any{"id": uuid.NewString(), "kind": "movement.cancel", "record_id": mid,
		"data": map[string]any{"id": uuid.NewString(), "reason": "келмеді"}})
	if foreign[0].Status != "rejected" || foreign[0].Problem.Status != 403 {
		t.Errorf("the destination cancelled by push: %+v", foreign[0])
	}
	res = kordayTab.push(map[string]any{"id": uuid.NewString(), "kind": "movement.receive", "record_id": mid,
		"at": h.clock.Now().Format(time.RFC3339), "data": map[string]any{"id": uuid.NewString()}})
	if res[0].Status != "applied" {
		t.Fatalf("pushed receipt: %+v", res[0])
	}
	bayzakTab.pull()
	kordayTab.pull()
	if bayzakTab.has("animals", cow.ID) || !kordayTab.has("animals", cow.ID) {
		t.Error("after the pushed receipt the cow is not where it belongs")
	}
	// A dispatch the situation refuses comes back rejected, with the grounds.
	cow2 := h.identify(h.vet2, h.cow("398000000000002"))
	ref2 := h.reference(h.vet2, h.refBody("398000000000002"))
	h.declare("quarantine", "fmd", kordayKato, "13-Қ")
	res = bayzakTab.push(map[string]any{"id": uuid.NewString(), "kind": "movement.dispatch", "record_id": uuid.NewString(),
		"at": h.clock.Now().Format(time.RFC3339), "data": map[string]any{"animals": []map[string]any{{"id": cow2.ID}},
			"from_holding_id": h.holding.ID, "to_holding_id": to.ID, "reference_id": ref2.ID}})
	if res[0].Status != "rejected" || res[0].Problem == nil || !strings.Contains(string(mustJSON(t, res[0].Problem.Grounds)), "13-Қ") {
		t.Errorf("a refused pushed dispatch: %+v", res[0])
	}
}

// A receipt or a cancellation whose own id is bad is located in the body, not at the movement's
// id in the path.
func TestMovementRequestIDInBody(t *testing.T) {
	t.Parallel()
	h, to := moveEnds(t)
	h.identify(h.vet2, h.cow("398000000000001"))
	ref := h.reference(h.vet2, h.refBody("398000000000001"))
	var m api.MovementView
	h.do("POST", "/v1/movements", h.vet2, map[string]any{"id": uuid.NewString(), "animals": []map[string]any{{"tag": "398000000000001"}},
		"from_holding_id": h.holding.ID, "to_holding_id": to.ID, "reference_id": ref.ID}).expect(t, 201).JSON(t, &m)
	for path, body := range map[string]map[string]any{
		"/receive": {"id": "not-a-uuid"},
		"/cancel":  {"id": "not-a-uuid", "reason": "көлік жоқ"},
	} {
		p := h.do("POST", "/v1/movements/"+m.ID+path, h.korday, body).expectProblem(t, 422)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.id" {
			t.Errorf("%s: %+v", path, p)
		}
	}
}
