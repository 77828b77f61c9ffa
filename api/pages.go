package api

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"sort"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
)

//go:embed pages/*.html
var pageFiles embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{"dmy": dmy}).ParseFS(pageFiles, "pages/*.html"))

// dmy shows an ISO date (2026-03-20) the way papers in Kazakhstan print it (20.03.2026).
func dmy(iso string) string {
	t, err := time.Parse(time.DateOnly, iso)
	if err != nil {
		return iso
	}
	return t.Format("02.01.2006")
}

// verifyTexts are the words of the verification page in one language.
type verifyTexts struct {
	Title, Type, Number, Date, Species, Tag, Object, RegNumber, Owner, Unit, Reason, Footer string
	Banner                                                                                  map[string]string
	Superseded, Revoked, NotGenuine                                                         string
}

var verifyLang = map[string]verifyTexts{
	"kk": {
		Title: "Құжатты тексеру", Type: "Құжат түрі", Number: "Нөмірі", Date: "Берілген күні",
		Species: "Жануар түрі", Tag: "Жеке нөмірі", Object: "Объект", RegNumber: "Есептік нөмірі",
		Owner: "Иесінің ЖСН/БСН", Unit: "Берген мекеме", Reason: "Себебі",
		Footer: "Ветеринариялық құжаттарды тексеру қызметі",
		Banner: map[string]string{
			documents.VerifyGenuine: "ТҮПНҰСҚА", documents.VerifySuperseded: "АУЫСТЫРЫЛҒАН",
			documents.VerifyRevoked: "КҮШІ ЖОЙЫЛҒАН", documents.VerifyNotGenuine: "ТҮПНҰСҚА ЕМЕС",
		},
		Superseded: "Бұл құжаттың орнына жаңасы берілді: %s",
		Revoked:    "Құжаттың күші %s жойылды.",
		NotGenuine: "Бұл код ветеринариялық қызмет берген құжатқа сәйкес келмейді.",
	},
	"ru": {
		Title: "Проверка документа", Type: "Вид документа", Number: "Номер", Date: "Дата выдачи",
		Species: "Вид животного", Tag: "Индивидуальный номер", Object: "Объект", RegNumber: "Учетный номер",
		Owner: "ИИН/БИН владельца", Unit: "Выдавший орган", Reason: "Причина",
		Footer: "Служба проверки ветеринарных документов",
		Banner: map[string]string{
			documents.VerifyGenuine: "ПОДЛИННЫЙ", documents.VerifySuperseded: "ЗАМЕНЁН",
			documents.VerifyRevoked: "ОТОЗВАН", documents.VerifyNotGenuine: "НЕ ПОДЛИННЫЙ",
		},
		Superseded: "Вместо этого документа выдан новый: %s",
		Revoked:    "Документ отозван %s.",
		NotGenuine: "Этот код не соответствует документу, выданному ветеринарной службой.",
	},
}

// renderVerifyPage renders the public verification page.
func renderVerifyPage(v VerificationView, lang, path string) ([]byte, error) {
	t := verifyLang[lang]
	detail := ""
	switch v.Status {
	case documents.VerifySuperseded:
		detail = fmt.Sprintf(t.Superseded, v.SupersededBy)
	case documents.VerifyRevoked:
		detail = fmt.Sprintf(t.Revoked, dmy(v.RevokedAt))
	case documents.VerifyNotGenuine:
		detail = t.NotGenuine
	}
	var buf bytes.Buffer
	err := pages.ExecuteTemplate(&buf, "verify.html", map[string]any{
		"Lang": lang, "T": t, "Status": v.Status, "Banner": t.Banner[v.Status], "Detail": detail, "V": v, "Path": path,
	})
	return buf.Bytes(), err
}

// printRow is one line of a printed document, labelled in both languages.
type printRow struct{ KK, RU, Value string }

// contentLabels name the content fields services put on paper; unknown fields print under their
// own key.
var contentLabels = map[string][2]string{
	"species":        {"Жануар түрі", "Вид животного"},
	"sex":            {"Жынысы", "Пол"},
	"birth_date":     {"Туған күні", "Дата рождения"},
	"breed":          {"Тұқымы", "Порода"},
	"colour":         {"Түсі", "Масть"},
	"id_means":       {"Бірдейлендіру тәсілі", "Способ идентификации"},
	"tag":            {"Жеке нөмірі", "Индивидуальный номер"},
	"holding":        {"Шаруашылық", "Хозяйство"},
	"owner":          {"Иесі", "Владелец"},
	"purpose":        {"Мақсаты", "Цель"},
	"destination":    {"Баратын жері", "Пункт назначения"},
	"result":         {"Нәтижесі", "Результат"},
	"ground":         {"Негіздеме", "Основание"},
	"previous_tag":   {"Бұрынғы нөмірі", "Прежний номер"},
	"examination":    {"Тексеру нәтижесі", "Результат осмотра"},
	"object":         {"Объект", "Объект"},
	"violations":     {"Бұзушылықтар", "Нарушения"},
	"recommendation": {"Ұсыныстар", "Рекомендации"},
}

// renderPrintPage lays a document out for print, with its QR code.
func renderPrintPage(d *documents.Document, verifyURL string, qrPNG []byte) ([]byte, error) {
	rows := []printRow{
		{"Берілген күні", "Дата выдачи", d.IssuedAt.In(domain.Almaty).Format("02.01.2006")},
	}
	if d.ValidUntil != nil {
		rows = append(rows, printRow{"Жарамды мерзімі", "Действителен до", d.ValidUntil.In(domain.Almaty).Format("02.01.2006")})
	}
	if d.Subject.Tag != "" {
		rows = append(rows, printRow{"Жеке нөмірі", "Индивидуальный номер", d.Subject.Tag})
	}
	if d.Subject.Species != "" {
		sp := domain.Species(d.Subject.Species)
		rows = append(rows, printRow{"Жануар түрі", "Вид животного", sp.Name("kk") + " / " + sp.Name("ru")})
	}
	if d.Subject.Name != "" && d.Subject.Kind != documents.SubjectAnimal {
		rows = append(rows, printRow{"Объект", "Объект", d.Subject.Name})
	}
	if d.Subject.RegNumber != "" {
		rows = append(rows, printRow{"Есептік нөмірі", "Учетный номер", d.Subject.RegNumber})
	}
	if d.Subject.OwnerIIN != "" {
		rows = append(rows, printRow{"Иесінің ЖСН/БСН", "ИИН/БИН владельца", string(d.Subject.OwnerIIN)})
	}
	rows = append(rows, contentRows(d.Content)...)
	status := ""
	switch d.Status {
	case documents.DocSuperseded:
		status = "АУЫСТЫРЫЛҒАН / ЗАМЕНЁН: " + d.SupersededByNo
	case documents.DocRevoked:
		status = "КҮШІ ЖОЙЫЛҒАН / ОТОЗВАН: " + d.RevokeReason
	}
	var buf bytes.Buffer
	err := pages.ExecuteTemplate(&buf, "print.html", map[string]any{
		"TypeKK": d.Type.Name("kk"), "TypeRU": d.Type.Name("ru"), "Number": d.Number,
		"QR": base64.StdEncoding.EncodeToString(qrPNG), "Rows": rows, "Status": status,
		"IssuerName": d.Issuer.Name, "UnitName": firstNonEmpty(d.Issuer.UnitName, string(d.Issuer.Unit)),
		"VerifyURL": verifyURL,
	})
	return buf.Bytes(), err
}

// contentRows prints a document's content fields: known ones with their labels, in a stable order.
func contentRows(content json.RawMessage) []printRow {
	var fields map[string]any
	if json.Unmarshal(content, &fields) != nil {
		return nil
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var rows []printRow
	for _, k := range keys {
		v := printValue(fields[k])
		if v == "" {
			continue
		}
		label, ok := contentLabels[k]
		if !ok {
			label = [2]string{k, k}
		}
		rows = append(rows, printRow{label[0], label[1], v})
	}
	return rows
}

func printValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if t, err := time.Parse(time.RFC3339, x); err == nil {
			return t.In(domain.Almaty).Format("02.01.2006 15:04")
		}
		return dmy(x)
	case float64, bool:
		return fmt.Sprint(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
