package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/media/paper"
)

// tool returns the path of a command-line program the test needs: poppler's pdftotext and
// pdftoppm, which `make test` installs. Under CI its absence fails the test; elsewhere it skips.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required under CI: run the README's test command (it installs poppler-utils and zbar-tools)", name)
	}
	t.Skipf("no %s; `make test` installs poppler-utils and zbar-tools", name)
	return ""
}

// papers are documents of every kind the services issue, issued through the API.
type papers struct {
	h                                    *herd
	passport, extract, reference, refuse api.DocumentView
	// Decision is the quarantine decision's number as the admin typed it, with its sign.
	decision string
}

// issuePapers identifies a cow (its passport), takes an extract, issues a reference, then declares
// a quarantine and has a second reference refused.
func issuePapers(t *testing.T) papers {
	t.Helper()
	h := newHerd(t)
	body := h.cow("398000000000001")
	body["nickname"] = "Айһан"
	cow := h.identify(h.vet, body)
	var ext api.DocumentView
	h.do("POST", "/v1/animals/"+cow.ID+"/passport/extract", h.vet, map[string]any{"id": uuid.NewString()}).expect(t, 201).JSON(t, &ext)
	ref := h.reference(h.vet, h.refBody(cow.Tag))
	p := papers{h: h, passport: *cow.Passport, extract: ext, reference: *ref.Document, decision: "№ 12-Қ"}
	h.declare("quarantine", "fmd", bayzakKato, p.decision)
	refused := h.reference(h.vet2, h.refBody(cow.Tag))
	refusal(t, refused)
	p.refuse = *refused.Document
	return p
}

// inspectionPapers decides a non-conformity with a photo (the conclusion) and refuses an
// incomplete application (the refusal of service 1).
func inspectionPapers(t *testing.T) (e *env, conclusion, refused api.DocumentView) {
	t.Helper()
	e = newEnv(t)
	in := e.onSite()
	ph := e.uploadPhoto(in.Inspector, in.ID, photo(t, 320, 240, 1))
	item := map[string]any{"code": "R1", "requirement": "Мал қоралары дезинфекцияланған", "conform": true, "photos": []string{ph.ID}}
	e.do("PUT", "/v1/inspections/"+in.ID+"/checklist", in.Inspector, map[string]any{"items": []any{item, violation}}).expect(t, 200)
	e.do("POST", "/v1/inspections/"+in.ID+"/act", in.Inspector, map[string]any{"summary": "Бір бұзушылық анықталды", "gps": gps}).expect(t, 200)
	var v api.InspectionView
	e.do("POST", "/v1/inspections/"+in.ID+"/decision", e.admin, map[string]any{"outcome": "non_conformity"}).expect(t, 200).JSON(t, &v)
	conclusion, _ = e.conclusion(e.admin, v)

	other := e.assigned()
	e.do("POST", "/v1/inspections/"+other.ID+"/completeness", other.Inspector, map[string]any{"complete": false,
		"missing": []string{"жер учаскесіне құқық белгілейтін құжат"}, "ground": "Құжаттар толық емес (Стандарттың 9-тармағы)"}).
		expect(t, 200).JSON(t, &v)
	e.do("GET", "/v1/documents/"+v.Completeness.RefusalID, e.admin, nil).expect(t, 200).JSON(t, &refused)
	return e, conclusion, refused
}

// stored is the document as the domain holds it, for the renderer.
func (e *env) stored(id string) *documents.Document {
	e.t.Helper()
	d, err := e.srv.Documents.Get(e.t.Context(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// jsonLike finds what a paper must never print: JSON objects or arrays, or a code with an
// underscore that should have been put in words.
var jsonLike = regexp.MustCompile(`[\[{]"|"[:,]|\b[a-z]+_[a-z_]+\b`)

// codes returns what jsonLike finds in the text of a paper, leaving out the verification address at
// its foot: a token's base64url may look like a code.
func codes(text string) string {
	if i := strings.Index(text, paper.LabelCheck.KK); i >= 0 {
		text = text[:i]
	}
	return jsonLike.FindString(text)
}

// TestPaperOfEveryService renders a document of every kind the services issue and checks the
// renderer had words for every content key and value, and that the print view shows them in both
// languages, never as JSON or codes.
func TestPaperOfEveryService(t *testing.T) {
	t.Parallel()
	p := issuePapers(t)
	e, conclusion, inspRefusal := inspectionPapers(t)
	docs := []struct {
		e   *env
		doc api.DocumentView
	}{{p.h.env, p.passport}, {p.h.env, p.extract}, {p.h.env, p.reference}, {p.h.env, p.refuse}, {e, conclusion}, {e, inspRefusal}}
	for _, c := range docs {
		t.Run(string(c.doc.Type)+"/"+c.doc.Number, func(t *testing.T) {
			pp := paper.Build(c.e.stored(c.doc.ID), c.doc.VerifyURL, c.doc.VerifyURL)
			if len(pp.Unlabelled) != 0 {
				t.Errorf("no words on paper for %v", pp.Unlabelled)
			}
			html := string(c.e.do("GET", "/v1/documents/"+c.doc.ID+"/print", c.e.admin, nil).expect(t, 200).Body)
			body := html[strings.Index(html, "<body>"):]
			visible := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(body, " ")
			if m := codes(visible); m != "" {
				t.Errorf("the print view shows %q:\n%s", m, visible)
			}
			for _, f := range pp.Fields {
				for _, want := range []string{f.Label.KK, f.Label.RU, f.Value.KK, f.Value.RU} {
					if !strings.Contains(visible, template(want)) {
						t.Errorf("the print view lacks %q (%s)", want, f.Key)
					}
				}
			}
		})
	}
	// What each kind must say in words.
	wants := map[string][]string{
		p.passport.ID:  {"Ұрғашы", "Самка", "Бирка 398000000000001", "Сырға 398000000000001", "Лақап аты", "Кличка", "Айһан"},
		p.extract.ID:   {"Паспорттың нөмірі", "Номер паспорта", p.passport.Number},
		p.reference.ID: {"Сату", "Продажа", "Справка выдана", "Выдача ветеринарной справки", "Здоровы", "Животные"},
		p.refuse.ID: {"В выдаче справки отказано", "Основания отказа", "решение № 12-Қ от 19.03.2026", "19.03.2026 № 12-Қ шешім",
			"Действующие ограничения", "карантин: Ящур", "Отказ — не разрешение"},
		conclusion.ID:  {"Не соответствует ветеринарно-санитарным требованиям", "Көң тікелей топыраққа төгілген", "Рекомендация", "SHA-256", "@page { size: A4"},
		inspRefusal.ID: {"Недостающие документы", "жер учаскесіне құқық белгілейтін құжат", "9-тармағы", "Выдача ветеринарно-санитарного заключения"},
	}
	for _, c := range docs {
		html := string(c.e.do("GET", "/v1/documents/"+c.doc.ID+"/print", c.e.admin, nil).Body)
		for _, w := range wants[c.doc.ID] {
			if !strings.Contains(html, template(w)) {
				t.Errorf("the print view of %s lacks %q", c.doc.Number, w)
			}
		}
		if strings.Contains(html, "№ №") {
			t.Errorf("the print view of %s prints the number sign twice", c.doc.Number)
		}
	}
}

// template is s as html/template escapes it in text.
func template(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;").Replace(s)
}

// pdfText extracts the text of a PDF with poppler's pdftotext.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin := tool(t, "pdftotext")
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), bin, "-enc", "UTF-8", f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// pdfPage rasterises the first page of a PDF with poppler's pdftoppm, as a PNG at 200 dpi.
func pdfPage(t *testing.T, pdf []byte) []byte {
	t.Helper()
	bin := tool(t, "pdftoppm")
	dir := t.TempDir()
	f := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(t.Context(), bin, "-png", "-r", "200", "-f", "1", "-l", "1", "-singlefile", f, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	png, err := os.ReadFile(filepath.Join(dir, "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	return png
}

// pageSize reads the first page's size in points with poppler's pdfinfo.
func pageSize(t *testing.T, pdf []byte) string {
	t.Helper()
	bin := tool(t, "pdfinfo")
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), bin, f).Output()
	if err != nil {
		t.Fatalf("pdfinfo: %v", err)
	}
	m := regexp.MustCompile(`Page size:\s+(.*)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("pdfinfo says no page size:\n%s", out)
	}
	return m[1]
}

// TestDocumentPDF reads the PDF of a passport, a refusal and a conclusion as a person would: its
// text in both languages, Kazakh letters included, its page size, and its QR code, scanned off the
// rasterised page, which must lead to the document's verification page.
func TestDocumentPDF(t *testing.T) {
	t.Parallel()
	p := issuePapers(t)
	e, conclusion, _ := inspectionPapers(t)
	cases := []struct {
		e    *env
		doc  api.DocumentView
		size string
		want []string
	}{
		{p.h.env, p.passport, "A5", []string{"Ветеринариялық паспорт", "Ветеринарный паспорт", p.passport.Number,
			"Жынысы / Пол", "Ұрғашы", "Самка", "Туған күні / Дата рождения", "02.04.2025", "Тұқымы / Порода", "Әулиеата",
			"Түсі / Масть", "қызыл", "Иесінің ЖСН/БСН", "Бирка 398000000000001", "Айһан", "Ірі қара мал", "Крупный рогатый скот",
			"Қолы, мөрі / Подпись, печать", "Айгүл Серікқызы"}},
		{p.h.env, p.refuse, "A5", []string{"Дәлелді бас тарту", "Мотивированный отказ", "Бас тарту — рұқсат емес",
			"Отказ — не разрешение", "Бас тарту негіздері / Основания отказа", "№ 12-Қ", "Сату", "Продажа"}},
		{e, conclusion, "A4", []string{"Ветеринариялық-санитариялық қорытынды", "Ветеринарно-санитарное заключение",
			"Бұзушылықтар / Нарушения", "Көң тікелей топыраққа төгілген", "30 күн ішінде бетон алаң жасау", "SHA-256"}},
	}
	for _, c := range cases {
		t.Run(string(c.doc.Type), func(t *testing.T) {
			r := c.e.do("GET", "/v1/documents/"+c.doc.ID+"/pdf", c.e.admin, nil).expect(t, 200)
			if ct := r.Header.Get("Content-Type"); ct != "application/pdf" || !bytes.HasPrefix(r.Body, []byte("%PDF-")) {
				t.Fatalf("Content-Type %q, starts %q", ct, r.Body[:min(8, len(r.Body))])
			}
			text := pdfText(t, r.Body)
			flat := strings.Join(strings.Fields(text), " ")
			for _, w := range c.want {
				if !strings.Contains(flat, w) {
					t.Errorf("the PDF lacks %q:\n%s", w, text)
				}
			}
			if m := codes(flat); strings.Contains(flat, "№ №") || m != "" {
				t.Errorf("the PDF prints codes or JSON: %q", m)
			}
			if size := pageSize(t, r.Body); !strings.Contains(size, "("+c.size+")") {
				t.Errorf("page size %s, want %s", size, c.size)
			}
			png := pdfPage(t, r.Body)
			if dir := os.Getenv("VETFIELD_SCREENSHOTS"); dir != "" {
				os.WriteFile(filepath.Join(dir, "pdf-"+string(c.doc.Type)+".png"), png, 0o644)
			}
			if got := decodeQR(t, png); got != c.doc.VerifyURL {
				t.Errorf("the printed QR code reads %q, want %q", got, c.doc.VerifyURL)
			}
		})
	}
	// Kazakh letters the font must carry, all found in the passport's text.
	text := pdfText(t, p.h.do("GET", "/v1/documents/"+p.passport.ID+"/pdf", p.h.admin, nil).expect(t, 200).Body)
	for _, r := range "әғқңөұүһі" {
		if !strings.ContainsRune(strings.ToLower(text), r) {
			t.Errorf("the PDF has no %q", r)
		}
	}
	// The same access rules as the print view: another district's vet and strangers get nothing.
	p.h.do("GET", "/v1/documents/"+p.passport.ID+"/pdf", p.h.korday, nil).expectProblem(t, 404)
	p.h.do("GET", "/v1/documents/"+p.passport.ID+"/pdf", "", nil).expectProblem(t, 401)
	p.h.do("GET", "/v1/documents/"+p.passport.ID+"/pdf", p.h.farmer2, nil).expectProblem(t, 404)
	p.h.do("GET", "/v1/documents/"+p.passport.ID+"/pdf", p.h.farmer, nil).expect(t, 200)
}

// chromiumPDF prints url with headless Chromium, as a person's Print button would, and returns the
// PDF.
func chromiumPDF(t *testing.T, bin, url string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	out := filepath.Join(t.TempDir(), "print.pdf")
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--no-pdf-header-footer", "--print-to-pdf="+out, url)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium --print-to-pdf %s: %v\n%s", url, err, b)
	}
	pdf, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return pdf
}

// TestPaperInChromium prints the print view of a passport and a refusal with real Chromium and
// reads what came out on paper (its size and text), and loads the public page of the refusal,
// which must say it is a genuine refusal, not an approval, and give the grounds.
func TestPaperInChromium(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	p := issuePapers(t)
	h := p.h
	for _, c := range []struct {
		doc  api.DocumentView
		want []string
	}{
		{p.passport, []string{"Ветеринариялық паспорт", "Ветеринарный паспорт", "Жынысы / Пол", "Ұрғашы", "Самка", "Әулиеата", "Айһан"}},
		{p.refuse, []string{"Дәлелді бас тарту", "Мотивированный отказ", "Бас тарту негіздері / Основания отказа",
			"решение № 12-Қ от 19.03.2026", "В выдаче справки отказано"}},
	} {
		// The print view needs a bearer token, which a browser on the command line cannot send: the
		// page is saved as the browser would save it and printed from the file.
		html := h.do("GET", "/v1/documents/"+c.doc.ID+"/print", h.admin, nil).expect(t, 200).Body
		f := filepath.Join(t.TempDir(), "print.html")
		if err := os.WriteFile(f, html, 0o600); err != nil {
			t.Fatal(err)
		}
		pdf := chromiumPDF(t, bin, "file://"+f)
		if size := pageSize(t, pdf); !strings.Contains(size, "(A5)") {
			t.Errorf("Chromium printed %s on %s, want A5", c.doc.Number, size)
		}
		text := strings.Join(strings.Fields(pdfText(t, pdf)), " ")
		for _, w := range append(c.want, c.doc.Number) {
			if !strings.Contains(text, w) {
				t.Errorf("the printed %s lacks %q:\n%s", c.doc.Number, w, text)
			}
		}
		if m := codes(text); strings.Contains(text, "№ №") || m != "" {
			t.Errorf("the printed %s shows %q", c.doc.Number, m)
		}
	}

	for lang, want := range map[string][]string{
		"ru": {"ПОДЛИННЫЙ ОТКАЗ", "Это не разрешение", "Основания отказа", "решение № 12-Қ от 19.03.2026", "Мотивированный отказ", "Отказ — не разрешение"},
		"kk": {"ТҮПНҰСҚА БАС ТАРТУ", "Бұл рұқсат емес", "Бас тарту негіздері", "19.03.2026 № 12-Қ шешім", "Дәлелді бас тарту"},
	} {
		dom := renderDOM(t, bin, h.base+"/v/"+p.refuse.Token+"?lang="+lang)
		for _, w := range want {
			if !strings.Contains(dom, w) {
				t.Errorf("the %s refusal page lacks %q:\n%s", lang, w, dom)
			}
		}
		if strings.Contains(dom, `<h1 id="status">ПОДЛИННЫЙ</h1>`) || strings.Contains(dom, `<h1 id="status">ТҮПНҰСҚА</h1>`) ||
			strings.Contains(dom, `class="banner genuine"`) || strings.Contains(dom, "№ №") {
			t.Errorf("the %s refusal page reads like an approval:\n%s", lang, dom)
		}
		text := strings.Join(strings.Fields(pdfText(t, chromiumPDF(t, bin, h.base+"/v/"+p.refuse.Token+"?lang="+lang))), " ")
		if !strings.Contains(text, want[0]) || !strings.Contains(text, want[3]) {
			t.Errorf("the printed %s refusal page shows no %q or %q:\n%s", lang, want[0], want[3], text)
		}
	}
	// A passport's page stays the green GENUINE, with its own badge.
	dom := renderDOM(t, bin, h.base+"/v/"+p.passport.Token+"?lang=ru")
	if !strings.Contains(dom, `<h1 id="status">ПОДЛИННЫЙ</h1>`) || !strings.Contains(dom, `class="banner genuine"`) ||
		!strings.Contains(dom, "Документ животного") || strings.Contains(dom, "ОТКАЗ") {
		t.Errorf("the passport's page:\n%s", dom)
	}
	if dir := os.Getenv("VETFIELD_SCREENSHOTS"); dir != "" {
		renderDOM(t, bin, h.base+"/v/"+p.refuse.Token+"?lang=ru", "--screenshot="+dir+"/verify-refusal-ru.png", "--window-size=412,1100")
	}
}

// TestVerifyPageLanguage checks Accept-Language is read with its q-values.
func TestVerifyPageLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	doc := e.issuePassport("880101300123")
	for accept, want := range map[string]string{
		"kk;q=0.5,ru;q=0.9":       "ru",
		"ru;q=0.9, kk;q=0.5":      "ru",
		"kk-KZ,ru;q=0.9":          "kk",
		"en-US,en;q=0.9,ru;q=0.8": "ru",
		"ru;q=0, kk;q=0.1":        "kk",
		"ru;q=0":                  "kk",
		"RU-ru;Q=1, kk;q=0.99":    "ru",
		"ru;q=abc, kk;q=0.2":      "kk",
		"":                        "kk",
		"de, fr;q=0.5":            "kk",
		"kk;q=0.9, ru;q=0.9":      "kk", // a tie goes to the first
	} {
		page := string(e.do("GET", "/v/"+doc.Token, "", nil, "Accept-Language", accept).expect(t, 200).Body)
		if !strings.Contains(page, `<html lang="`+want+`">`) {
			t.Errorf("Accept-Language %q: not the %s page", accept, want)
		}
	}
	page := string(e.do("GET", "/v/"+doc.Token+"?lang=kk", "", nil, "Accept-Language", "ru").expect(t, 200).Body)
	if !strings.Contains(page, `<html lang="kk">`) {
		t.Errorf("?lang=kk lost to Accept-Language")
	}
}

// TestPaperMediaTypes checks the OpenAPI declares what the paper routes really answer.
func TestPaperMediaTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var spec struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]json.RawMessage `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	e.do("GET", "/openapi.json", "", nil).expect(t, 200).JSON(t, &spec)
	for path, want := range map[string]string{
		"/v1/documents/{id}/pdf":    "application/pdf",
		"/v1/documents/{id}/qr.png": "image/png",
		"/v1/documents/{id}/print":  "text/html",
		"/v/{token}":                "text/html",
	} {
		content := spec.Paths[path]["get"].Responses["200"].Content
		if _, ok := content[want]; !ok || len(content) != 1 {
			t.Errorf("%s declares %v, want only %s", path, keys(content), want)
		}
	}
	doc := e.issuePassport("880101300123")
	if ct := e.do("GET", "/v/"+doc.Token, "", nil).expect(t, 200).Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("/v/{token} answers %s", ct)
	}
}

func keys(m map[string]json.RawMessage) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestGoldenPages pins the print view of a passport and of a refusal and the public pages of both,
// byte for byte after what changes between runs (tokens, the QR image) is replaced: a changed
// label or layout fails here. `go test ./api -run Golden -update` rewrites the files.
func TestGoldenPages(t *testing.T) {
	t.Parallel()
	p := issuePapers(t)
	h := p.h
	pages := map[string]string{
		"print_passport.html":    "/v1/documents/" + p.passport.ID + "/print",
		"print_refusal.html":     "/v1/documents/" + p.refuse.ID + "/print",
		"verify_passport.html":   "/v/" + p.passport.Token + "?lang=kk",
		"verify_refusal_ru.html": "/v/" + p.refuse.Token + "?lang=ru",
	}
	norm := strings.NewReplacer(p.passport.Token, "{passport-token}", p.refuse.Token, "{refusal-token}")
	qr := regexp.MustCompile(`data:image/png;base64,[^"]+`)
	for name, path := range pages {
		body := h.do("GET", path, h.admin, nil).expect(t, 200).Body
		got := qr.ReplaceAll([]byte(norm.Replace(string(body))), []byte("data:image/png;base64,{qr}"))
		golden(t, name, got)
	}
}
