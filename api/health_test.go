package api_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/api"
	vsync "github.com/vetfield/vetfield/sync"
)

// vaccinate records a vaccination of the animals named (ids or tags) on the herd's holding.
func (h *herd) vaccinationBody(disease string, animals ...map[string]any) map[string]any {
	return map[string]any{"id": uuid.NewString(), "holding_id": h.holding.ID, "disease": disease,
		"vaccine": "Сибирея жараға қарсы вакцина «55-ВНИИВВиМ»", "series": "С-17-2026", "dose": "1 мл",
		"date": "2026-03-19", "animals": animals}
}

func (h *herd) vaccinate(token string, body map[string]any) api.VaccinationView {
	h.t.Helper()
	var v api.VaccinationView
	h.do("POST", "/v1/vaccinations", token, body).expect(h.t, 201).JSON(h.t, &v)
	return v
}

func byID(id string) map[string]any   { return map[string]any{"id": id} }
func byTag(tag string) map[string]any { return map[string]any{"tag": tag} }

// eventKinds lists the kinds of an animal's history.
func (h *herd) eventKinds(token, animalID string) []string {
	h.t.Helper()
	var page api.Page[api.AnimalEventView]
	h.do("GET", "/v1/animals/"+animalID+"/events?limit=1000", token, nil).expect(h.t, 200).JSON(h.t, &page)
	var kinds []string
	for _, e := range page.Items {
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

func count(xs []string, x string) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}

// TestVaccinationGroup: one request vaccinates the animals it may and rejects the rest, each
// with its reason; a retry writes nothing new; the history, the lists and the scopes follow.
func TestVaccinationGroup(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	c1 := h.identify(h.vet, h.cow("398000000000001"))
	c2 := h.identify(h.vet, h.cow("398000000000002"))
	c3 := h.identify(h.vet, h.cow("398000000000003"))
	foreign := h.identify(h.korday, h.korday2Cow())

	body := h.vaccinationBody("anthrax", byID(c1.ID), byTag(c2.Tag), byTag("398000000000999"), byID(foreign.ID), byID(c1.ID))
	r := h.do("POST", "/v1/vaccinations", h.vet, body).expect(t, 201)
	var v api.VaccinationView
	r.JSON(t, &v)
	t.Run("PerAnimal", func(t *testing.T) {
		if v.Applied != 2 || v.Rejected != 3 || len(v.Animals) != 5 || r.Header.Get("Location") != "/v1/vaccinations/"+v.ID {
			t.Fatalf("answered %+v", v)
		}
		want := []struct {
			status  string
			problem int
			where   string
		}{{"applied", 0, ""}, {"applied", 0, ""}, {"rejected", 404, "body.animals[2].tag"},
			{"rejected", 404, "body.animals[3].id"}, {"rejected", 422, "body.animals[4]"}}
		for i, w := range want {
			got := v.Animals[i]
			if got.Status != w.status || (w.problem == 0) != (got.Problem == nil) ||
				(got.Problem != nil && (got.Problem.Status != w.problem || got.Problem.Location != w.where || got.Problem.Detail == "")) {
				t.Errorf("animal %d: %+v %+v, want %s %d at %s", i, got, got.Problem, w.status, w.problem, w.where)
			}
		}
		// The animal of Korday is not named back: a vet of Bayzak does not learn it exists.
		if strings.Contains(string(r.Body), foreign.Tag) || v.Animals[3].Tag != "" {
			t.Errorf("the answer names the other district's animal: %s", r.Body)
		}
		if v.Animals[1].AnimalID != c2.ID || v.DiseaseRU != "Сибирская язва" || v.VetName != "Айгүл Серікқызы" {
			t.Errorf("answered %+v", v)
		}
	})
	t.Run("Retry", func(t *testing.T) {
		before := h.lastSeq()
		var again api.VaccinationView
		h.do("POST", "/v1/vaccinations", h.vet, body).expect(t, 201).JSON(t, &again)
		if again.ID != v.ID || again.Applied != 2 || again.Version != v.Version {
			t.Errorf("retry answered %+v", again)
		}
		if after := h.lastSeq(); after != before {
			t.Errorf("the retry wrote %d log entries", after-before)
		}
		other := h.vaccinationBody("fmd", byID(c3.ID))
		other["id"] = v.ID
		h.do("POST", "/v1/vaccinations", h.vet, other).expectProblem(t, 409)
	})
	t.Run("History", func(t *testing.T) {
		if n := count(h.eventKinds(h.vet, c1.ID), "vaccinated"); n != 1 {
			t.Errorf("c1 has %d vaccinated entries", n)
		}
		if n := count(h.eventKinds(h.vet, c3.ID), "vaccinated"); n != 0 {
			t.Errorf("c3 has %d vaccinated entries", n)
		}
	})
	t.Run("Species", func(t *testing.T) {
		all := h.vaccinationBody("fmd")
		delete(all, "animals")
		all["species"] = "cattle"
		got := h.vaccinate(h.vet2, all)
		if got.Applied != 3 || got.Species != "cattle" {
			t.Errorf("all cattle: %+v", got)
		}
		all["id"], all["species"] = uuid.NewString(), "sheep"
		h.do("POST", "/v1/vaccinations", h.vet, all).expectProblem(t, 422)
	})
	t.Run("OtherHolding", func(t *testing.T) {
		// A neighbour's cow in the same district is rejected, and the record, which the owner of
		// this holding reads, keeps of it only what the vet typed.
		next := h.createHolding(h.vet, bayzakRural, otherIIN)
		nb := h.cow("398000000000010")
		nb["holding_id"] = next.ID
		neighbour := h.identify(h.vet, nb)
		r := h.do("POST", "/v1/vaccinations", h.vet, h.vaccinationBody("anthrax", byID(c3.ID), byID(neighbour.ID))).expect(t, 201)
		var got api.VaccinationView
		r.JSON(t, &got)
		if got.Applied != 1 || got.Animals[1].Status != "rejected" || got.Animals[1].Problem.Status != 422 ||
			got.Animals[1].AnimalID != neighbour.ID || got.Animals[1].Tag != "" || strings.Contains(string(r.Body), neighbour.Tag) {
			t.Errorf("the neighbour's cow: %+v %+v", got.Animals[1], got.Animals[1].Problem)
		}
	})
	t.Run("Lists", func(t *testing.T) {
		list := func(token, query string) []api.VaccinationView {
			var page api.Page[api.VaccinationView]
			h.do("GET", "/v1/vaccinations"+query, token, nil).expect(t, 200).JSON(t, &page)
			return page.Items
		}
		if n := len(list(h.vet, "?holding="+h.holding.ID)); n != 3 {
			t.Errorf("holding list: %d", n)
		}
		if n := len(list(h.farmer, "")); n != 3 {
			t.Errorf("the owner sees %d vaccinations", n)
		}
		if n := len(list(h.farmer2, "")); n != 0 {
			t.Errorf("another farmer sees %d vaccinations", n)
		}
		if n := len(list(h.korday, "")); n != 0 {
			t.Errorf("a vet of Korday sees %d vaccinations", n)
		}
		h.do("GET", "/v1/vaccinations?holding="+h.holding.ID, h.korday, nil).expectProblem(t, 404)
		h.do("GET", "/v1/vaccinations/"+v.ID, h.korday, nil).expectProblem(t, 404)
		h.do("GET", "/v1/vaccinations/"+v.ID, h.farmer2, nil).expectProblem(t, 404)
		h.do("GET", "/v1/vaccinations/"+v.ID, h.farmer, nil).expect(t, 200)
	})
	t.Run("Refused", func(t *testing.T) {
		korday := h.createHolding(h.korday, kordayKato, otherIIN)
		before := h.lastSeq()
		for _, c := range []struct {
			name   string
			token  string
			edit   func(map[string]any)
			status int
			field  string
		}{
			{"ErrFarmer", h.farmer, func(map[string]any) {}, 403, ""},
			{"ErrOtherDistrictHolding", h.vet, func(b map[string]any) { b["holding_id"] = korday.ID }, 404, "body.holding_id"},
			{"ErrUnknownDisease", h.vet, func(b map[string]any) { b["disease"] = "plague" }, 422, "body.disease"},
			{"ErrFutureDate", h.vet, func(b map[string]any) { b["date"] = "2026-03-21" }, 422, "body.date"},
			{"ErrBeforeBirth", h.vet, func(b map[string]any) { b["date"] = "2025-01-01" }, 422, "body.animals[0]"},
			{"ErrNoVaccine", h.vet, func(b map[string]any) { b["vaccine"] = " " }, 422, "body.vaccine"},
			{"ErrSpeciesNotAffected", h.vet, func(b map[string]any) { b["disease"] = "sheep_goat_pox" }, 422, "body.animals[0]"},
			{"ErrBothAnimalsAndSpecies", h.vet, func(b map[string]any) { b["species"] = "cattle" }, 422, "body.species"},
			{"ErrOnlyForeignAnimal", h.vet, func(b map[string]any) { b["animals"] = []any{byID(foreign.ID)} }, 404, "body.animals[0].id"},
			{"ErrOnlyForeignTag", h.vet, func(b map[string]any) { b["animals"] = []any{byTag(foreign.Tag)} }, 404, "body.animals[0].tag"},
			{"ErrMixedRejections", h.vet, func(b map[string]any) {
				b["animals"] = []any{byID(foreign.ID), byID(c3.ID)}
				b["date"] = "2025-01-01"
			}, 422, "body.animals[0].id"},
		} {
			t.Run(c.name, func(t *testing.T) {
				b := h.vaccinationBody("anthrax", byID(c3.ID))
				c.edit(b)
				p := h.do("POST", "/v1/vaccinations", c.token, b).expectProblem(t, c.status)
				if c.field != "" && (len(p.Errors) == 0 || p.Errors[0].Location != c.field) {
					t.Errorf("problem %+v, want it at %s", p, c.field)
				}
			})
		}
		if after := h.lastSeq(); after != before {
			t.Errorf("refused requests wrote %d log entries", after-before)
		}
	})
}

// sampleBody is a sampling for disease of the animals named, on date.
func (h *herd) sampleBody(disease, date string, animals ...map[string]any) map[string]any {
	return map[string]any{"id": uuid.NewString(), "holding_id": h.holding.ID, "disease": disease, "method": "rbt",
		"sampled_on": date, "animals": animals}
}

func (h *herd) sample(token string, body map[string]any) api.DiagnosticTestView {
	h.t.Helper()
	var v api.DiagnosticTestView
	h.do("POST", "/v1/diagnostic-tests", token, body).expect(h.t, 201).JSON(h.t, &v)
	return v
}

func resultBody(act string, results ...map[string]any) map[string]any {
	return map[string]any{"id": uuid.NewString(), "laboratory": "Жамбыл облыстық ветеринариялық зертханасы",
		"act": act, "act_date": "2026-03-20", "animals": results}
}

// TestBrucellosisRefusesSale: a positive brucellosis result refuses the cow a reference for sale,
// citing the test (disease, sampling date, laboratory, act), still allows one for slaughter, and
// a negative result on a later sample allows the sale again.
func TestBrucellosisRefusesSale(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	cow := h.identify(h.vet, h.cow("398000000000001"))
	calf := h.identify(h.vet, h.cow("398000000000002"))
	test := h.sample(h.vet, h.sampleBody("brucellosis", "2026-03-10", byID(cow.ID), byID(calf.ID)))
	if test.Applied != 2 || len(test.Results) != 0 {
		t.Fatalf("sampled %+v", test)
	}
	issued(t, h.reference(h.vet, h.refBody(cow.Tag))) // no result yet: nothing against it

	t.Run("ErrResultRefused", func(t *testing.T) {
		before := h.lastSeq()
		h.do("POST", "/v1/diagnostic-tests/"+uuid.NewString()+"/results", h.vet,
			resultBody("17", map[string]any{"id": cow.ID, "result": "positive"})).expectProblem(t, 404)
		other := h.identify(h.vet, h.cow("398000000000003"))
		p := h.do("POST", "/v1/diagnostic-tests/"+test.ID+"/results", h.vet,
			resultBody("17", map[string]any{"id": cow.ID, "result": "positive"}, map[string]any{"id": other.ID, "result": "negative"})).
			expectProblem(t, 422)
		if len(p.Errors) == 0 || p.Errors[0].Location != "body.animals[1]" {
			t.Errorf("foreign animal: %+v", p)
		}
		h.do("POST", "/v1/diagnostic-tests/"+test.ID+"/results", h.korday,
			resultBody("17", map[string]any{"id": cow.ID, "result": "positive"})).expectProblem(t, 404)
		h.do("POST", "/v1/diagnostic-tests/"+test.ID+"/results", h.farmer,
			resultBody("17", map[string]any{"id": cow.ID, "result": "positive"})).expectProblem(t, 403)
		early := resultBody("17", map[string]any{"id": cow.ID, "result": "positive"})
		early["act_date"] = "2026-03-09"
		h.do("POST", "/v1/diagnostic-tests/"+test.ID+"/results", h.vet, early).expectProblem(t, 422)
		// other's identification wrote; nothing after it did.
		mid := h.lastSeq()
		h.do("POST", "/v1/diagnostic-tests/"+test.ID+"/results", h.vet,
			resultBody("17", map[string]any{"id": other.ID, "result": "positive"})).expectProblem(t, 422)
		if h.lastSeq() != mid || mid <= before {
			t.Errorf("a refused result wrote")
		}
	})

	positive := resultBody("№ 245-Б", map[string]any{"id": cow.ID, "result": "positive"}, map[string]any{"tag": calf.Tag, "result": "negative"})
	var got api.DiagnosticTestView
	h.do("POST", "/v1/diagnostic-tests/"+test.ID+"/results", h.vet, positive).expect(t, 200).JSON(t, &got)
	if len(got.Results) != 1 || got.Animals[0].Result != "positive" || got.Animals[1].Result != "negative" {
		t.Fatalf("result recorded as %+v", got)
	}
	t.Run("Retry", func(t *testing.T) {
		before := h.lastSeq()
		var again api.DiagnosticTestView
		h.do("POST", "/v1/diagnostic-tests/"+test.ID+"/results", h.vet, positive).expect(t, 200).JSON(t, &again)
		if again.Version != got.Version || len(again.Results) != 1 || h.lastSeq() != before {
			t.Errorf("the retry wrote: %+v", again)
		}
	})

	t.Run("SaleRefusedCitingTheTest", func(t *testing.T) {
		r := h.reference(h.vet, h.refBody(cow.Tag))
		ground, grounds := refusal(t, r)
		if ground == "" || len(grounds) != 1 || grounds[0]["code"] != "positive_test" || grounds[0]["test_id"] != test.ID {
			t.Fatalf("grounds %+v", grounds)
		}
		for _, want := range []string{"Бруцеллёз", "2026-03-10", "Жамбыл облыстық ветеринариялық зертханасы", "№ 245-Б"} {
			if !strings.Contains(grounds[0]["text_ru"].(string), want) {
				t.Errorf("the ground %q does not cite %q", grounds[0]["text_ru"], want)
			}
		}
		if !strings.Contains(grounds[0]["text_kk"].(string), "Бруцеллез") {
			t.Errorf("the Kazakh ground %q", grounds[0]["text_kk"])
		}
		// The calf, negative, is sold; the reactor goes to slaughter.
		issued(t, h.reference(h.vet, h.refBody(calf.Tag)))
		slaughter := h.refBody(cow.Tag)
		slaughter["purpose"] = "slaughter"
		issued(t, h.reference(h.vet, slaughter))
	})
	t.Run("FindingOnTheAnimal", func(t *testing.T) {
		var a struct {
			Findings []map[string]any `json:"findings"`
		}
		h.do("GET", "/v1/animals/"+cow.ID, h.farmer, nil).expect(t, 200).JSON(t, &a)
		if len(a.Findings) != 1 || a.Findings[0]["disease"] != "brucellosis" || a.Findings[0]["act"] != "№ 245-Б" ||
			a.Findings[0]["sampled_on"] != "2026-03-10" || a.Findings[0]["test_id"] != test.ID {
			t.Errorf("the animal's findings: %+v", a.Findings)
		}
	})
	t.Run("History", func(t *testing.T) {
		kinds := h.eventKinds(h.farmer, cow.ID)
		if count(kinds, "diagnostic_sampled") != 1 || count(kinds, "diagnostic_result") != 1 {
			t.Errorf("history %v", kinds)
		}
	})
	t.Run("LaterNegativeAllowsSale", func(t *testing.T) {
		retest := h.sample(h.vet, h.sampleBody("brucellosis", "2026-03-20", byTag(cow.Tag)))
		h.do("POST", "/v1/diagnostic-tests/"+retest.ID+"/results", h.vet,
			resultBody("№ 301-Б", map[string]any{"id": cow.ID, "result": "negative"})).expect(t, 200)
		issued(t, h.reference(h.vet, h.refBody(cow.Tag)))
	})
}

// TestPlanProgress: the oblast's plan counts, per district, the cattle vaccinated against anthrax
// and those left, and the count moves as vaccinations are recorded.
func TestPlanProgress(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	c1 := h.identify(h.vet, h.cow("398000000000001"))
	c2 := h.identify(h.vet, h.cow("398000000000002"))
	h.identify(h.vet, h.cow("398000000000003"))
	h.identify(h.korday, h.korday2Cow())
	plan := map[string]any{"id": uuid.NewString(), "territory": zhambylKato, "title": "2026 жылғы ветеринариялық іс-шаралар жоспары",
		"decision": "Жамбыл облысы әкімдігінің 2026 жылғы 15 қаңтардағы № 12 қаулысы", "from": "2026-01-01", "to": "2026-12-31",
		"items": []map[string]any{{"measure": "vaccination", "disease": "anthrax", "species": "cattle"},
			{"measure": "identification", "species": "cattle", "planned": 10}}}
	h.do("POST", "/v1/plans", h.vet, plan).expectProblem(t, 403)
	var p api.PlanView
	h.do("POST", "/v1/plans", h.admin, plan).expect(t, 201).JSON(t, &p)
	h.do("POST", "/v1/plans", h.admin, plan).expect(t, 201) // a retry
	var plans api.Page[api.PlanView]
	h.do("GET", "/v1/plans", h.vet, nil).expect(t, 200).JSON(t, &plans)
	if len(plans.Items) != 1 || plans.Items[0].ID != p.ID || plans.Items[0].Decision == "" {
		t.Errorf("a Bayzak vet lists the oblast's plans as %+v", plans.Items)
	}
	h.do("GET", "/v1/plans", h.farmer, nil).expectProblem(t, 403)

	type district struct {
		Territory string `json:"territory"`
		NameRU    string `json:"name_ru"`
		Animals   int    `json:"animals"`
		Covered   int    `json:"covered"`
		Left      int    `json:"left"`
	}
	type progress struct {
		Items []struct {
			Measure   string     `json:"measure"`
			Districts []district `json:"districts"`
			Total     district   `json:"total"`
		} `json:"items"`
	}
	read := func(token, query string) progress {
		t.Helper()
		var pr progress
		h.do("GET", "/v1/plans/"+p.ID+"/progress"+query, token, nil).expect(t, 200).JSON(t, &pr)
		return pr
	}
	before := read(h.admin, "")
	if len(before.Items) != 2 || len(before.Items[0].Districts) != 2 {
		t.Fatalf("progress %+v", before)
	}
	bayzak, korday := before.Items[0].Districts[0], before.Items[0].Districts[1]
	if bayzak.Territory != bayzakKato || bayzak.Animals != 3 || bayzak.Covered != 0 || bayzak.Left != 3 ||
		korday.Territory != kordayKato || korday.Animals != 1 || korday.Left != 1 || bayzak.NameRU == "" {
		t.Errorf("before: %+v %+v", bayzak, korday)
	}
	if id := before.Items[1]; id.Total.Covered != 4 || id.Total.Left != 6 {
		t.Errorf("identifications: %+v", id.Total)
	}

	h.vaccinate(h.vet, h.vaccinationBody("anthrax", byID(c1.ID), byID(c2.ID)))
	h.vaccinate(h.vet, h.vaccinationBody("fmd", byID(c1.ID))) // another disease counts for nothing here
	after := read(h.vet, "?territory="+bayzakKato)
	if d := after.Items[0].Districts; len(d) != 1 || d[0].Covered != 2 || d[0].Left != 1 || d[0].Animals != 3 {
		t.Errorf("after: %+v", d)
	}
	// A district vet reading the oblast's plan reads their own district only.
	if d := read(h.vet, "").Items[0].Districts; len(d) != 1 || d[0].Territory != bayzakKato {
		t.Errorf("a Bayzak vet reads %+v", d)
	}
	h.do("GET", "/v1/plans/"+p.ID+"/progress?territory="+kordayKato, h.vet, nil).expectProblem(t, 404)
	h.do("GET", "/v1/plans/"+p.ID+"/progress", h.farmer, nil).expectProblem(t, 403)
	h.do("GET", "/v1/plans/"+uuid.NewString()+"/progress", h.vet, nil).expectProblem(t, 404)
	bad := map[string]any{"id": uuid.NewString(), "territory": zhambylKato, "title": "x", "decision": "y", "from": "2026-01-01",
		"to": "2026-12-31", "items": []map[string]any{{"measure": "vaccination", "disease": "plague", "species": "cattle"}}}
	h.do("POST", "/v1/plans", h.admin, bad).expectProblem(t, 422)
}

// TestHealthOffline: a tablet vaccinates, samples and records a result offline; the push applies
// each once (a re-push writes nothing), refuses what the vet may not do before any conflict, and
// the pulls of the district and the owner bring the records, a vet of another district's does
// not.
func TestHealthOffline(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	cow := h.identify(h.vet, h.cow("398000000000001"))
	sheep := h.cow("398000000000002")
	sheep["species"] = "sheep"
	ewe := h.identify(h.vet, sheep)

	vacc := h.vaccinationBody("anthrax", byTag(cow.Tag), byTag(ewe.Tag))
	vaccID := vacc["id"].(string)
	delete(vacc, "id")
	test := h.sampleBody("brucellosis", "2026-03-12", byID(cow.ID))
	testID := test["id"].(string)
	delete(test, "id")
	result := resultBody("№ 77", map[string]any{"id": cow.ID, "result": "positive"})
	muts := []map[string]any{
		{"id": uuid.NewString(), "kind": "vaccination.record", "record_id": vaccID, "data": vacc},
		{"id": uuid.NewString(), "kind": "diagnostic_test.sample", "record_id": testID, "data": test},
		{"id": uuid.NewString(), "kind": "diagnostic_test.result", "record_id": testID, "data": result},
		{"id": uuid.NewString(), "kind": "vaccination.record", "record_id": uuid.NewString(),
			"data": h.vaccinationBody("plague", byID(cow.ID))},
	}
	muts[3]["data"].(map[string]any)["id"] = muts[3]["record_id"]
	res := h.push(h.vet, muts...)
	if res[0].Status != "applied" || res[1].Status != "applied" || res[2].Status != "applied" || res[3].Status != "rejected" ||
		res[3].Problem == nil || res[3].Problem.Status != 422 {
		t.Fatalf("push: %+v", res)
	}
	if res[0].Record == nil || res[0].Record.Collection != "vaccinations" || !strings.Contains(string(res[0].Record.Data), `"applied":2`) {
		t.Errorf("the vaccination's record: %+v", res[0].Record)
	}
	before := h.lastSeq()
	again := h.push(h.vet, muts...)
	for i := range res {
		if again[i].Status != res[i].Status {
			t.Errorf("re-push of %d: %s, first %s", i, again[i].Status, res[i].Status)
		}
	}
	if after := h.lastSeq(); after != before {
		t.Errorf("the re-push wrote %d log entries", after-before)
	}
	// The result pushed offline refuses the sale as an online one does.
	ground, grounds := refusal(t, h.reference(h.vet, h.refBody(cow.Tag)))
	if ground == "" || len(grounds) != 1 || grounds[0]["code"] != "positive_test" {
		t.Errorf("grounds after the offline result: %+v", grounds)
	}
	// A vet of Korday may not record a result for a Bayzak test, nor a farmer a vaccination: the
	// refusal is the permission's, with no conflict kept.
	foreign := h.push(h.korday,
		map[string]any{"id": uuid.NewString(), "kind": "diagnostic_test.result", "record_id": testID,
			"data": resultBody("№ 78", map[string]any{"id": cow.ID, "result": "negative"})})
	if foreign[0].Status != "rejected" || foreign[0].Problem == nil || foreign[0].Problem.Status != 404 {
		t.Errorf("a Korday vet's result: %+v", foreign[0])
	}
	stale := h.vaccinationBody("anthrax", byID(cow.ID))
	farmer := h.push(h.farmer, map[string]any{"id": uuid.NewString(), "kind": "vaccination.record",
		"record_id": vaccID, "data": map[string]any{"holding_id": stale["holding_id"], "disease": "fmd", "vaccine": "x",
			"series": "y", "dose": "1 мл", "date": "2026-03-19", "animals": []any{byID(cow.ID)}}})
	if farmer[0].Status != "rejected" || farmer[0].Problem == nil || farmer[0].Problem.Status != 403 {
		t.Errorf("a farmer's vaccination over an existing id: %+v", farmer[0])
	}

	pull := func(token string) []vsync.Item {
		var page vsync.PullResult
		h.do("GET", "/v1/sync/pull?limit=1000", token, nil).expect(t, 200).JSON(t, &page)
		return page.Items
	}
	for _, c := range []struct {
		name  string
		token string
		sees  bool
	}{{"Vet", h.vet, true}, {"Owner", h.farmer, true}, {"OtherFarmer", h.farmer2, false}, {"Korday", h.korday, false}} {
		items := pull(c.token)
		if containsID(items, vaccID) != c.sees || containsID(items, testID) != c.sees {
			t.Errorf("%s pulls the vaccination %v, the test %v; want %v", c.name, containsID(items, vaccID), containsID(items, testID), c.sees)
		}
	}
}
