package api_test

import (
	"fmt"
	"testing"

	"github.com/vetfield/vetfield/api"
)

func TestUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	t.Run("Create", func(t *testing.T) {
		r := e.do("POST", "/v1/users", e.admin, map[string]any{"username": "vet.bayzak", "password": "long-enough-1",
			"role": "vet", "territory": "313200000", "full_name": "Айгүл Серікқызы"})
		var u api.UserView
		r.expect(t, 201).JSON(t, &u)
		if r.Header.Get("Location") != "/v1/users/"+u.ID || u.FullName != "Айгүл Серікқызы" || u.Version != 1 {
			t.Errorf("created %+v at %q", u, r.Header.Get("Location"))
		}
		var got api.UserView
		e.do("GET", "/v1/users/"+u.ID, e.admin, nil).expect(t, 200).JSON(t, &got)
		if got.Username != "vet.bayzak" {
			t.Errorf("GET answered %+v", got)
		}
	})

	t.Run("ErrTaken", func(t *testing.T) {
		e.do("POST", "/v1/users", e.admin, map[string]any{"username": "vet.bayzak", "password": "long-enough-1",
			"role": "vet", "territory": "313200000"}).expectProblem(t, 409)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		cases := []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"username": "v2", "password": "long-enough-1", "role": "vet", "territory": "313200000"}, "body.username"},
			{map[string]any{"username": "vet2", "password": "short", "role": "vet", "territory": "313200000"}, "body.password"},
			{map[string]any{"username": "vet2", "password": "long-enough-1", "role": "vet"}, "body.territory"},
			{map[string]any{"username": "vet2", "password": "long-enough-1", "role": "vet", "territory": "31320000"}, "body.territory"},
			{map[string]any{"username": "vet2", "password": "long-enough-1", "role": "king"}, "body.role"},
			{map[string]any{"username": "farm2", "password": "long-enough-1", "role": "farmer"}, "body.iin"},
			{map[string]any{"username": "farm2", "password": "long-enough-1", "role": "farmer", "iin": "880101300124"}, "body.iin"},
			{map[string]any{"username": "farm2", "password": "long-enough-1", "role": "farmer", "iin": "880101300123", "colour": "red"}, "body.colour"},
		}
		for _, c := range cases {
			p := e.do("POST", "/v1/users", e.admin, c.body).expectProblem(t, 422)
			found := false
			for _, d := range p.Errors {
				if d.Location == c.field {
					found = true
				}
			}
			if !found {
				t.Errorf("%v: problem %+v does not name %s", c.body, p, c.field)
			}
		}
		// Nothing was written by the refused requests.
		var page api.Page[api.UserView]
		e.do("GET", "/v1/users?limit=100", e.admin, nil).expect(t, 200).JSON(t, &page)
		for _, u := range page.Items {
			if u.Username == "vet2" || u.Username == "farm2" {
				t.Errorf("a refused account was written: %+v", u)
			}
		}
	})

	t.Run("ListPaginated", func(t *testing.T) {
		for i := range 7 {
			e.createUser(map[string]any{"username": fmt.Sprintf("farmer%02d", i), "password": "long-enough-1",
				"role": "farmer", "iin": "880101300123"})
		}
		seen := map[string]bool{}
		cursor := ""
		pages := 0
		for {
			var page api.Page[api.UserView]
			e.do("GET", "/v1/users?role=farmer&limit=3&cursor="+cursor, e.admin, nil).expect(t, 200).JSON(t, &page)
			pages++
			for _, u := range page.Items {
				if seen[u.Username] || u.Role != "farmer" {
					t.Fatalf("page repeats or strays: %+v", u)
				}
				seen[u.Username] = true
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		if len(seen) != 7 || pages != 3 {
			t.Errorf("saw %d farmers in %d pages, want 7 in 3", len(seen), pages)
		}
		e.do("GET", "/v1/users?cursor=garbage", e.admin, nil).expectProblem(t, 422)
		e.do("GET", "/v1/users?limit=5000", e.admin, nil).expectProblem(t, 422)
	})

	t.Run("Patch", func(t *testing.T) {
		u := e.createUser(map[string]any{"username": "inspector1", "password": "long-enough-1", "role": "inspector", "territory": "313200000"})
		var moved api.UserView
		e.do("PATCH", "/v1/users/"+u.ID, e.admin, map[string]any{"territory": "314000000"}).expect(t, 200).JSON(t, &moved)
		if moved.Territory != "314000000" || moved.ScopeEpoch != u.ScopeEpoch+1 || moved.Version != u.Version+1 {
			t.Errorf("after moving: %+v", moved)
		}
		var renamed api.UserView
		e.do("PATCH", "/v1/users/"+u.ID, e.admin, map[string]any{"full_name": "Ерлан"}).expect(t, 200).JSON(t, &renamed)
		if renamed.ScopeEpoch != moved.ScopeEpoch || renamed.Territory != "314000000" {
			t.Errorf("a rename changed the scope: %+v", renamed)
		}
		e.do("PATCH", "/v1/users/"+u.ID, e.admin, map[string]any{"role": "farmer"}).expectProblem(t, 422)
		// A farmer's IIN decides what their phone holds: changing it forces a resync too.
		f := e.createUser(map[string]any{"username": "farmer.iin", "password": "long-enough-1", "role": "farmer", "iin": "880101300123"})
		var fixed api.UserView
		e.do("PATCH", "/v1/users/"+f.ID, e.admin, map[string]any{"iin": "781214200010"}).expect(t, 200).JSON(t, &fixed)
		if fixed.ScopeEpoch != f.ScopeEpoch+1 {
			t.Errorf("changing the IIN left scope_epoch at %d", fixed.ScopeEpoch)
		}
		e.do("PATCH", "/v1/users/no-such-id", e.admin, map[string]any{"disabled": true}).expectProblem(t, 404)
		e.do("PATCH", "/v1/users/"+u.ID, e.admin, map[string]any{"password": "new-password-1"}).expect(t, 200)
		e.login("inspector1", "new-password-1")
	})
}
