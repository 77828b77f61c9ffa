package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/cases"
)

// officeResults runs a feed registration and an attestation to their papers with the admin's
// rights, straight on the engine.
func officeResults(t *testing.T, e *env) {
	t.Helper()
	ctx := t.Context()
	admin := domain.Principal{UserID: "admin", Username: "admin", Role: domain.RoleAdmin}
	raw := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	lab, err := e.app.Accounts.Create(ctx, accounts.NewUser{Username: "lab", Password: "password-lab", Role: domain.RoleLaboratory})
	if err != nil {
		t.Fatal(err)
	}
	today := domain.CivilDateOf(e.clock.Now()).String()
	run := func(service string, iin string, d any, steps ...any) {
		t.Helper()
		c, _, err := e.app.Cases.Apply(ctx, admin, cases.Application{Service: service, ApplicantIIN: iin, ApplicantName: "ЖШС Береке",
			Documents: []string{"өтініш"}, Data: raw(d)})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(steps); i += 2 {
			in := cases.StepInput{}
			if steps[i+1] != nil {
				in.Data = raw(steps[i+1])
			}
			if steps[i] == "hand_over" {
				in.HandOver = cases.HandCabinet
			}
			if _, err := e.app.Cases.Advance(ctx, admin, c.ID, steps[i].(string), in); err != nil {
				t.Fatalf("%s %s: %v", service, steps[i], err)
			}
		}
	}
	run("feedreg", "880101300123", map[string]any{"name": "Құрама жем Береке", "manufacturer": "ЖШС Береке, Тараз", "territory": "313200000"},
		"review", map[string]string{"laboratory_id": lab.ID},
		"tests", map[string]any{"act": "№ 1", "act_date": today, "conforms": true},
		"approbation", nil,
		"decision", map[string]string{"valid_until": "2035-01-01"},
		"hand_over", nil)
	run("attestation", "900202400151", map[string]string{"request": "attestation", "territory": "313200000", "activity": "Ветеринариялық емдеу"},
		"commission", map[string]any{"chair": "Ахметов Б.", "members": []string{"Ли В."}, "secretary": "Сарсенова Д.", "date": today},
		"completeness", nil,
		"test", map[string]any{"score": "45/50", "passed": true},
		"interview", map[string]any{"passed": true},
		"sheet", map[string]string{"result": "attested"},
		"hand_over", nil)
}

// TestPublicRegistersJSON: the registers list the results without an IIN, search by name, and a
// register not known is refused.
func TestPublicRegistersJSON(t *testing.T) {
	e := newEnv(t)
	officeResults(t, e)
	var feeds struct {
		Items []struct {
			Number, Name, Holder, Document, Status string
			VerifyURL                              string `json:"verify_url"`
		} `json:"items"`
	}
	r := e.do("GET", "/v1/registers/feeds", "", nil).expect(t, 200)
	r.JSON(t, &feeds)
	if len(feeds.Items) != 1 || feeds.Items[0].Name != "Құрама жем Береке" || feeds.Items[0].Status != "valid" ||
		!strings.HasPrefix(feeds.Items[0].VerifyURL, "https://vet.example.kz/v/") {
		t.Fatalf("feeds %+v", feeds)
	}
	if strings.Contains(string(r.Body), "880101300123") {
		t.Fatalf("the public register shows an IIN: %s", r.Body)
	}
	r = e.do("GET", "/v1/registers/feeds?q=premix", "", nil).expect(t, 200)
	r.JSON(t, &feeds)
	if len(feeds.Items) != 0 {
		t.Fatalf("search kept %+v", feeds.Items)
	}
	r = e.do("GET", "/v1/registers/attested?q=береке", "", nil).expect(t, 200)
	r.JSON(t, &feeds)
	if len(feeds.Items) != 1 || strings.Contains(string(r.Body), "900202400151") {
		t.Fatalf("attested %s", r.Body)
	}
	e.do("GET", "/v1/registers/people", "", nil).expectProblem(t, 422)
}

// TestPublicRegisterPageInChromium renders the page of the register of feed in both languages in
// real Chromium, follows its entry's link to the paper's verify page and finds it genuine.
func TestPublicRegisterPageInChromium(t *testing.T) {
	bin := chromium(t)
	e := newEnv(t)
	officeResults(t, e)
	for lang, want := range map[string]string{"kk": "Жемшөп пен жемшөп қоспаларының мемлекеттік тізілімі", "ru": "Государственный реестр кормов и кормовых добавок"} {
		dom := renderDOM(t, bin, e.base+"/registers/feeds?lang="+lang)
		if !strings.Contains(dom, `<h1 id="title">`+want+`</h1>`) || !strings.Contains(dom, "Құрама жем Береке") {
			t.Fatalf("%s page:\n%s", lang, dom)
		}
		if strings.Contains(dom, "880101300123") {
			t.Fatal("the page shows an IIN")
		}
		i := strings.Index(dom, `class="verify" href="`)
		if i < 0 {
			t.Fatalf("no verify link:\n%s", dom)
		}
		href := dom[i+len(`class="verify" href="`):]
		href = strings.ReplaceAll(href[:strings.Index(href, `"`)], "&amp;", "&")
		page := renderDOM(t, bin, strings.Replace(href, "https://vet.example.kz", e.base, 1))
		if !strings.Contains(page, map[string]string{"kk": "ТҮПНҰСҚА", "ru": "ПОДЛИННЫЙ"}[lang]) {
			t.Fatalf("the entry's verify page is not genuine:\n%s", page)
		}
	}
	dom := renderDOM(t, bin, e.base+"/registers/attested?lang=ru&q=zzz")
	if !strings.Contains(dom, `id="empty"`) {
		t.Fatalf("a search with no match:\n%s", dom)
	}
}

// TestOfficePapersPrintAndPDF: the feed certificate and the attestation sheet print and export to
// PDF in Kazakh and Russian through the document routes every paper has.
func TestOfficePapersPrintAndPDF(t *testing.T) {
	e := newEnv(t)
	officeResults(t, e)
	feeds, _, _ := e.app.FeedReg.Register.List(t.Context(), "feeds", "", "", 10)
	people, _, _ := e.app.Attestation.List(t.Context(), "", "", 10)
	if len(feeds) != 1 || len(people) != 1 {
		t.Fatalf("%d feeds, %d attested", len(feeds), len(people))
	}
	for id, want := range map[string][]string{
		feeds[0].CertificateID: {"Жемшөп пен жемшөп қоспаларын тіркеу куәлігі", "Регистрационное удостоверение на корма и кормовые добавки", "Құрама жем Береке", feeds[0].RegNumber},
		people[0].SheetID:      {"Аттестаттау парағы", "Аттестационный лист", "Аттестован", "Председатель комиссии"},
	} {
		html := string(e.do("GET", "/v1/documents/"+id+"/print", e.admin, nil).expect(t, 200).Body)
		text := strings.Join(strings.Fields(pdfText(t, e.do("GET", "/v1/documents/"+id+"/pdf", e.admin, nil).expect(t, 200).Body)), " ")
		for _, w := range want {
			if !strings.Contains(html, w) {
				t.Errorf("the print page of %s has no %q", id, w)
			}
			if !strings.Contains(text, w) {
				t.Errorf("the PDF of %s has no %q:\n%s", id, w, text)
			}
		}
	}
}

// TestRegistersPagedAndLimited: the registers page with next, and count against the public limit
// per address like /v/{token}.
func TestRegistersPagedAndLimited(t *testing.T) {
	e := newEnv(t)
	officeResults(t, e)
	var page struct {
		Items []struct{ Number string } `json:"items"`
		Next  string                    `json:"next"`
	}
	e.do("GET", "/v1/registers/feeds?limit=1", "", nil).expect(t, 200).JSON(t, &page)
	if len(page.Items) != 1 {
		t.Fatalf("page %+v", page)
	}
	if page.Next != "" {
		e.do("GET", "/v1/registers/feeds?limit=1&after="+page.Next, "", nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 0 {
			t.Fatalf("the next page repeats %+v", page.Items)
		}
	}
	used := 1
	if page.Next != "" {
		used = 2
	}
	e.srv.SetPublicRate(used + 3)
	e.do("GET", "/v1/registers/licences", "", nil).expect(t, 200)
	e.do("GET", "/registers/drugs", "", nil).expect(t, 200)
	e.do("GET", "/v1/registers/attested", "", nil).expect(t, 200)
	e.do("GET", "/registers/feeds", "", nil).expectProblem(t, 429)
}
