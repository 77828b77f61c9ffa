package api_test

import (
	"testing"

	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/inspection"
)

func TestObjects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	vet, _ := e.staff("vet-bayzak", domain.RoleVet, bayzak)
	shuVet, _ := e.staff("vet-shu", domain.RoleVet, shu)
	farmer, _ := e.staff("farmer-a", domain.RoleFarmer, ownerA)
	valid := func() map[string]any {
		return map[string]any{"kind": "slaughter_site", "name": "Жамбыл ет", "owner_iin": farmBIN, "address": "Тараз қ., Жамбыл к-сі 12",
			"territory": bayzakV, "location": map[string]any{"lat": 42.9, "lon": 71.37, "accuracy_m": 8}, "reg_number": "31-32-0007"}
	}
	count := func(token string) int {
		var page api.Page[api.ObjectView]
		e.do("GET", "/v1/objects", token, nil).expect(t, 200).JSON(t, &page)
		return len(page.Items)
	}

	var obj api.ObjectView
	t.Run("OK", func(t *testing.T) {
		body := valid()
		body["id"] = domain.NewID()
		r := e.do("POST", "/v1/objects", vet, body).expect(t, 201)
		r.JSON(t, &obj)
		if got, want := r.Header.Get("Location"), "/v1/objects/"+obj.ID; got != want {
			t.Errorf("Location %q, want %q", got, want)
		}
		if obj.Kind != inspection.KindSlaughter || obj.OwnerIIN != farmBIN || obj.Territory != bayzakV || obj.RegNumber != "31-32-0007" ||
			obj.Location == nil || obj.Location.Lat != 42.9 || obj.Location.AccuracyM != 8 {
			t.Errorf("object %+v", obj)
		}
		// A retry with the same id answers the same object and registers nothing twice.
		var again api.ObjectView
		e.do("POST", "/v1/objects", vet, body).expect(t, 200).JSON(t, &again)
		if again.ID != obj.ID || again.Version != obj.Version {
			t.Errorf("retry answered %+v, want the first object", again)
		}
		var got api.ObjectView
		e.do("GET", "/v1/objects/"+obj.ID, vet, nil).expect(t, 200).JSON(t, &got)
		if got.Name != "Жамбыл ет" {
			t.Errorf("GET answered %+v", got)
		}
		if got, want := count(vet), 1; got != want {
			t.Errorf("the district vet lists %d objects, want %d", got, want)
		}
	})
	t.Run("OKOwnerAndFilters", func(t *testing.T) {
		e.object(e.admin, bayzak, ownerA)
		e.object(e.admin, shu, ownerA)
		if got, want := count(farmer), 2; got != want {
			t.Errorf("the farmer lists %d objects, want %d (their own)", got, want)
		}
		e.do("GET", "/v1/objects/"+obj.ID, farmer, nil).expectProblem(t, 404)
		var page api.Page[api.ObjectView]
		e.do("GET", "/v1/objects?kind=farm", vet, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].Kind != "farm" {
			t.Errorf("kind=farm listed %+v", page.Items)
		}
		e.do("GET", "/v1/objects?territory="+shu, vet, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 0 {
			t.Errorf("a Bayzak vet listed Shu's objects: %+v", page.Items)
		}
		e.do("GET", "/v1/objects?territory="+shu, e.admin, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 1 {
			t.Errorf("the admin lists %d objects in Shu, want 1", len(page.Items))
		}
	})
	t.Run("ErrOtherDistrict", func(t *testing.T) {
		e.do("GET", "/v1/objects/"+obj.ID, shuVet, nil).expectProblem(t, 404)
		if got := count(shuVet); got != 1 {
			t.Errorf("the Shu vet lists %d objects, want only Shu's one", got)
		}
		e.do("POST", "/v1/objects", shuVet, valid()).expectProblem(t, 403)
	})
	t.Run("ErrRole", func(t *testing.T) {
		e.do("POST", "/v1/objects", farmer, valid()).expectProblem(t, 403)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		before := count(e.admin)
		for _, c := range []struct {
			name, field string
			value       any
			status      int
			location    string
		}{
			{"IIN check digit", "owner_iin", "880101300124", 422, "body.owner_iin"},
			{"swapped GPS", "location", map[string]any{"lat": 71.37, "lon": 42.9}, 422, "body.location"},
			{"GPS out of range", "location", map[string]any{"lat": 95, "lon": 71}, 422, "body.location.lat"},
			{"kind", "kind", "zoo", 422, "body.kind"},
			{"territory", "territory", "003200000", 422, "body.territory"},
			{"blank name", "name", "   ", 422, "body.name"},
			{"reg number taken", "reg_number", "31-32-0007", 409, "body.reg_number"},
		} {
			body := valid()
			body[c.field] = c.value
			p := e.do("POST", "/v1/objects", e.admin, body).expectProblem(t, c.status)
			if len(p.Errors) == 0 || p.Errors[0].Location != c.location {
				t.Errorf("%s: problem %+v, want the location %s", c.name, p, c.location)
			}
		}
		if got := count(e.admin); got != before {
			t.Errorf("refused requests wrote objects: %d before, %d after", before, got)
		}
	})
}
