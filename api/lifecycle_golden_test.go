package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vetfield/vetfield/api"
)

// TestGoldenGroupAndDisposal pins the JSON of a group identification and of a disposal as the API
// answers them and as a tablet pulls them: the group record with a result per animal (and in
// format 2, a staff tablet's compact view, with the rejected animals only), and an animal that
// left the register with its disposal.
func TestGoldenGroupAndDisposal(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	site := h.slaughterSite()
	group := map[string]any{"id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9f01", "holding_id": h.holding.ID, "first": "398000000001000",
		"animals": []map[string]any{
			{"id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9f02", "species": "sheep", "sex": "female", "birth_date": "2025-03-01",
				"breed": "Еділбай", "colour": "қара"},
			{"id": "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9f03", "species": "sheep", "sex": "male", "birth_date": "2025-03-01",
				"breed": "Еділбай", "colour": "қара"},
		}}
	goldenJSON(t, "group_identify", h.do("POST", "/v1/animal-groups", h.vet, group).expect(t, 201).Body)

	cow := h.cow("398000000000001")
	cow["id"] = "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9f04"
	h.identify(h.vet, cow)
	body := slaughterBody(site.ID)
	body["id"] = "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9f05"
	r := h.do("POST", "/v1/animals/"+cow["id"].(string)+"/disposal", h.vet, body).expect(t, 201)
	goldenJSON(t, "disposal", r.Body)
	var disposed api.AnimalView
	r.JSON(t, &disposed)
	token := disposed.Passport.Token
	for _, lang := range []string{"kk", "ru"} {
		page := h.do("GET", "/v/"+token+"?lang="+lang, "", nil).expect(t, 200).Body
		golden(t, "verify_disposed_"+lang+".html", []byte(strings.ReplaceAll(string(page), token, "{passport-token}")))
	}

	for _, it := range h.pullAll(h.vet) {
		switch {
		case it.Collection == "animal_groups":
			raw, _ := json.Marshal(it)
			goldenJSON(t, "pull_item_animal_groups", raw)
		case it.Collection == "animals" && it.ID == cow["id"]:
			raw, _ := json.Marshal(it)
			goldenJSON(t, "pull_item_animals_disposed", raw)
		}
	}
	for _, r := range h.pull2All(h.vet) {
		if r.Collection == "animal_groups" {
			goldenJSON(t, "pull2_record_animal_groups", r.Data)
		}
	}
}
