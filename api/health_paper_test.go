package api_test

import (
	"strings"
	"testing"
)

// TestPassportMeasurePages reads a passport's PDF and print view as a person would: after the
// signed part, a page of vaccinations and a page of diagnostic tests, as the paper veterinary
// passport has, every column labelled and every value in Kazakh and Russian.
func TestPassportMeasurePages(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	cow := h.identify(h.vet, h.cow("398000000000001"))
	h.vaccinate(h.vet, h.vaccinationBody("anthrax", byID(cow.ID)))
	test := h.sample(h.vet, h.sampleBody("brucellosis", "2026-03-10", byID(cow.ID)))
	h.sample(h.vet, h.sampleBody("leukosis", "2026-03-18", byID(cow.ID))) // no result yet
	h.do("POST", "/v1/diagnostic-tests/"+test.ID+"/results", h.vet,
		resultBody("245-Б", map[string]any{"id": cow.ID, "result": "positive"})).expect(t, 200)

	wants := []string{
		// the page of vaccinations: its title, its columns and the row
		"Вакцинациялау", "Вакцинации", "Күні", "Дата", "Ауру", "Заболевание", "Сериясы", "Серия", "Дозасы", "Доза",
		"Топалаң", "Сибирская", "С-17-2026", "19.03.2026", "Айгүл",
		// the page of tests
		"Диагностикалық", "Диагностические", "Нәтижесі", "Результат", "Бруцеллез", "Бруцеллёз", "Лейкоз", "10.03.2026",
		"бенгал", "245-Б", "Оң", "Положительный", "күтілуде", "ожидается",
	}
	pdf := h.do("GET", "/v1/documents/"+cow.PassportID+"/pdf", h.farmer, nil).expect(t, 200).Body
	text := pdfText(t, pdf)
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("the passport's PDF lacks %q", w)
		}
	}
	// Each page of measures is a page of its own, after the signed part.
	pages := strings.Split(text, "\f")
	if len(pages) < 3 || !strings.Contains(pages[len(pages)-3], "Вакцинациялау") && !strings.Contains(pages[1], "Вакцинациялау") {
		t.Errorf("the PDF has %d pages; the measures are not on pages of their own", len(pages))
	}
	if strings.Contains(pages[0], "Вакцинациялау") {
		t.Error("the page of vaccinations shares the passport's first page")
	}
	html := string(h.do("GET", "/v1/documents/"+cow.PassportID+"/print", h.vet, nil).expect(t, 200).Body)
	for _, w := range append(wants, `data-key="vaccinations"`, `data-key="diagnostic_tests"`) {
		if !strings.Contains(html, w) && !strings.Contains(html, template(w)) {
			t.Errorf("the print view lacks %q", w)
		}
	}
	// A passport of an animal with no measures says so, in both languages.
	other := h.identify(h.vet, h.cow("398000000000002"))
	text = pdfText(t, h.do("GET", "/v1/documents/"+other.PassportID+"/pdf", h.vet, nil).expect(t, 200).Body)
	if !strings.Contains(text, "Жазба жоқ") || !strings.Contains(text, "Записей нет") {
		t.Errorf("an empty page of measures does not say so:\n%s", text)
	}
}
