package api_test

import (
	"github.com/vetfield/vetfield/domain"
	"testing"
)

// TestLaboratoryAccount: a laboratory's account, made through the API, lists only the dossiers sent
// to it, reports on them, and gets 404 for another's, with nothing written.
func TestLaboratoryAccount(t *testing.T) {
	e := newEnv(t)
	l1 := e.createUser(map[string]any{"username": "lab-one", "password": "lab-password-1", "role": "laboratory", "full_name": "Зертхана 1"})
	l2 := e.createUser(map[string]any{"username": "lab-two", "password": "lab-password-2", "role": "laboratory"})
	e.do("POST", "/v1/users", e.admin, map[string]any{"username": "lab-bad", "password": "lab-password-3", "role": "laboratory",
		"territory": "313200000"}).expectProblem(t, 422)
	apply := func(lab string) string {
		var c struct {
			ID string `json:"id"`
		}
		e.do("POST", "/v1/cases", e.admin, map[string]any{"service": "feedreg", "applicant_iin": "880101300123", "applicant_name": "ЖШС Жем",
			"documents": []string{"өтініш"}, "data": map[string]any{"name": "Жем", "manufacturer": "ЖШС Жем", "territory": "313200000"}}).
			expect(t, 201).JSON(t, &c)
		e.do("POST", "/v1/cases/"+c.ID+"/steps/review", e.admin, map[string]any{"data": map[string]string{"laboratory_id": lab}}).expect(t, 200)
		return c.ID
	}
	mine, theirs := apply(l1.ID), apply(l2.ID)
	tok := e.login("lab-one", "lab-password-1").AccessToken
	var list struct {
		Items []struct {
			ID     string `json:"id"`
			Holder string `json:"holder"`
		} `json:"items"`
	}
	e.do("GET", "/v1/cases", tok, nil).expect(t, 200).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != mine || list.Items[0].Holder != "Зертхана 1" {
		t.Fatalf("the laboratory lists %+v", list.Items)
	}
	e.do("GET", "/v1/cases/"+theirs, tok, nil).expectProblem(t, 404)
	today := domain.CivilDateOf(e.clock.Now()).String()
	result := map[string]any{"data": map[string]any{"act": "№ 3", "act_date": today, "conforms": true}}
	e.do("POST", "/v1/cases/"+theirs+"/steps/tests", tok, result).expectProblem(t, 404)
	e.do("POST", "/v1/cases/"+mine+"/steps/decision", tok, map[string]any{"data": map[string]string{"valid_until": "2035-01-01"}}).expectProblem(t, 403)
	e.do("POST", "/v1/cases/"+mine+"/steps/tests", tok, result).expect(t, 200)
	e.do("GET", "/v1/journals/feedreg", tok, nil).expectProblem(t, 403)
}

// A laboratory account reaches only the routes it needs: no list scoped by territory.
func TestLaboratoryKeptToItsRoutes(t *testing.T) {
	e := newEnv(t)
	e.createUser(map[string]any{"username": "lab-one", "password": "lab-password-1", "role": "laboratory"})
	tok := e.login("lab-one", "lab-password-1").AccessToken
	for _, path := range []string{"/v1/animals", "/v1/documents", "/v1/objects", "/v1/holdings", "/v1/object-register"} {
		e.do("GET", path, tok, nil).expectProblem(t, 403)
	}
	e.do("GET", "/v1/me", tok, nil).expect(t, 200)
	e.do("GET", "/v1/cases", tok, nil).expect(t, 200)
}
