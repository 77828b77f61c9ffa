package api_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain/storetest"
)

// The districts and owners of the identification tests.
const (
	bayzakKato  = "313200000"
	bayzakRural = "313230000" // a rural district inside Bayzak
	kordayKato  = "314800000"
	ownerIIN    = "880101300123"
	otherIIN    = "900515400123"
)

// herd is an env with the accounts and stock the identification tests share: vets of Bayzak (the
// district, and a rural district inside it) and of Korday, two farmers, a holding in Bayzak and tag
// stock for both districts.
type herd struct {
	*env
	vet, vet2, korday, farmer, farmer2 string // access tokens
	holding                            api.HoldingView
	usernames                          map[string]string // by access token
}

func newHerd(t *testing.T) *herd {
	t.Helper()
	h := &herd{env: newEnv(t), usernames: map[string]string{}}
	h.vet = h.account("vet.bayzak", "vet", bayzakKato, "", "Айгүл Серікқызы")
	h.vet2 = h.account("vet.sarykemer", "vet", bayzakRural, "", "Марат Оспанов")
	h.korday = h.account("vet.korday", "vet", kordayKato, "", "Ерлан Жақсылықов")
	h.farmer = h.account("farmer.serik", "farmer", "", ownerIIN, "Серік Ахметов")
	h.farmer2 = h.account("farmer.asel", "farmer", "", otherIIN, "Әсел Нұрланқызы")
	h.holding = h.createHolding(h.vet, bayzakRural, ownerIIN)
	h.allocate(bayzakKato, "398000000000001", 1000)
	h.allocate(kordayKato, "398000000100001", 1000)
	return h
}

// advance moves the clock and logs everyone in again, since access tokens live 15 minutes.
func (h *herd) advance(d time.Duration) {
	h.t.Helper()
	h.clock.Advance(d)
	h.admin = h.login("admin", adminPassword).AccessToken
	for _, tok := range []*string{&h.vet, &h.vet2, &h.korday, &h.farmer, &h.farmer2} {
		user := h.usernames[*tok]
		delete(h.usernames, *tok)
		*tok = h.login(user, "long-enough-1").AccessToken
		h.usernames[*tok] = user
	}
}

func (h *herd) account(username, role, territory, iin, name string) string {
	h.t.Helper()
	body := map[string]any{"username": username, "password": "long-enough-1", "role": role, "full_name": name}
	if territory != "" {
		body["territory"] = territory
	}
	if iin != "" {
		body["iin"] = iin
	}
	h.createUser(body)
	tok := h.login(username, "long-enough-1").AccessToken
	h.usernames[tok] = username
	return tok
}

func (h *herd) createHolding(token, territory, owner string) api.HoldingView {
	h.t.Helper()
	var v api.HoldingView
	h.do("POST", "/v1/holdings", token, map[string]any{"kind": "yard", "name": "Ақжол", "owner_iin": owner,
		"owner_name": "Серік Ахметов", "address": "Сарыкемер, Абай к-сі 12", "territory": territory,
		"gps": map[string]any{"lat": 43.0101, "lon": 71.4402}}).expect(h.t, 201).JSON(h.t, &v)
	return v
}

func (h *herd) allocate(unit, first string, count int) api.TagRangeView {
	h.t.Helper()
	var r api.TagRangeView
	h.do("POST", "/v1/tag-ranges", h.admin, map[string]any{"unit": unit, "first": first, "count": count}).
		expect(h.t, 201).JSON(h.t, &r)
	return r
}

// lastSeq is the newest entry of the change log: a refused request must not move it.
func (h *herd) lastSeq() int64 { return storetest.LastSeq(h.t, h.store) }

func TestHoldings(t *testing.T) {
	t.Parallel()
	h := newHerd(t)

	t.Run("OK", func(t *testing.T) {
		if h.holding.Territory != bayzakRural || h.holding.OwnerIIN != ownerIIN || h.holding.GPS == nil || h.holding.GPS.Lat != 43.0101 {
			t.Errorf("created %+v", h.holding)
		}
		var got api.HoldingView
		h.do("GET", "/v1/holdings/"+h.holding.ID, h.farmer, nil).expect(t, 200).JSON(t, &got)
		if got.ID != h.holding.ID || got.Name != "Ақжол" {
			t.Errorf("the owner got %+v", got)
		}
	})

	t.Run("Retry", func(t *testing.T) {
		body := map[string]any{"id": uuid.NewString(), "kind": "farm", "name": "Береке", "owner_iin": otherIIN,
			"owner_name": "Әсел Нұрланқызы", "address": "Көкбастау", "territory": bayzakKato}
		var a, b api.HoldingView
		h.do("POST", "/v1/holdings", h.vet, body).expect(t, 201).JSON(t, &a)
		h.do("POST", "/v1/holdings", h.vet, body).expect(t, 201).JSON(t, &b)
		if a.ID != b.ID || a.Version != b.Version {
			t.Errorf("retry made %s v%d after %s v%d", b.ID, b.Version, a.ID, a.Version)
		}
		body["territory"] = bayzakRural
		h.do("POST", "/v1/holdings", h.vet, body).expectProblem(t, 409)
	})

	t.Run("ScopedLists", func(t *testing.T) {
		h.createHolding(h.korday, kordayKato, otherIIN)
		var page api.Page[api.HoldingView]
		h.do("GET", "/v1/holdings", h.farmer, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != h.holding.ID {
			t.Errorf("the farmer sees %+v", page.Items)
		}
		h.do("GET", "/v1/holdings", h.korday, nil).expect(t, 200).JSON(t, &page)
		for _, x := range page.Items {
			if x.Territory != kordayKato {
				t.Errorf("the Korday vet sees %+v", x)
			}
		}
		h.do("GET", "/v1/holdings?owner="+ownerIIN, h.korday, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 0 {
			t.Errorf("the Korday vet sees Bayzak holdings by owner: %+v", page.Items)
		}
		h.do("GET", "/v1/holdings?limit=1", h.admin, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 1 || page.NextCursor == "" {
			t.Errorf("admin's first page %+v", page)
		}
	})

	t.Run("ErrOtherDistrict404", func(t *testing.T) {
		h.do("GET", "/v1/holdings/"+h.holding.ID, h.korday, nil).expectProblem(t, 404)
		h.do("GET", "/v1/holdings/"+h.holding.ID, h.farmer2, nil).expectProblem(t, 404)
	})

	t.Run("ErrFarmerCreates403", func(t *testing.T) {
		h.do("POST", "/v1/holdings", h.farmer, map[string]any{"kind": "yard", "name": "x", "owner_iin": ownerIIN,
			"owner_name": "x", "address": "x", "territory": bayzakKato}).expectProblem(t, 403)
	})

	for _, c := range []struct {
		name, field string
		edit        func(map[string]any)
	}{
		{"ErrIINCheckDigit", "body.owner_iin", func(b map[string]any) { b["owner_iin"] = "880101300124" }},
		{"ErrOutsideTerritory", "body.territory", func(b map[string]any) { b["territory"] = kordayKato }},
		{"ErrKato", "body.territory", func(b map[string]any) { b["territory"] = "00320000x" }},
		{"ErrGPSSwapped", "body.gps.lat", func(b map[string]any) { b["gps"] = map[string]any{"lat": 71.44, "lon": 43.01} }},
		{"ErrGPSHalf", "body.gps", func(b map[string]any) { b["gps"] = map[string]any{"lat": 43.01} }},
		{"ErrName", "body.name", func(b map[string]any) { b["name"] = "  " }},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := h.lastSeq()
			body := map[string]any{"kind": "yard", "name": "Ақжол", "owner_iin": ownerIIN, "owner_name": "Серік",
				"address": "Сарыкемер", "territory": bayzakKato}
			c.edit(body)
			p := h.do("POST", "/v1/holdings", h.vet, body).expectProblem(t, 422)
			if len(p.Errors) != 1 || p.Errors[0].Location != c.field {
				t.Errorf("problem %+v, want the field %s", p, c.field)
			}
			if h.lastSeq() != before {
				t.Error("a refused holding was written")
			}
		})
	}
}

func TestTagStock(t *testing.T) {
	t.Parallel()
	h := newHerd(t)

	t.Run("ErrOverlap409", func(t *testing.T) {
		p := h.do("POST", "/v1/tag-ranges", h.admin, map[string]any{"unit": kordayKato, "first": "398000000000900", "count": 200}).
			expectProblem(t, 409)
		if p.Detail == "" || len(p.Errors) != 1 || p.Errors[0].Location != "body.first" {
			t.Errorf("problem %+v", p)
		}
	})

	t.Run("ErrVetAllocates403", func(t *testing.T) {
		h.do("POST", "/v1/tag-ranges", h.vet, map[string]any{"unit": bayzakKato, "first": "398000005000000", "count": 5}).expectProblem(t, 403)
	})

	t.Run("Lookup", func(t *testing.T) {
		var tag api.TagView
		h.do("GET", "/v1/tags/398000000000007", h.vet2, nil).expect(t, 200).JSON(t, &tag)
		if tag.Status != "in_stock" || tag.Unit != bayzakKato {
			t.Errorf("tag %+v", tag)
		}
		h.do("GET", "/v1/tags/398000000000007", h.korday, nil).expectProblem(t, 404)
		h.do("GET", "/v1/tags/39800000000000", h.vet, nil).expectProblem(t, 422)
	})

	t.Run("ScopedRanges", func(t *testing.T) {
		var page api.Page[api.TagRangeView]
		h.do("GET", "/v1/tag-ranges", h.vet2, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 0 {
			t.Errorf("a vet of a rural district has no range of its own unit: %+v", page.Items)
		}
		h.do("GET", "/v1/tag-ranges?unit="+bayzakKato, h.vet2, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].Count != 1000 {
			t.Errorf("the district's stock seen from inside it: %+v", page.Items)
		}
		h.do("GET", "/v1/tag-ranges?unit="+kordayKato, h.vet, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 0 {
			t.Errorf("another district's stock: %+v", page.Items)
		}
	})
}

// TestOwnerFilterStaysInTerritory: a vet asking for the holdings or animals of an owner whose
// livestock is in another district, or for the papers of an animal there, gets an empty last page
// — no cursor to walk and count them.
func TestOwnerFilterStaysInTerritory(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	var cow api.AnimalView
	for i := range 3 {
		kh := h.createHolding(h.korday, kordayKato, otherIIN)
		c := h.cow(fmt.Sprintf("3980000001%05d", i+1))
		c["holding_id"] = kh.ID
		cow = h.identify(h.korday, c)
	}
	// A second paper about the cow, so its list has a next page for who may see it.
	h.do("POST", "/v1/animals/"+cow.ID+"/passport/extract", h.korday, map[string]any{"id": uuid.NewString()}).expect(t, 201)
	for _, path := range []string{"/v1/holdings?owner=" + otherIIN + "&limit=1", "/v1/animals?owner=" + otherIIN + "&limit=1",
		"/v1/documents?subject=" + cow.ID + "&limit=1"} {
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		h.do("GET", path, h.vet, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 0 || page.NextCursor != "" {
			t.Errorf("GET %s by a Bayzak vet: %d items, next_cursor %q", path, len(page.Items), page.NextCursor)
		}
		h.do("GET", path, h.korday, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 1 || page.NextCursor == "" {
			t.Errorf("GET %s by the Korday vet: %d items, next_cursor %q", path, len(page.Items), page.NextCursor)
		}
	}
}
