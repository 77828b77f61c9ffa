package api_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain/epizootic"
)

func TestTerritories(t *testing.T) {
	t.Parallel()
	h := newHerd(t)

	t.Run("Seeded", func(t *testing.T) {
		var page api.Page[api.TerritoryView]
		h.do("GET", "/v1/territories", h.vet, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].Code != zhambylKato || page.Items[0].NameKK != "Жамбыл облысы" {
			t.Errorf("oblasts %+v", page.Items)
		}
		h.do("GET", "/v1/territories?parent="+zhambylKato+"&limit=100", h.farmer, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 11 {
			t.Errorf("%d units under the oblast, want Taraz and ten districts: %+v", len(page.Items), page.Items)
		}
		var taraz api.TerritoryView
		h.do("GET", "/v1/territories/311010000", h.vet, nil).expect(t, 200).JSON(t, &taraz)
		if taraz.Parent != "311000000" || taraz.NameRU != "город Тараз" {
			t.Errorf("Taraz %+v", taraz)
		}
		h.do("GET", "/v1/territories/399000000", h.vet, nil).expectProblem(t, 404)
		h.do("GET", "/v1/territories/31x", h.vet, nil).expectProblem(t, 422)
	})

	t.Run("AddAndRename", func(t *testing.T) {
		var rural api.TerritoryView
		h.do("POST", "/v1/territories", h.admin, map[string]any{"code": bayzakRural, "name_kk": "Сарыкемер ауылдық округі",
			"name_ru": "Сарыкемерский сельский округ"}).expect(t, 201).JSON(t, &rural)
		if rural.Parent != bayzakKato || rural.Level != 3 {
			t.Errorf("added %+v", rural)
		}
		h.do("POST", "/v1/territories", h.admin, map[string]any{"code": bayzakRural, "name_kk": "x", "name_ru": "x"}).expectProblem(t, 409)
		var renamed api.TerritoryView
		h.do("PATCH", "/v1/territories/"+bayzakRural, h.admin, map[string]any{"version": 1, "name_ru": "Сарыкемерский с.о."}).
			expect(t, 200).JSON(t, &renamed)
		if renamed.NameRU != "Сарыкемерский с.о." || renamed.NameKK != rural.NameKK || renamed.Version != 2 {
			t.Errorf("renamed %+v", renamed)
		}
		h.do("PATCH", "/v1/territories/"+bayzakRural, h.admin, map[string]any{"version": 1, "name_ru": "x"}).expectProblem(t, 409)
	})

	t.Run("Err", func(t *testing.T) {
		before := h.lastSeq()
		h.do("POST", "/v1/territories", h.vet, map[string]any{"code": "313250000", "name_kk": "x", "name_ru": "x"}).expectProblem(t, 403)
		p := h.do("POST", "/v1/territories", h.admin, map[string]any{"code": "753210000", "name_kk": "x", "name_ru": "x"}).expectProblem(t, 422)
		if p.Errors[0].Location != "body.code" {
			t.Errorf("an orphan unit: %+v", p)
		}
		p = h.do("POST", "/v1/territories", h.admin, map[string]any{"code": "313250000", "name_kk": " ", "name_ru": "x"}).expectProblem(t, 422)
		if p.Errors[0].Location != "body.name_kk" {
			t.Errorf("an empty name: %+v", p)
		}
		h.do("PATCH", "/v1/territories/"+bayzakKato, h.vet, map[string]any{"name_ru": "x"}).expectProblem(t, 403)
		if h.lastSeq() != before {
			t.Error("a refused request wrote")
		}
	})
}

func TestRestrictions(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	q := h.declare("quarantine", "sheep_goat_pox", bayzakKato, "8")

	t.Run("OK", func(t *testing.T) {
		if !q.InForce || q.DiseaseKK != "Қой мен ешкі шешегі" || q.TerritoryRU != "Байзакский район" || len(q.History) != 1 {
			t.Errorf("declared %+v", q)
		}
		var page api.Page[api.RestrictionView]
		h.do("GET", "/v1/restrictions?territory="+zhambylKato+"&active=true", h.korday, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != q.ID {
			t.Errorf("listed %+v", page.Items)
		}
		var diseases struct{ Items []api.DiseaseView }
		h.do("GET", "/v1/diseases", h.farmer, nil).expect(t, 200).JSON(t, &diseases)
		if len(diseases.Items) != len(epizootic.DiseaseCodes) || len(diseases.Items) < 10 {
			t.Errorf("%d diseases", len(diseases.Items))
		}
	})

	t.Run("ChangeKeepsHistory", func(t *testing.T) {
		var ch api.RestrictionView
		h.do("PATCH", "/v1/restrictions/"+q.ID, h.admin, map[string]any{"version": q.Version,
			"decision": map[string]any{"number": "8/1", "date": "2026-03-19"}}).expect(t, 200).JSON(t, &ch)
		if ch.Decision.Number != "8/1" || len(ch.History) != 2 || ch.History[0].Decision.Number != "8" {
			t.Errorf("changed %+v", ch)
		}
		h.do("PATCH", "/v1/restrictions/"+q.ID, h.admin, map[string]any{"version": q.Version, "note": "x"}).expectProblem(t, 409)
	})

	t.Run("IdempotentDeclare", func(t *testing.T) {
		body := map[string]any{"id": uuid.NewString(), "kind": "quarantine", "disease": "rabies", "territory": kordayKato,
			"decision": map[string]any{"number": "9", "date": "2026-03-18"}}
		var a, b api.RestrictionView
		h.do("POST", "/v1/restrictions", h.admin, body).expect(t, 201).JSON(t, &a)
		h.do("POST", "/v1/restrictions", h.admin, body).expect(t, 201).JSON(t, &b)
		if a.ID != b.ID || b.Version != 1 {
			t.Errorf("a retry made %+v", b)
		}
	})

	t.Run("Err", func(t *testing.T) {
		before := h.lastSeq()
		for field, body := range map[string]map[string]any{
			"body.disease":         {"kind": "quarantine", "disease": "plague", "territory": bayzakKato, "decision": map[string]any{"number": "1", "date": "2026-03-19"}},
			"body.territory":       {"kind": "quarantine", "disease": "fmd", "territory": "313290000", "decision": map[string]any{"number": "1", "date": "2026-03-19"}},
			"body.decision.number": {"kind": "quarantine", "disease": "fmd", "territory": bayzakKato, "decision": map[string]any{"number": " ", "date": "2026-03-19"}},
			"body.decision.date":   {"kind": "quarantine", "disease": "fmd", "territory": bayzakKato, "decision": map[string]any{"number": "1", "date": "2026-04-19"}},
		} {
			p := h.do("POST", "/v1/restrictions", h.admin, body).expectProblem(t, 422)
			if len(p.Errors) != 1 || p.Errors[0].Location != field {
				t.Errorf("problem %+v, want %s", p, field)
			}
		}
		h.do("POST", "/v1/restrictions", h.vet, map[string]any{"kind": "quarantine", "disease": "fmd", "territory": bayzakKato,
			"decision": map[string]any{"number": "1", "date": "2026-03-19"}}).expectProblem(t, 403)
		h.do("POST", "/v1/restrictions/"+q.ID+"/lift", h.vet, map[string]any{"decision": map[string]any{"number": "1", "date": "2026-03-20"}}).
			expectProblem(t, 403)
		h.do("GET", "/v1/epizootic?territory=3132", h.vet, nil).expectProblem(t, 422)
		if h.lastSeq() != before {
			t.Error("a refused request wrote")
		}
		h.lift(q.ID)
		h.do("POST", "/v1/restrictions/"+q.ID+"/lift", h.admin, map[string]any{"decision": map[string]any{"number": "1", "date": "2026-03-20"}}).
			expectProblem(t, 409)
	})
}
