package paper_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/media/paper"
)

// doc is a document of type t with content c, as Issue leaves it.
func doc(t documents.DocType, c map[string]any) *documents.Document {
	raw, _ := json.Marshal(c)
	return &documents.Document{Type: t, Number: t.Prefix() + "-2026-313200-000007", Status: documents.DocValid,
		IssuedAt: time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC), Content: raw,
		Subject: documents.Subject{Kind: documents.SubjectObject, Name: "Ақжол ЖШС", RegNumber: "ZH-0042", OwnerIIN: "880101300123"},
		Issuer:  documents.Issuer{Name: "Айгүл Серікқызы", UnitName: "Байзақ ауданы"}}
}

// texts is every phrase of a paper, to search.
func texts(p paper.Paper) []string {
	out := []string{p.Title.KK, p.Title.RU, p.Badge.KK, p.Badge.RU}
	for _, f := range p.Fields {
		out = append(out, f.Label.KK, f.Label.RU, f.Value.KK, f.Value.RU)
	}
	for _, t := range p.Tables {
		out = append(out, t.Label.KK, t.Label.RU)
		for _, r := range t.Rows {
			for _, c := range r {
				out = append(out, c.KK, c.RU)
			}
		}
	}
	return out
}

// TestEveryTypeSaysWhatItIs checks all eight types have a title and a badge in both languages,
// and that a refusal looks like no other paper.
func TestEveryTypeSaysWhatItIs(t *testing.T) {
	accents := map[string]documents.DocType{}
	for _, typ := range documents.DocTypes {
		p := paper.Build(doc(typ, map[string]any{}), "https://vet.example.kz/v/x", "https://vet.example.kz/v/x")
		if p.Title.KK == "" || p.Title.RU == "" || p.Title.KK == p.Title.RU || p.Badge.KK == "" || p.Badge.RU == "" {
			t.Errorf("%s: title %+v, badge %+v", typ, p.Title, p.Badge)
		}
		if !regexp.MustCompile(`^#[0-9a-f]{6}$`).MatchString(p.Accent) {
			t.Errorf("%s: accent %q", typ, p.Accent)
		}
		if other, ok := accents[p.Accent]; ok {
			t.Errorf("%s has the colour of %s", typ, other)
		}
		accents[p.Accent] = typ
		if p.Refusal != (typ == documents.DocRefusal) {
			t.Errorf("%s: refusal %v", typ, p.Refusal)
		}
		want := "A5"
		if typ == documents.DocConclusion {
			want = "A4"
		}
		if got := paper.PageSize(typ); got != want {
			t.Errorf("%s prints on %s", typ, got)
		}
	}
}

// TestUnknownContentIsReportedNeverJSON gives the renderer content it has no words for: it is
// reported, and still printed as words, not as JSON.
func TestUnknownContentIsReportedNeverJSON(t *testing.T) {
	p := paper.Build(doc(documents.DocCertificate, map[string]any{
		"sex": "hermaphrodite", "vehicle": "Камаз 01 ABC 02", "seals": []any{map[string]any{"number": "П-17", "intact": true}},
		"grounds": []any{map[string]any{"text_kk": "қ", "text_ru": "р", "severity": 3}},
	}), "", "")
	want := []string{"grounds.severity", "seals", "sex=hermaphrodite", "vehicle"}
	if strings.Join(p.Unlabelled, ",") != strings.Join(want, ",") {
		t.Errorf("unlabelled %v, want %v", p.Unlabelled, want)
	}
	all := strings.Join(texts(p), "\n")
	for _, w := range []string{"Камаз 01 ABC 02", "intact: Иә / Да; number: П-17"} {
		if !strings.Contains(all, w) {
			t.Errorf("the paper lacks %q:\n%s", w, all)
		}
	}
	if strings.ContainsAny(all, "{}[]\"") {
		t.Errorf("the paper prints JSON:\n%s", all)
	}
}

// TestValuesInWords checks the renderer's words for the values services write.
func TestValuesInWords(t *testing.T) {
	p := paper.Build(doc(documents.DocPassport, map[string]any{
		"sex": "male", "id_means": "ear_tag 398000000000001; bolus 643000000000002", "birth_date": "2025-04-02",
		"examination": "unhealthy: қызуы бар",
	}), "", "")
	if len(p.Unlabelled) != 0 {
		t.Errorf("unlabelled %v", p.Unlabelled)
	}
	values := map[string]paper.Text{}
	for _, f := range p.Fields {
		values[f.Key] = f.Value
	}
	for key, want := range map[string]paper.Text{
		"sex":         {KK: "Еркек", RU: "Самец"},
		"id_means":    {KK: "Сырға 398000000000001; Болюс 643000000000002", RU: "Бирка 398000000000001; Болюс 643000000000002"},
		"birth_date":  paper.Same("02.04.2025"),
		"examination": {KK: "Ауру белгілері анықталды: қызуы бар", RU: "Выявлены признаки болезни: қызуы бар"},
		"issued_at":   paper.Same("20.03.2026"),
	} {
		if values[key] != want {
			t.Errorf("%s: %+v, want %+v", key, values[key], want)
		}
	}
}

// TestPDFOfEveryType renders all eight types as PDF and reads their titles back with pdftotext.
func TestPDFOfEveryType(t *testing.T) {
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pdftotext is required under CI: run the README's test command (it installs poppler-utils)")
		}
		t.Skip("no pdftotext; `make test` installs poppler-utils")
	}
	for _, typ := range documents.DocTypes {
		p := paper.Build(doc(typ, map[string]any{"address": "Сарыкемер ауылы, Әйтеке би көшесі, 1"}), "https://vet.example.kz/v/AQF"+strings.Repeat("x", 140), "https://vet.example.kz/v/AQF"+strings.Repeat("x", 140))
		pdf, err := paper.PDF(p)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		f := filepath.Join(t.TempDir(), "p.pdf")
		if err := os.WriteFile(f, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.CommandContext(t.Context(), bin, "-enc", "UTF-8", f, "-").Output()
		if err != nil {
			t.Fatalf("%s: pdftotext: %v", typ, err)
		}
		text := strings.Join(strings.Fields(string(out)), " ")
		for _, w := range []string{p.Title.KK, p.Title.RU, p.Badge.KK, p.Number, "Мекенжайы / Адрес", "Әйтеке би", "Ақжол ЖШС"} {
			if !strings.Contains(text, w) {
				t.Errorf("%s: the PDF lacks %q:\n%s", typ, w, text)
			}
		}
	}
}
