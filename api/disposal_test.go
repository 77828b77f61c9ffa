package api_test

import (
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/storetest"
)

// slaughterSite registers a slaughter site of the object register in Bayzak.
func (h *herd) slaughterSite() api.ObjectView {
	h.t.Helper()
	var o api.ObjectView
	h.do("POST", "/v1/objects", h.vet, map[string]any{"kind": "slaughter_site", "name": "Тараз ет", "owner_iin": otherIIN,
		"address": "Сарыкемер, Өнеркәсіп к-сі 3", "territory": bayzakKato}).expect(h.t, 201).JSON(h.t, &o)
	return o
}

func slaughterBody(siteID string) map[string]any {
	return map[string]any{"id": uuid.NewString(), "kind": "slaughtered", "date": "2026-03-20", "cause": "сатуға союға жіберілді",
		"object_id": siteID, "expertise": map[string]any{"result": "fit", "act": "ВСЭ-17"}}
}

// lastSeq is the newest entry of the change log: a refused request must not move it.
func (e *env) lastSeq() int64 { return storetest.LastSeq(e.t, e.store) }

// pageText is what a person reads in an element of a rendered page: its text without tags.
func pageText(dom, id string) string {
	m := regexp.MustCompile(`(?s)<[a-z0-9]+ [^>]*id="` + id + `"[^>]*>(.*?)</(section|h1)>`).FindStringSubmatch(dom)
	if m == nil {
		return ""
	}
	text := regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], " ")
	return strings.Join(strings.Fields(html.UnescapeString(text)), " ")
}

// TestDisposal: a cow slaughtered at a site of the register leaves the register — its number
// retired, a reference for it refused, no copy of its passport — and its passport still verifies
// as genuine, saying in Kazakh and Russian that it left the register on that day and how. Its
// owner and the district see the disposal in its history; an admin corrects it with a reason.
func TestDisposal(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	site := h.slaughterSite()
	cow := h.identify(h.vet, h.cow("398000000000005"))
	h.clock.Advance(time.Minute)
	body := slaughterBody(site.ID)
	var got api.AnimalView
	h.do("POST", "/v1/animals/"+cow.ID+"/disposal", h.vet, body).expect(t, 201).JSON(t, &got)
	if got.Status != "disposed" || got.Disposal == nil || got.Disposal.Kind != "slaughtered" || got.Disposal.ObjectID != site.ID ||
		got.Disposal.Expertise == nil || got.Disposal.Expertise.Act != "ВСЭ-17" || got.Identifiers[0].Status != "retired" || got.Passport == nil {
		t.Fatalf("disposed %+v", got)
	}
	h.clock.Advance(time.Minute)

	t.Run("NumbersRetired", func(t *testing.T) {
		var tag api.TagView
		h.do("GET", "/v1/tags/398000000000005", h.vet, nil).expect(t, 200).JSON(t, &tag)
		if tag.Status != "retired" || tag.AnimalID != cow.ID {
			t.Errorf("the number is %+v", tag)
		}
		// Never fitted again, not even to the same kind of animal by the same vet.
		h.do("POST", "/v1/animals", h.vet, h.cow("398000000000005")).expectProblem(t, 409)
		// Still found by its number, as a disposed animal.
		if items := h.animals(h.vet, "?tag=398000000000005"); len(items) != 1 || items[0].Status != "disposed" {
			t.Errorf("by its number: %+v", items)
		}
	})

	t.Run("ReferenceRefused", func(t *testing.T) {
		r := h.reference(h.vet, h.refBody(cow.Tag))
		if r.Outcome != "refused" || len(r.Grounds) != 1 || r.Grounds[0].Code != "not_active" || r.Grounds[0].AnimalID != cow.ID {
			t.Errorf("a reference for a slaughtered cow: %+v", r)
		}
	})

	t.Run("NoPaperAgain", func(t *testing.T) {
		h.do("POST", "/v1/animals/"+cow.ID+"/passport/duplicate", h.vet, map[string]string{"id": uuid.NewString()}).expectProblem(t, 409)
		h.do("POST", "/v1/animals/"+cow.ID+"/passport/extract", h.vet, map[string]string{"id": uuid.NewString()}).expectProblem(t, 409)
		h.do("POST", "/v1/animals/"+cow.ID+"/tag-loss", h.vet, map[string]string{"id": uuid.NewString(), "kind": "lost"}).expectProblem(t, 409)
	})

	t.Run("VerifyPageSaysItLeft", func(t *testing.T) {
		var v api.VerificationView
		h.do("GET", "/v1/verify/"+got.Passport.Token, "", nil).expect(t, 200).JSON(t, &v)
		if v.Status != "genuine" || v.LeftRegisterOn != "2026-03-20" || v.LeftRegisterKind != "slaughtered" || v.LeftRegisterHow != "убито на убойном пункте" {
			t.Errorf("verification %+v", v)
		}
		bin := chromium(t)
		want := map[string][2]string{
			"kk": {"ТҮПНҰСҚА", "Тізілімнен шығарылды Жануар 20.03.2026 тізілімнен шығарылды: союға жіберілді. Құжат түпнұсқа, бірақ жануар енді есепте тұрмайды."},
			"ru": {"ПОДЛИННЫЙ", "Выбыло из реестра Животное выбыло из реестра 20.03.2026: убито на убойном пункте. Документ подлинный, но животное больше не состоит на учёте."},
		}
		for lang, w := range want {
			dom := renderDOM(t, bin, h.base+"/v/"+got.Passport.Token+"?lang="+lang)
			if s := pageText(dom, "status"); s != w[0] {
				t.Errorf("%s: the banner reads %q, want %q", lang, s, w[0])
			}
			if s := pageText(dom, "left-register"); s != w[1] {
				t.Errorf("%s: the page reads %q, want %q", lang, s, w[1])
			}
		}
		// A living animal's passport says nothing of the kind.
		alive := h.identify(h.vet, h.cow("398000000000006"))
		dom := renderDOM(t, bin, h.base+"/v/"+alive.Passport.Token+"?lang=ru")
		if pageText(dom, "status") != "ПОДЛИННЫЙ" || strings.Contains(dom, "left-register") {
			t.Errorf("a living animal's page:\n%s", dom)
		}
	})

	t.Run("HistoryAndOwner", func(t *testing.T) {
		for _, tok := range []string{h.vet, h.farmer} {
			var evs api.Page[api.AnimalEventView]
			h.do("GET", "/v1/animals/"+cow.ID+"/events", tok, nil).expect(t, 200).JSON(t, &evs)
			if n := len(evs.Items); n < 2 || evs.Items[1].Kind != "disposed" {
				t.Errorf("history %+v", evs.Items)
			}
			var a api.AnimalView
			h.do("GET", "/v1/animals/"+cow.ID, tok, nil).expect(t, 200).JSON(t, &a)
			if a.Disposal == nil || a.Status != "disposed" {
				t.Errorf("the animal as %s sees it: %+v", h.usernames[tok], a)
			}
		}
	})

	t.Run("RetryAnswersTheSame", func(t *testing.T) {
		seq := h.lastSeq()
		var again api.AnimalView
		h.do("POST", "/v1/animals/"+cow.ID+"/disposal", h.vet, body).expect(t, 201).JSON(t, &again)
		if again.Version != got.Version || h.lastSeq() != seq {
			t.Errorf("retry answered version %d (was %d), wrote %v", again.Version, got.Version, h.lastSeq() != seq)
		}
		other := slaughterBody(site.ID)
		h.do("POST", "/v1/animals/"+cow.ID+"/disposal", h.vet, other).expectProblem(t, 409)
	})

	t.Run("Correction", func(t *testing.T) {
		fix := map[string]any{"id": uuid.NewString(), "kind": "died", "date": "2026-03-20", "cause": "пастереллез",
			"reason": "акт қате толтырылған: сойылған жоқ"}
		h.do("POST", "/v1/animals/"+cow.ID+"/disposal/corrections", h.vet, fix).expectProblem(t, 403)
		h.clock.Advance(time.Minute)
		var c api.AnimalView
		h.do("POST", "/v1/animals/"+cow.ID+"/disposal/corrections", h.admin, fix).expect(t, 200).JSON(t, &c)
		if c.Disposal.Kind != "died" || len(c.Disposal.Corrections) != 1 || c.Disposal.Corrections[0].Earlier.Kind != "slaughtered" {
			t.Errorf("corrected %+v", c.Disposal)
		}
		var evs api.Page[api.AnimalEventView]
		h.do("GET", "/v1/animals/"+cow.ID+"/events", h.vet, nil).expect(t, 200).JSON(t, &evs)
		kinds := []string{}
		for _, e := range evs.Items {
			kinds = append(kinds, e.Kind)
		}
		// The refused reference of ReferenceRefused sits between the two.
		if strings.Join(kinds, ",") != "identified,disposed,reference,disposal_corrected" {
			t.Errorf("history %v", kinds)
		}
	})
}

// TestDisposalRefused: a disposal in the future, of an animal in transit, of another district's
// animal and by a farmer are 4xx problems, and nothing is written.
func TestDisposalRefused(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	site := h.slaughterSite()
	cow := h.identify(h.vet, h.cow("398000000000007"))
	seq := h.lastSeq()
	future := slaughterBody(site.ID)
	future["date"] = "2026-03-21"
	p := h.do("POST", "/v1/animals/"+cow.ID+"/disposal", h.vet, future).expectProblem(t, 422)
	if len(p.Errors) != 1 || p.Errors[0].Location != "body.date" {
		t.Errorf("future: %+v", p)
	}
	h.do("POST", "/v1/animals/"+cow.ID+"/disposal", h.korday, slaughterBody(site.ID)).expectProblem(t, 404)
	h.do("POST", "/v1/animals/"+cow.ID+"/disposal", h.farmer, slaughterBody(site.ID)).expectProblem(t, 403)
	noSite := slaughterBody(h.holding.ID)
	h.do("POST", "/v1/animals/"+cow.ID+"/disposal", h.vet, noSite).expectProblem(t, 422)
	noFinding := slaughterBody(site.ID)
	delete(noFinding, "expertise")
	h.do("POST", "/v1/animals/"+cow.ID+"/disposal", h.vet, noFinding).expectProblem(t, 422)
	h.do("POST", "/v1/animals/"+cow.ID+"/disposal", h.vet, map[string]any{"id": uuid.NewString(), "kind": "eaten",
		"date": "2026-03-20", "cause": "x"}).expectProblem(t, 422)

	// In transit: the movement's mark on the animal, as dispatch leaves it.
	a, err := h.app.Identification.Animals.Load(t.Context(), cow.ID)
	if err != nil {
		t.Fatal(err)
	}
	a.InTransit = uuid.NewString()
	w := &domain.Writes{}
	if err := h.app.Identification.Animals.WriteUpdate(w, a); err != nil {
		t.Fatal(err)
	}
	if _, err := domain.ApplyWrites(t.Context(), h.store, w); err != nil {
		t.Fatal(err)
	}
	seq2 := h.lastSeq()
	if seq2 != seq+1 {
		t.Errorf("the refusals wrote: the log moved from %d to %d", seq, seq2-1)
	}
	died := map[string]any{"id": uuid.NewString(), "kind": "died", "date": "2026-03-20", "cause": "ауырып өлді"}
	h.do("POST", "/v1/animals/"+cow.ID+"/disposal", h.vet, died).expectProblem(t, 409)
	if h.lastSeq() != seq2 {
		t.Error("a disposal in transit wrote")
	}
	var tag api.TagView
	h.do("GET", "/v1/tags/398000000000007", h.vet, nil).expect(t, 200).JSON(t, &tag)
	if tag.Status != "fitted" {
		t.Errorf("the number of an animal not disposed is %s", tag.Status)
	}
}

// TestDisposalOffline: a tablet records a death offline and pushes it; a repeat answers the same;
// a farmer's push is rejected, not kept as a conflict; a second disposal of the same animal from
// another tablet is a conflict answered with the server's animal.
func TestDisposalOffline(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	cow := h.identify(h.vet, h.cow("398000000000008"))
	h.clock.Advance(time.Minute)
	dispose := func(token string) map[string]any {
		return map[string]any{"id": uuid.NewString(), "kind": "animal.dispose", "record_id": cow.ID,
			"at": h.clock.Now().Format(time.RFC3339), "data": map[string]any{"id": uuid.NewString(), "kind": "died",
				"date": "2026-03-20", "cause": "ауырып өлді"}}
	}
	farmer := dispose(h.farmer)
	if res := h.push(h.farmer, farmer); len(res) != 1 || res[0].Status != "rejected" || res[0].Problem.Status != 403 {
		t.Fatalf("a farmer's push: %+v", res)
	}
	other := dispose(h.korday)
	if res := h.push(h.korday, other); len(res) != 1 || res[0].Status != "rejected" || res[0].Problem.Status != 404 {
		t.Fatalf("another district's push: %+v", res)
	}
	m := dispose(h.vet)
	res := h.push(h.vet, m)
	if len(res) != 1 || res[0].Status != "applied" || res[0].Record == nil || res[0].Record.Collection != "animals" {
		t.Fatalf("push answered %+v", res)
	}
	var a api.AnimalView
	h.do("GET", "/v1/animals/"+cow.ID, h.vet, nil).expect(t, 200).JSON(t, &a)
	if a.Status != "disposed" || a.Disposal.Kind != "died" {
		t.Fatalf("after the push: %+v", a)
	}
	seq := h.lastSeq()
	if again := h.push(h.vet, m); len(again) != 1 || again[0].Status != "applied" || h.lastSeq() != seq {
		t.Errorf("a repeated push: %+v, wrote %v", again, h.lastSeq() != seq)
	}
	second := dispose(h.vet2)
	if res := h.push(h.vet2, second); len(res) != 1 || res[0].Status != "conflict" || res[0].Record == nil {
		t.Errorf("a second disposal: %+v", res)
	}
}
