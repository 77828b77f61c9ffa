// Package paper turns an issued document into the paper a person reads: a title, labelled rows
// and tables, every enumerated value translated, in Kazakh and Russian. It is the one renderer
// behind the print view, the PDF and the public verification page, so the three never disagree
// about what a document says; services keep writing content in codes and the wording lives here.
package paper

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
)

// Text is a phrase in both languages of the paper. A value that reads the same in both (a number,
// a name) has KK == RU and is printed once.
type Text struct{ KK, RU string }

// Same is text that does not change between the languages.
func Same(s string) Text { return Text{s, s} }

// In returns the text in lang ("kk" or "ru").
func (t Text) In(lang string) string {
	if lang == "kk" {
		return t.KK
	}
	return t.RU
}

// Both is the text as a bilingual paper prints it on one line: "kk / ru", or once when the two
// are the same.
func (t Text) Both() string {
	if t.KK == t.RU {
		return t.KK
	}
	return t.KK + " / " + t.RU
}

// Bilingual reports whether the two languages differ, so a layout knows to give the Russian its
// own line.
func (t Text) Bilingual() bool { return t.KK != t.RU }

// Field is one labelled line of a paper.
type Field struct {
	Key   string
	Label Text
	Value Text
}

// Table is a labelled list of rows (the animals of a reference, the violations of a conclusion).
type Table struct {
	Key     string
	Label   Text
	Columns []Text
	Rows    [][]Text
	// Weights share the width among the columns other than "№" in the PDF, when set (one per
	// column, the "№" column's ignored); otherwise they share it equally.
	Weights []float64
}

// Paper is a document as it is read on paper.
type Paper struct {
	Type   documents.DocType
	Title  Text
	Number string
	// Badge is what the paper is at a glance (a permit, a refusal, a record), and Accent its
	// colour, so a refusal never looks like an approval.
	Badge  Text
	Accent string
	// Refusal is set on a motivated refusal: the verification page says so in words.
	Refusal bool
	// Status is the document's status; StatusNote says in words what a superseded or revoked
	// paper became.
	Status     string
	StatusNote Text
	Fields     []Field
	Tables     []Table
	// Grounds are a refusal's grounds in words, one a line.
	Grounds []Text
	// Issuer and Unit sign the paper.
	Issuer, Unit string
	// VerifyURL is what the QR code encodes (the compact upper-case form); VerifyLink the same
	// check as a person reads and types it, printed beside the code.
	VerifyURL, VerifyLink string
	// Pages are printed after the signed part, each on a page of its own: the passport's pages
	// of vaccinations and diagnostic tests (MeasurePages).
	Pages []Page
	// Unlabelled lists the content keys (and "key=value" for enumerated values) the catalogue has
	// no words for. They are still printed, readably, under their code, but a test keeps the list
	// empty for every content a service writes.
	Unlabelled []string
}

// typeLook is how each type shows what it is at a glance.
var typeLook = map[documents.DocType]struct {
	badge  Text
	accent string
}{
	documents.DocPassport:          {Text{"Жануардың құжаты", "Документ животного"}, "#1b4d7e"},
	documents.DocPassportDuplicate: {Text{"Паспорттың телнұсқасы", "Дубликат паспорта"}, "#2f5f8f"},
	documents.DocPassportExtract:   {Text{"Паспорттан үзінді", "Выписка из паспорта"}, "#4a6d8c"},
	documents.DocReference:         {Text{"Рұқсат етіледі", "Разрешение"}, "#1b7f3b"},
	documents.DocConclusion:        {Text{"Объектіні тексеру қорытындысы", "Заключение по объекту"}, "#5b3f8f"},
	documents.DocCertificate:       {Text{"Жүкті алып жүретін құжат", "Сопроводительный документ"}, "#0f6e6e"},
	documents.DocRegNumber:         {Text{"Объектінің есептік нөмірі", "Учетный номер объекта"}, "#6b5a1e"},
	documents.DocRefusal:           {Text{"Бас тарту — рұқсат емес", "Отказ — не разрешение"}, "#8a1c1c"},
	documents.DocTalon:             {Text{"Өтініш қабылданды — нәтиже емес", "Заявление принято — не результат"}, "#3d4f5c"},
	documents.DocFeedCertificate:   {Text{"Мемлекеттік тізілімге енгізілді", "Внесено в государственный реестр"}, "#2e6b1e"},
	documents.DocDrugCertificate:   {Text{"Мемлекеттік тізілімге енгізілді", "Внесено в государственный реестр"}, "#1e4f6b"},
	documents.DocLicence:           {Text{"Лицензиялар тізіліміне енгізілді", "Внесено в реестр лицензий"}, "#5e2a6b"},
	documents.DocLicenceDuplicate:  {Text{"Лицензияның телнұсқасы", "Дубликат лицензии"}, "#7a4a86"},
	documents.DocAttestation:       {Text{"Комиссияның шешімі", "Решение комиссии"}, "#3f5e1e"},
}

// Badge and accent colour of t, for pages that show only the type (the verification page).
func Look(t documents.DocType) (badge Text, accent string) {
	l, ok := typeLook[t]
	if !ok {
		return Same(string(t)), "#444444"
	}
	return l.badge, l.accent
}

// Header labels of the facts every document carries outside its content.
var (
	LabelIssued     = Text{"Берілген күні", "Дата выдачи"}
	LabelValidUntil = Text{"Жарамды мерзімі", "Действителен до"}
	LabelTag        = Text{"Жеке нөмірі", "Индивидуальный номер"}
	LabelSpecies    = Text{"Жануар түрі", "Вид животного"}
	LabelObject     = Text{"Объект", "Объект"}
	LabelRegNumber  = Text{"Есептік нөмірі", "Учетный номер"}
	LabelOwnerIIN   = Text{"Иесінің ЖСН/БСН", "ИИН/БИН владельца"}
	LabelSign       = Text{"Қолы, мөрі", "Подпись, печать"}
	LabelCheck      = Text{"Түпнұсқалығын QR-код арқылы тексеріңіз", "Подлинность проверяется по QR-коду"}
	LabelGrounds    = Text{"Бас тарту негіздері", "Основания отказа"}
	yes             = Text{"Иә", "Да"}
	no              = Text{"Жоқ", "Нет"}
)

// Build lays d out as a paper whose QR code encodes verifyURL and which prints link for a reader.
func Build(d *documents.Document, verifyURL, link string) Paper {
	badge, accent := Look(d.Type)
	p := Paper{Type: d.Type, Title: Text{d.Type.Name("kk"), d.Type.Name("ru")}, Number: d.Number,
		Badge: badge, Accent: accent, Refusal: d.Type == documents.DocRefusal, Status: d.Status,
		Issuer: d.Issuer.Name, Unit: firstNonEmpty(d.Issuer.UnitName, string(d.Issuer.Unit)), VerifyURL: verifyURL, VerifyLink: link}
	switch d.Status {
	case documents.DocSuperseded:
		p.StatusNote = Text{"АУЫСТЫРЫЛҒАН: " + d.SupersededByNo, "ЗАМЕНЁН: " + d.SupersededByNo}
	case documents.DocRevoked:
		p.StatusNote = Text{"КҮШІ ЖОЙЫЛҒАН: " + d.RevokeReason, "ОТОЗВАН: " + d.RevokeReason}
	}
	p.field("issued_at", LabelIssued, Same(d.IssuedAt.In(domain.Almaty).Format("02.01.2006")))
	if d.ValidUntil != nil {
		p.field("valid_until", LabelValidUntil, Same(d.ValidUntil.In(domain.Almaty).Format("02.01.2006")))
	}
	if d.Subject.Tag != "" {
		p.field("subject.tag", LabelTag, Same(d.Subject.Tag))
	}
	if d.Subject.Species != "" {
		p.field("subject.species", LabelSpecies, p.species("subject.species", d.Subject.Species))
	}
	if d.Subject.Name != "" && d.Subject.Kind != documents.SubjectAnimal {
		p.field("subject.name", LabelObject, Same(d.Subject.Name))
	}
	if d.Subject.RegNumber != "" {
		p.field("subject.reg_number", LabelRegNumber, Same(d.Subject.RegNumber))
	}
	if d.Subject.OwnerIIN != "" {
		p.field("subject.owner_iin", LabelOwnerIIN, Same(string(d.Subject.OwnerIIN)))
	}
	p.content(d.Content)
	sort.Strings(p.Unlabelled)
	return p
}

// content lays out the document's own fields in the catalogue's order, then any field the
// catalogue does not know.
func (p *Paper) content(raw json.RawMessage) {
	var c map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &c) != nil {
		return
	}
	for _, k := range order {
		v, ok := c[k]
		if !ok || empty(v) {
			continue
		}
		catalogue[k].render(p, k, v, c)
	}
	rest := make([]string, 0)
	for k := range c {
		if _, ok := catalogue[k]; !ok {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		p.Unlabelled = append(p.Unlabelled, k)
		if !empty(c[k]) {
			p.generic(k, Same(k), c[k])
		}
	}
}

func (p *Paper) field(key string, label, value Text) {
	p.Fields = append(p.Fields, Field{Key: key, Label: label, Value: value})
}

// generic prints a value no renderer was written for: scalars as text, lists as rows, objects as
// "key: value" — never as JSON.
func (p *Paper) generic(key string, label Text, v any) {
	switch x := v.(type) {
	case []any:
		t := Table{Key: key, Label: label, Columns: []Text{label}}
		for _, e := range x {
			t.Rows = append(t.Rows, []Text{Same(flat(e))})
		}
		p.Tables = append(p.Tables, t)
	default:
		p.field(key, label, scalar(v))
	}
}

// flat writes any JSON value as words: objects as "key: value; …" in key order.
func flat(v any) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			if !empty(x[k]) {
				parts = append(parts, k+": "+flat(x[k]))
			}
		}
		return strings.Join(parts, "; ")
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, flat(e))
		}
		return strings.Join(parts, ", ")
	default:
		return scalar(v).Both()
	}
}

// scalar prints one JSON scalar: dates the way papers in Kazakhstan print them, booleans as words.
func scalar(v any) Text {
	switch x := v.(type) {
	case nil:
		return Same("")
	case bool:
		if x {
			return yes
		}
		return no
	case float64:
		return Same(number(x))
	case string:
		return Same(dateText(x))
	default:
		return Same(fmt.Sprint(x))
	}
}

func number(f float64) string {
	s := fmt.Sprintf("%.3f", f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return strings.Replace(s, ".", ",", 1)
}

// dateText prints an RFC 3339 instant as Almaty wall time and an ISO date as 20.03.2026; any
// other string as it is.
func dateText(s string) string {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(domain.Almaty).Format("02.01.2006 15:04")
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Format("02.01.2006")
	}
	return s
}

// DMY shows an ISO date (2026-03-20) as 20.03.2026, and anything else as it is.
func DMY(iso string) string {
	if t, err := time.Parse(time.DateOnly, iso); err == nil {
		return t.Format("02.01.2006")
	}
	return iso
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	case bool:
		return !x
	}
	return false
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case float64:
		return number(x)
	}
	return fmt.Sprint(v)
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// PageSize is the paper size a type is printed on: A5, or A4 for a conclusion, whose tables of
// violations and photo hashes need the width.
func PageSize(t documents.DocType) string {
	if t == documents.DocConclusion {
		return "A4"
	}
	return "A5"
}
