package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/api"
)

const zhambylKato = "310000000"

// declare has the admin declare a restriction and returns it.
func (h *herd) declare(kind, disease, territory, number string) api.RestrictionView {
	h.t.Helper()
	var r api.RestrictionView
	h.do("POST", "/v1/restrictions", h.admin, map[string]any{"kind": kind, "disease": disease, "territory": territory,
		"decision": map[string]any{"number": number, "date": "2026-03-19"}}).expect(h.t, 201).JSON(h.t, &r)
	return r
}

// lift has the admin lift a restriction a minute after the clock's now.
func (h *herd) lift(id string) api.RestrictionView {
	h.t.Helper()
	h.advance(time.Minute)
	var r api.RestrictionView
	h.do("POST", "/v1/restrictions/"+id+"/lift", h.admin, map[string]any{"decision": map[string]any{"number": id[:8] + "-л",
		"date": "2026-03-20"}}).expect(h.t, 200).JSON(h.t, &r)
	return r
}

// refBody is a reference for the animals with the given numbers on the herd's holding.
func (h *herd) refBody(tags ...string) map[string]any {
	animals := []map[string]any{}
	for _, t := range tags {
		animals = append(animals, map[string]any{"tag": t})
	}
	return map[string]any{"id": uuid.NewString(), "holding_id": h.holding.ID, "animals": animals, "purpose": "sale",
		"destination": "Тараз қаласы, мал базары", "exam_result": "healthy"}
}

func (h *herd) reference(token string, body map[string]any) api.ReferenceView {
	h.t.Helper()
	var r api.ReferenceView
	h.do("POST", "/v1/references", token, body).expect(h.t, 201).JSON(h.t, &r)
	return r
}

// refusal decodes the content of a refusal's document.
func refusal(t *testing.T, r api.ReferenceView) (ground string, grounds []map[string]any) {
	t.Helper()
	if r.Outcome != "refused" || r.Document == nil || r.Document.Type != "motivated_refusal" || r.DocumentType != "motivated_refusal" {
		t.Fatalf("not a refusal: outcome %s, document %+v", r.Outcome, r.Document)
	}
	var c struct {
		Ground  string           `json:"ground"`
		Grounds []map[string]any `json:"grounds"`
	}
	if err := json.Unmarshal(r.Document.Content, &c); err != nil {
		t.Fatal(err)
	}
	return c.Ground, c.Grounds
}

func issued(t *testing.T, r api.ReferenceView) {
	t.Helper()
	if r.Outcome != "issued" || r.Document == nil || r.Document.Type != "vet_reference" || r.Document.Status != "valid" || len(r.Grounds) != 0 {
		t.Fatalf("not issued: %+v grounds %+v", r.Document, r.Grounds)
	}
}

func TestReferences(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	cow := h.identify(h.vet, h.cow("398000000000001"))

	t.Run("OK", func(t *testing.T) {
		body := h.refBody(cow.Tag)
		r := h.reference(h.vet, body)
		issued(t, r)
		if r.Late || r.Animals[0].State != "ok" || r.Animals[0].Passport != cow.Passport.Number ||
			r.Document.Subject.Tag != cow.Tag || !strings.Contains(r.Document.Issuer.UnitName, "Байзак") ||
			!strings.HasPrefix(r.Document.Number, "VR-2026-313200-") || r.DocumentNumber != r.Document.Number {
			t.Errorf("reference %+v, document %+v", r, r.Document)
		}
		var v api.VerificationView
		h.do("GET", "/v1/verify/"+r.Document.Token, "", nil).expect(t, 200).JSON(t, &v)
		if v.Status != "genuine" || v.Type != "vet_reference" {
			t.Errorf("verifies as %+v", v)
		}
		again := h.reference(h.vet, body)
		if again.ID != r.ID || again.Document.Number != r.Document.Number {
			t.Errorf("a retry made %s after %s", again.Document.Number, r.Document.Number)
		}
		var evs api.Page[api.AnimalEventView]
		h.do("GET", "/v1/animals/"+cow.ID+"/events", h.vet, nil).expect(t, 200).JSON(t, &evs)
		n := 0
		for _, e := range evs.Items {
			if e.Kind == "reference" && e.DocumentID == r.DocumentID {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d reference events after a retry, want 1: %+v", n, evs.Items)
		}
		body["purpose"] = "slaughter"
		h.do("POST", "/v1/references", h.vet, body).expectProblem(t, 409)
	})

	t.Run("QuarantineOnDistrictRefuses", func(t *testing.T) {
		q := h.declare("quarantine", "fmd", bayzakKato, "17-р")
		r := h.reference(h.vet2, h.refBody(cow.Tag))
		ground, grounds := refusal(t, r)
		for _, want := range []string{"карантин", "Ящур", "Байзакский район", "решение № 17-р от 19.03.2026", "Крупный рогатый скот"} {
			if !strings.Contains(ground, want) {
				t.Errorf("the refusal %q does not say %q", ground, want)
			}
		}
		if len(grounds) != 1 || grounds[0]["restriction_id"] != q.ID || grounds[0]["code"] != "restriction" {
			t.Errorf("grounds %+v", grounds)
		}
		if len(r.Checked) != 1 || len(r.Checked[0].Restrictions) != 1 || !r.Checked[0].Restrictions[0].Concerns {
			t.Errorf("checked %+v", r.Checked)
		}
		var v api.VerificationView
		h.do("GET", "/v1/verify/"+r.Document.Token, "", nil).expect(t, 200).JSON(t, &v)
		if v.Type != "motivated_refusal" {
			t.Errorf("the refusal verifies as %+v", v)
		}

		t.Run("LiftedAllowsAgain", func(t *testing.T) {
			l := h.lift(q.ID)
			if l.InForce || l.End == nil || len(l.History) != 2 || l.History[1].Action != "lifted" {
				t.Fatalf("lifted %+v", l)
			}
			issued(t, h.reference(h.vet, h.refBody(cow.Tag)))
			var sit api.SituationView
			h.do("GET", "/v1/epizootic?territory="+bayzakRural+"&at="+q.Start.Add(time.Second).Format(time.RFC3339), h.farmer, nil).
				expect(t, 200).JSON(t, &sit)
			if len(sit.Restrictions) != 1 || sit.Restrictions[0].ID != q.ID || sit.NameRU != "Байзакский район" {
				t.Errorf("the situation while it was in force: %+v", sit)
			}
			h.do("GET", "/v1/epizootic?territory="+bayzakRural, h.farmer, nil).expect(t, 200).JSON(t, &sit)
			if len(sit.Restrictions) != 0 {
				t.Errorf("the situation now: %+v", sit.Restrictions)
			}
		})
	})

	t.Run("QuarantineOnOblastReachesDistricts", func(t *testing.T) {
		q := h.declare("restrictive_measures", "anthrax", zhambylKato, "3")
		ground, _ := refusal(t, h.reference(h.vet, h.refBody(cow.Tag)))
		if !strings.Contains(ground, "Жамбылская область") || !strings.Contains(ground, "Сибирская язва") {
			t.Errorf("the refusal %q does not name the oblast's decision", ground)
		}
		var sit api.SituationView
		h.do("GET", "/v1/epizootic?territory="+kordayKato, h.korday, nil).expect(t, 200).JSON(t, &sit)
		if len(sit.Restrictions) != 1 || sit.Restrictions[0].TerritoryRU != "Жамбылская область" {
			t.Errorf("another district under the oblast: %+v", sit.Restrictions)
		}
		h.lift(q.ID)
	})

	t.Run("DiseaseOfOtherSpeciesAllows", func(t *testing.T) {
		asf := h.declare("quarantine", "asf", bayzakKato, "5")
		bird := h.declare("quarantine", "avian_influenza", zhambylKato, "6")
		r := h.reference(h.vet, h.refBody(cow.Tag))
		issued(t, r)
		if len(r.Checked[0].Restrictions) != 2 || r.Checked[0].Restrictions[0].Concerns || r.Checked[0].Restrictions[1].Concerns {
			t.Errorf("what was checked: %+v", r.Checked)
		}
		eggs := h.refBody()
		delete(eggs, "animals")
		eggs["products"] = []map[string]any{{"kind": "eggs", "quantity": 300, "unit": "pcs", "origin": "Ақжол, Сарыкемер"}}
		ground, _ := refusal(t, h.reference(h.vet, eggs))
		if !strings.Contains(ground, "Грипп птиц") || !strings.Contains(ground, "яйца") {
			t.Errorf("eggs under avian influenza: %q", ground)
		}
		beef := h.refBody()
		delete(beef, "animals")
		beef["products"] = []map[string]any{{"kind": "meat", "species": "cattle", "quantity": 80, "unit": "kg", "origin": "Ақжол"}}
		issued(t, h.reference(h.vet, beef))
		beef["id"], beef["products"] = uuid.NewString(), []map[string]any{{"kind": "meat", "species": "pig", "quantity": 80, "unit": "kg", "origin": "Ақжол"}}
		refusal(t, h.reference(h.vet, beef))
		h.lift(asf.ID)
		h.lift(bird.ID)
	})

	t.Run("ErrNotIdentified", func(t *testing.T) {
		ground, grounds := refusal(t, h.reference(h.vet, h.refBody("398000000000999")))
		if !strings.Contains(ground, "398000000000999") || grounds[0]["code"] != "not_identified" {
			t.Errorf("refusal %q %+v", ground, grounds)
		}
	})

	t.Run("ErrAwaitingTags", func(t *testing.T) {
		lost := h.identify(h.vet, h.cow("398000000000002"))
		h.do("POST", "/v1/animals/"+lost.ID+"/tag-loss", h.vet, map[string]any{"id": uuid.NewString(), "kind": "lost"}).expect(t, 201)
		ground, grounds := refusal(t, h.reference(h.vet, h.refBody(lost.Tag, cow.Tag)))
		if grounds[0]["code"] != "awaiting_tags" || !strings.Contains(ground, "утеряна") || len(grounds) != 1 {
			t.Errorf("refusal %q %+v", ground, grounds)
		}
	})

	t.Run("ErrOtherDistrict404", func(t *testing.T) {
		before := h.lastSeq()
		h.do("POST", "/v1/references", h.korday, h.refBody(cow.Tag)).expectProblem(t, 404)
		h.do("POST", "/v1/references", h.farmer, h.refBody(cow.Tag)).expectProblem(t, 403)
		if h.lastSeq() != before {
			t.Error("a refused request wrote something")
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		before := h.lastSeq()
		for field, edit := range map[string]func(map[string]any){
			"body.animals":     func(b map[string]any) { delete(b, "animals") },
			"body.animals[0]":  func(b map[string]any) { b["animals"] = []map[string]any{{}} },
			"body.exam_note":   func(b map[string]any) { b["exam_result"] = "unhealthy" },
			"body.destination": func(b map[string]any) { b["destination"] = " " },
		} {
			b := h.refBody(cow.Tag)
			edit(b)
			p := h.do("POST", "/v1/references", h.vet, b).expectProblem(t, 422)
			if len(p.Errors) != 1 || p.Errors[0].Location != field {
				t.Errorf("problem %+v, want %s", p, field)
			}
		}
		if h.lastSeq() != before {
			t.Error("an invalid request wrote something")
		}
	})

	t.Run("Late", func(t *testing.T) {
		b := h.refBody(cow.Tag)
		b["applied_at"] = h.clock.Now().Add(-24 * time.Hour).Format(time.RFC3339)
		r := h.reference(h.vet, b)
		issued(t, r)
		if !r.Late {
			t.Fatalf("decided a day after the application, not late: %+v", r)
		}
		var page api.Page[api.ReferenceView]
		h.do("GET", "/v1/references?late=true", h.vet2, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != r.ID {
			t.Errorf("late list %+v", page.Items)
		}
		h.do("GET", "/v1/references?late=true", h.korday, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 0 {
			t.Errorf("another district sees %+v", page.Items)
		}
		h.do("GET", "/v1/references/"+r.ID, h.korday, nil).expectProblem(t, 404)
		h.do("GET", "/v1/references/"+r.ID, h.farmer, nil).expect(t, 200)
		h.do("GET", "/v1/references/"+r.ID, h.farmer2, nil).expectProblem(t, 404)
	})
}

// TestReferenceCannotReachAnotherDistrict: a Bayzak vet's reference for a Bayzak holding that names
// a Korday animal by id is 404 and writes nothing — no reference, no paper, no event in the Korday
// animal's history; by its number it is refused as an unknown number, naming no hidden animal. An
// id that names no animal is 404 too, before anything is written, and stays 404 on a retry.
func TestReferenceCannotReachAnotherDistrict(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	korHolding := h.createHolding(h.korday, kordayKato, otherIIN)
	korCow := h.cow("398000000100001")
	korCow["holding_id"] = korHolding.ID
	kor := h.identify(h.korday, korCow)
	events := func() int {
		var page api.Page[api.AnimalEventView]
		h.do("GET", "/v1/animals/"+kor.ID+"/events", h.korday, nil).expect(t, 200).JSON(t, &page)
		return len(page.Items)
	}
	references := func() int {
		var page api.Page[api.ReferenceView]
		h.do("GET", "/v1/references", h.admin, nil).expect(t, 200).JSON(t, &page)
		return len(page.Items)
	}
	before, refs := events(), references()

	byID := h.refBody()
	byID["animals"] = []map[string]any{{"id": kor.ID}}
	h.do("POST", "/v1/references", h.vet, byID).expectProblem(t, 404)
	unknown := h.refBody()
	unknown["animals"] = []map[string]any{{"id": uuid.NewString()}}
	for range 2 {
		h.do("POST", "/v1/references", h.vet, unknown).expectProblem(t, 404)
	}
	if got := references(); got != refs {
		t.Errorf("%d references after refused requests, want %d", got, refs)
	}

	byTag := h.reference(h.vet, h.refBody(kor.Tag))
	if byTag.Outcome != "refused" || byTag.Animals[0].ID != "" || byTag.Document.Subject.ID == kor.ID ||
		strings.Contains(string(byTag.Document.Content), kor.ID) {
		t.Errorf("a Korday number in a Bayzak reference: %+v", byTag)
	}
	if got := events(); got != before {
		t.Errorf("the Korday animal has %d events after Bayzak's references, want %d", got, before)
	}
}

// TestLooseTextRefused: control characters and broken UTF-8 in free text, a breed longer than the
// domain keeps, and an application dated the year 0001 are refused, naming the field.
func TestLooseTextRefused(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	for name, c := range map[string]struct {
		path  string
		body  map[string]any
		field string
	}{
		"NULInName": {"/v1/holdings", map[string]any{"kind": "yard", "name": "Ақ\x00жол", "owner_iin": ownerIIN, "owner_name": "Серік",
			"address": "Сарыкемер", "territory": bayzakRural}, "body.name"},
		"LineBreakInAddress": {"/v1/holdings", map[string]any{"kind": "yard", "name": "Ақжол", "owner_iin": ownerIIN, "owner_name": "Серік",
			"address": "Сарыкемер\nАбай к-сі", "territory": bayzakRural}, "body.address"},
		"BrokenUTF8": {"/v1/holdings", map[string]any{"kind": "yard", "name": "Ақ\xffжол", "owner_iin": ownerIIN, "owner_name": "Серік",
			"address": "Сарыкемер", "territory": bayzakRural}, "body.name"},
		"LongBreed": {"/v1/animals", func() map[string]any { c := h.cow("398000000000009"); c["breed"] = strings.Repeat("ә", 101); return c }(), "body.breed"},
		"YearOne": {"/v1/references", func() map[string]any {
			b := h.refBody("398000000000001")
			b["applied_at"] = "0001-01-01T00:00:00Z"
			return b
		}(), "body.applied_at"},
	} {
		t.Run(name, func(t *testing.T) {
			p := h.do("POST", c.path, h.vet, c.body).expectProblem(t, 422)
			if len(p.Errors) == 0 || p.Errors[0].Location != c.field {
				t.Errorf("%s: %+v, want a problem naming %s", name, p, c.field)
			}
		})
	}
}
