package api_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/api"
)

// cow is the body of a valid identification of a cow on the herd's holding.
func (h *herd) cow(tag string) map[string]any {
	return map[string]any{"id": uuid.NewString(), "holding_id": h.holding.ID, "species": "cattle", "sex": "female",
		"birth_date": "2025-04-02", "breed": "Әулиеата", "colour": "қызыл",
		"identifiers": []map[string]any{{"means": "ear_tag", "number": tag}}}
}

func (h *herd) identify(token string, body map[string]any) api.AnimalView {
	h.t.Helper()
	var a api.AnimalView
	h.do("POST", "/v1/animals", token, body).expect(h.t, 201).JSON(h.t, &a)
	return a
}

func (h *herd) animals(token, query string) []api.AnimalView {
	h.t.Helper()
	var page api.Page[api.AnimalView]
	h.do("GET", "/v1/animals"+query, token, nil).expect(h.t, 200).JSON(h.t, &page)
	return page.Items
}

func TestIdentifyAnimal(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	body := h.cow("398000000000001")
	r := h.do("POST", "/v1/animals", h.vet2, body).expect(t, 201)
	var a api.AnimalView
	r.JSON(t, &a)

	t.Run("OK", func(t *testing.T) {
		if a.ID != body["id"] || a.Tag != "398000000000001" || a.Territory != bayzakRural || a.OwnerIIN != ownerIIN ||
			r.Header.Get("Location") != "/v1/animals/"+a.ID || r.Header.Get("ETag") != `"1"` {
			t.Errorf("identified %+v at %q", a, r.Header.Get("Location"))
		}
		p := a.Passport
		if p == nil || p.Type != "vet_passport" || p.Status != "valid" || p.Subject.Tag != a.Tag || p.ID != a.PassportID ||
			p.Issuer.Name != "Марат Оспанов" || string(p.Issuer.Unit) != bayzakRural || !strings.HasPrefix(p.Number, "VP-2026-313230-") {
			t.Fatalf("passport %+v", p)
		}
		var v api.VerificationView
		h.do("GET", "/v1/verify/"+p.Token, "", nil).expect(t, 200).JSON(t, &v)
		if v.Status != "genuine" || v.Tag != a.Tag {
			t.Errorf("the passport verifies as %+v", v)
		}
		var tag api.TagView
		h.do("GET", "/v1/tags/398000000000001", h.vet, nil).expect(t, 200).JSON(t, &tag)
		if tag.Status != "fitted" || tag.AnimalID != a.ID {
			t.Errorf("the number is %+v", tag)
		}
	})

	t.Run("RetryAnswersTheSame", func(t *testing.T) {
		var again api.AnimalView
		h.do("POST", "/v1/animals", h.vet2, body).expect(t, 201).JSON(t, &again)
		if again.ID != a.ID || again.Version != a.Version || again.Passport == nil || again.Passport.Number != a.Passport.Number {
			t.Errorf("retry answered %+v", again)
		}
		var docs api.Page[api.DocumentView]
		h.do("GET", "/v1/documents?subject="+a.ID, h.vet, nil).expect(t, 200).JSON(t, &docs)
		if len(docs.Items) != 1 {
			t.Errorf("%d papers about the animal after a retry, want 1", len(docs.Items))
		}
	})

	t.Run("Lookups", func(t *testing.T) {
		var got api.AnimalView
		h.do("GET", "/v1/animals/"+a.ID, h.vet, nil).expect(t, 200).JSON(t, &got)
		if got.ID != a.ID || got.Passport == nil || got.Passport.ID != a.PassportID {
			t.Errorf("GET answered %+v", got)
		}
		for _, q := range []string{"?tag=398000000000001", "?owner=" + ownerIIN, "?holding=" + h.holding.ID, ""} {
			if items := h.animals(h.vet, q); len(items) != 1 || items[0].ID != a.ID {
				t.Errorf("%q found %+v", q, items)
			}
		}
		if items := h.animals(h.vet, "?tag=398000000000002"); len(items) != 0 {
			t.Errorf("a number in stock found %+v", items)
		}
		h.do("GET", "/v1/animals?tag=39800000000000x", h.vet, nil).expectProblem(t, 422)
		h.do("GET", "/v1/animals?owner=880101300124", h.vet, nil).expectProblem(t, 422)
	})

	t.Run("FarmerSeesOwnOnly", func(t *testing.T) {
		h.identify(h.korday, h.korday2Cow())
		if items := h.animals(h.farmer, ""); len(items) != 1 || items[0].ID != a.ID {
			t.Errorf("the owner sees %+v", items)
		}
		h.do("GET", "/v1/animals/"+a.ID, h.farmer, nil).expect(t, 200)
		h.do("GET", "/v1/animals/"+a.ID, h.farmer2, nil).expectProblem(t, 404)
		if items := h.animals(h.farmer2, "?owner="+ownerIIN); len(items) != 0 {
			t.Errorf("another farmer lists the owner's animals: %+v", items)
		}
		if items := h.animals(h.farmer2, "?tag=398000000000001"); len(items) != 0 {
			t.Errorf("another farmer finds the animal by its tag: %+v", items)
		}
	})

	t.Run("OtherDistrict404", func(t *testing.T) {
		h.do("GET", "/v1/animals/"+a.ID, h.korday, nil).expectProblem(t, 404)
		h.do("GET", "/v1/animals/"+a.ID+"/events", h.korday, nil).expectProblem(t, 404)
		h.do("GET", "/v1/animals?holding="+h.holding.ID, h.korday, nil).expectProblem(t, 404)
		if items := h.animals(h.korday, "?tag=398000000000001"); len(items) != 0 {
			t.Errorf("a vet of another district finds %+v", items)
		}
		if items := h.animals(h.korday, ""); len(items) != 1 || items[0].Territory != kordayKato {
			t.Errorf("a vet of another district lists %+v", items)
		}
	})

	t.Run("ErrNotAVet403", func(t *testing.T) {
		h.do("POST", "/v1/animals", h.farmer, h.cow("398000000000003")).expectProblem(t, 403)
		h.do("POST", "/v1/animals", h.admin, h.cow("398000000000003")).expectProblem(t, 403)
	})
}

// korday2Cow is a cow of another owner in Korday, identified by the Korday vet.
func (h *herd) korday2Cow() map[string]any {
	k := h.createHolding(h.korday, kordayKato, otherIIN)
	b := h.cow("398000000100001")
	b["holding_id"] = k.ID
	return b
}

// TestIdentifyRefused sends bad identifications: each gets a clear 4xx problem naming what is wrong,
// and nothing is written.
func TestIdentifyRefused(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	h.identify(h.vet, h.cow("398000000000001"))
	korday := h.createHolding(h.korday, kordayKato, otherIIN)
	for _, c := range []struct {
		name   string
		edit   func(map[string]any)
		status int
		field  string
	}{
		{"ErrTagLength", func(b map[string]any) { setTag(b, "3980000000000021") }, 422, "body.identifiers[0].number"},
		{"ErrTagNonDigits", func(b map[string]any) { setTag(b, "39800000000002O") }, 422, "body.identifiers[0].number"},
		{"ErrTagCountry", func(b map[string]any) { setTag(b, "860000000000021") }, 422, "body.identifiers[0].number"},
		{"ErrTagFitted", func(b map[string]any) { setTag(b, "398000000000001") }, 409, "body.identifiers[0].number"},
		{"ErrTagNotInYourStock", func(b map[string]any) { setTag(b, "398000000100002") }, 409, "body.identifiers[0].number"},
		{"ErrBirthInFuture", func(b map[string]any) { b["birth_date"] = "2026-03-21" }, 422, "body.birth_date"},
		{"ErrBirthNotADate", func(b map[string]any) { b["birth_date"] = "2026-02-30" }, 422, "body.birth_date"},
		{"ErrSpecies", func(b map[string]any) { b["species"] = "yak" }, 422, "body.species"},
		{"ErrHoldingElsewhere", func(b map[string]any) { b["holding_id"] = korday.ID }, 422, "body.holding_id"},
		{"ErrID", func(b map[string]any) { b["id"] = "not-a-uuid" }, 422, "body.id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := h.lastSeq()
			b := h.cow("398000000000021")
			c.edit(b)
			p := h.do("POST", "/v1/animals", h.vet, b).expectProblem(t, c.status)
			if len(p.Errors) == 0 || p.Errors[0].Location != c.field {
				t.Errorf("problem %+v, want the field %s", p, c.field)
			}
			if got := h.lastSeq(); got != before {
				t.Errorf("the change log moved from %d to %d", before, got)
			}
			var tag api.TagView
			h.do("GET", "/v1/tags/398000000000021", h.admin, nil).expect(t, 200).JSON(t, &tag)
			if tag.Status != "in_stock" {
				t.Errorf("the number is %s", tag.Status)
			}
		})
	}
}

func setTag(b map[string]any, tag string) {
	b["identifiers"] = []map[string]any{{"means": "ear_tag", "number": tag}}
}

// TestIdentifyConcurrentVets has two vets fit the same tag to two animals at the same moment:
// exactly one wins, the other gets 409.
func TestIdentifyConcurrentVets(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	for round := range 5 {
		tag := "39800000000010" + string(rune('0'+round))
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i, token := range []string{h.vet, h.vet2} {
			body := h.cow(tag)
			wg.Go(func() { statuses[i] = h.do("POST", "/v1/animals", token, body).Status })
		}
		wg.Wait()
		created := 0
		for _, s := range statuses {
			switch s {
			case http.StatusCreated:
				created++
			case http.StatusConflict:
			default:
				t.Errorf("round %d: status %d", round, s)
			}
		}
		if created != 1 {
			t.Fatalf("round %d: statuses %v, want exactly one 201 and one 409", round, statuses)
		}
		if items := h.animals(h.vet, "?tag="+tag); len(items) != 1 {
			t.Fatalf("round %d: %d animals carry %s", round, len(items), tag)
		}
	}
}

func TestPassportCopies(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	a := h.identify(h.vet, h.cow("398000000000001"))
	dupID := uuid.NewString()

	t.Run("Duplicate", func(t *testing.T) {
		h.clock.Advance(time.Minute)
		var d api.DocumentView
		h.do("POST", "/v1/animals/"+a.ID+"/passport/duplicate", h.vet, map[string]any{"id": dupID}).expect(t, 201).JSON(t, &d)
		if d.Type != "vet_passport_duplicate" || d.Supersedes != a.PassportID || d.Status != "valid" {
			t.Fatalf("duplicate %+v", d)
		}
		var again api.DocumentView
		h.do("POST", "/v1/animals/"+a.ID+"/passport/duplicate", h.vet, map[string]any{"id": dupID}).expect(t, 201).JSON(t, &again)
		if again.ID != d.ID || again.Number != d.Number {
			t.Errorf("a retried duplicate is %s, want %s", again.Number, d.Number)
		}
		var now api.AnimalView
		h.do("GET", "/v1/animals/"+a.ID, h.farmer, nil).expect(t, 200).JSON(t, &now)
		if now.PassportID != d.ID || now.Passport == nil || now.Passport.Type != "vet_passport_duplicate" {
			t.Errorf("the animal's passport is %s", now.PassportID)
		}
		var old api.DocumentView
		h.do("GET", "/v1/documents/"+a.PassportID, h.vet, nil).expect(t, 200).JSON(t, &old)
		if old.Status != "superseded" || old.SupersededBy != d.ID {
			t.Errorf("the original is %s, superseded by %s", old.Status, old.SupersededBy)
		}
	})

	t.Run("Extract", func(t *testing.T) {
		h.clock.Advance(time.Minute)
		var x api.DocumentView
		h.do("POST", "/v1/animals/"+a.ID+"/passport/extract", h.vet, map[string]any{"id": uuid.NewString()}).expect(t, 201).JSON(t, &x)
		if x.Type != "vet_passport_extract" || x.Supersedes != "" || !strings.Contains(string(x.Content), `"passport":"VPD-`) {
			t.Errorf("extract %+v", x)
		}
		var now api.AnimalView
		h.do("GET", "/v1/animals/"+a.ID, h.vet, nil).expect(t, 200).JSON(t, &now)
		if now.Passport == nil || now.Passport.Status != "valid" || now.Passport.Type != "vet_passport_duplicate" {
			t.Errorf("the passport after an extract: %+v", now.Passport)
		}
	})

	t.Run("Events", func(t *testing.T) {
		var page api.Page[api.AnimalEventView]
		h.do("GET", "/v1/animals/"+a.ID+"/events", h.farmer, nil).expect(t, 200).JSON(t, &page)
		var kinds []string
		for _, ev := range page.Items {
			kinds = append(kinds, ev.Kind)
		}
		if strings.Join(kinds, ",") != "identified,passport_duplicate,passport_extract" {
			t.Errorf("events %v", kinds)
		}
	})

	t.Run("Err", func(t *testing.T) {
		h.do("POST", "/v1/animals/"+a.ID+"/passport/duplicate", h.korday, map[string]any{"id": uuid.NewString()}).expectProblem(t, 404)
		h.do("POST", "/v1/animals/"+a.ID+"/passport/duplicate", h.farmer, map[string]any{"id": uuid.NewString()}).expectProblem(t, 403)
		h.do("POST", "/v1/animals/"+a.ID+"/passport/extract", h.vet, map[string]any{"id": "x"}).expectProblem(t, 422)
	})
}

func TestUpdateAnimal(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	a := h.identify(h.vet, h.cow("398000000000001"))
	mutation := uuid.NewString()

	t.Run("OK", func(t *testing.T) {
		var got api.AnimalView
		r := h.do("PATCH", "/v1/animals/"+a.ID, h.vet, map[string]any{"mutation_id": mutation, "colour": "ала"}, "If-Match", `"1"`)
		r.expect(t, 200).JSON(t, &got)
		if got.Colour != "ала" || got.Version != 2 || r.Header.Get("ETag") != `"2"` || got.Breed != "Әулиеата" {
			t.Errorf("patched %+v", got)
		}
	})

	t.Run("ReappliedMutation", func(t *testing.T) {
		var got api.AnimalView
		h.do("PATCH", "/v1/animals/"+a.ID, h.vet, map[string]any{"mutation_id": mutation, "colour": "ала", "version": 1}).
			expect(t, 200).JSON(t, &got)
		if got.Version != 2 {
			t.Errorf("a re-applied change moved the animal to v%d", got.Version)
		}
	})

	t.Run("ErrStale409", func(t *testing.T) {
		before := h.lastSeq()
		p := h.do("PATCH", "/v1/animals/"+a.ID, h.vet, map[string]any{"breed": "Симментал", "version": 1}).expectProblem(t, 409)
		if !strings.Contains(p.Detail, "version 2") || h.lastSeq() != before {
			t.Errorf("problem %+v", p)
		}
	})

	t.Run("ErrNoVersion422", func(t *testing.T) {
		h.do("PATCH", "/v1/animals/"+a.ID, h.vet, map[string]any{"breed": "Симментал"}).expectProblem(t, 422)
	})

	t.Run("ErrFarmer403", func(t *testing.T) {
		h.do("PATCH", "/v1/animals/"+a.ID, h.farmer, map[string]any{"breed": "Симментал", "version": 2}).expectProblem(t, 403)
	})

	t.Run("ErrOtherDistrict404", func(t *testing.T) {
		h.do("PATCH", "/v1/animals/"+a.ID, h.korday, map[string]any{"breed": "Симментал", "version": 2}).expectProblem(t, 404)
	})
}
