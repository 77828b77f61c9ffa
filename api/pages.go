package api

import (
	"bytes"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"

	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/media/paper"
)

//go:embed pages/*.html
var pageFiles embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{"dmy": paper.DMY}).ParseFS(pageFiles, "pages/*.html"))

// verifyTexts are the words of the verification page in one language.
type verifyTexts struct {
	Title, Type, Number, Date, Species, Tag, Object, RegNumber, Owner, Unit, Reason, Grounds, Footer string
	Banner                                                                                           map[string]string
	// RefusalBanner replaces the genuine banner on a motivated refusal, and RefusalNote says what
	// that means: a buyer must never read a genuine refusal as an approval.
	RefusalBanner, RefusalNote      string
	Superseded, Revoked, NotGenuine string
	// LeftRegister says that the animal a paper is about left the register, on which day and how
	// (the paper stays genuine: it was issued); LeftTitle labels the same facts in the list.
	LeftRegister, LeftTitle string
}

// disposalKindNames are the kinds of disposal in words, in both languages.
var disposalKindNames = map[string]paper.Text{
	"died":            {KK: "өлді", RU: "пало"},
	"slaughtered":     {KK: "союға жіберілді", RU: "убито на убойном пункте"},
	"killed_by_order": {KK: "нұсқама бойынша жойылды", RU: "умерщвлено по предписанию"},
	"lost":            {KK: "жоғалды", RU: "утеряно (пропало)"},
	"exported":        {KK: "елден тыс шығарылды", RU: "вывезено за пределы страны"},
}

var verifyLang = map[string]verifyTexts{
	"kk": {
		Title: "Құжатты тексеру", Type: "Құжат түрі", Number: "Нөмірі", Date: "Берілген күні",
		Species: "Жануар түрі", Tag: "Жеке нөмірі", Object: "Объект", RegNumber: "Есептік нөмірі",
		Owner: "Иесінің ЖСН/БСН", Unit: "Берген мекеме", Reason: "Себебі", Grounds: "Бас тарту негіздері",
		Footer: "Ветеринариялық құжаттарды тексеру қызметі",
		Banner: map[string]string{
			documents.VerifyGenuine: "ТҮПНҰСҚА", documents.VerifySuperseded: "АУЫСТЫРЫЛҒАН",
			documents.VerifyRevoked: "КҮШІ ЖОЙЫЛҒАН", documents.VerifyNotGenuine: "ТҮПНҰСҚА ЕМЕС",
		},
		RefusalBanner: "ТҮПНҰСҚА БАС ТАРТУ",
		RefusalNote:   "Бұл рұқсат емес: ветеринариялық қызмет өтінішті қанағаттандырудан бас тартты. Негіздері төменде.",
		Superseded:    "Бұл құжаттың орнына жаңасы берілді: %s",
		Revoked:       "Құжаттың күші %s жойылды.",
		NotGenuine:    "Бұл код ветеринариялық қызмет берген құжатқа сәйкес келмейді.",
		LeftRegister:  "Жануар %s тізілімнен шығарылды: %s. Құжат түпнұсқа, бірақ жануар енді есепте тұрмайды.",
		LeftTitle:     "Тізілімнен шығарылды",
	},
	"ru": {
		Title: "Проверка документа", Type: "Вид документа", Number: "Номер", Date: "Дата выдачи",
		Species: "Вид животного", Tag: "Индивидуальный номер", Object: "Объект", RegNumber: "Учетный номер",
		Owner: "ИИН/БИН владельца", Unit: "Выдавший орган", Reason: "Причина", Grounds: "Основания отказа",
		Footer: "Служба проверки ветеринарных документов",
		Banner: map[string]string{
			documents.VerifyGenuine: "ПОДЛИННЫЙ", documents.VerifySuperseded: "ЗАМЕНЁН",
			documents.VerifyRevoked: "ОТОЗВАН", documents.VerifyNotGenuine: "НЕ ПОДЛИННЫЙ",
		},
		RefusalBanner: "ПОДЛИННЫЙ ОТКАЗ",
		RefusalNote:   "Это не разрешение: ветеринарная служба отказала в удовлетворении заявления. Основания ниже.",
		Superseded:    "Вместо этого документа выдан новый: %s",
		Revoked:       "Документ отозван %s.",
		NotGenuine:    "Этот код не соответствует документу, выданному ветеринарной службой.",
		LeftRegister:  "Животное выбыло из реестра %s: %s. Документ подлинный, но животное больше не состоит на учёте.",
		LeftTitle:     "Выбыло из реестра",
	},
}

// renderVerifyPage renders the public verification page. A genuine refusal gets its own banner
// and colour, and every type its badge, so the page says at a glance what the paper is.
func renderVerifyPage(v VerificationView, lang, path string) ([]byte, error) {
	t := verifyLang[lang]
	detail, banner, class := "", t.Banner[v.Status], v.Status
	switch v.Status {
	case documents.VerifyGenuine:
		if v.Type == documents.DocRefusal {
			banner, class, detail = t.RefusalBanner, "refusal", t.RefusalNote
		}
	case documents.VerifySuperseded:
		detail = fmt.Sprintf(t.Superseded, v.SupersededBy)
	case documents.VerifyRevoked:
		detail = fmt.Sprintf(t.Revoked, paper.DMY(v.RevokedAt))
	case documents.VerifyNotGenuine:
		detail = t.NotGenuine
	}
	left := ""
	if v.LeftRegisterOn != "" {
		left = fmt.Sprintf(t.LeftRegister, paper.DMY(v.LeftRegisterOn), disposalKindNames[v.LeftRegisterKind].In(lang))
	}
	badge, accent := paper.Look(v.Type)
	var buf bytes.Buffer
	err := pages.ExecuteTemplate(&buf, "verify.html", map[string]any{
		"Lang": lang, "T": t, "Status": v.Status, "Class": class, "Banner": banner, "Detail": detail, "V": v, "Path": path,
		"Badge": badge.In(lang), "Accent": template.CSS(accent), "Left": left,
	})
	return buf.Bytes(), err
}

// printPage is what print.html lays out: the paper, its QR code and its page size.
type printPage struct {
	paper.Paper
	QR   string
	Page string
	// Sign and Check are the bilingual words under every paper.
	Sign, Check paper.Text
}

// renderPrintPage lays a document out for print, in Kazakh and Russian, with its QR code. A
// conclusion lists violations and photo hashes in tables too wide for A5, so it is printed on A4.
func renderPrintPage(pp paper.Paper, qrPNG []byte) ([]byte, error) {
	p := printPage{Paper: pp, QR: base64.StdEncoding.EncodeToString(qrPNG),
		Page: paper.PageSize(pp.Type), Sign: paper.LabelSign, Check: paper.LabelCheck}
	var buf bytes.Buffer
	err := pages.ExecuteTemplate(&buf, "print.html", p)
	return buf.Bytes(), err
}
