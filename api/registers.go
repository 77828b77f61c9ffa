package api

import (
	"bytes"
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/attestation"
	"github.com/vetfield/vetfield/domain/licence"
	"github.com/vetfield/vetfield/domain/registration"
	"github.com/vetfield/vetfield/media/paper"
)

// registerRegisters adds the public registers of the office services: feed, veterinary drugs,
// licences and attested persons, as JSON and as a page, each entry linking to its paper's verify
// page. They show what the papers print of a holder (the name), never an IIN.
func (s *Server) registerRegisters() {
	desc := "A public register: `feeds` (the state register of feed and feed additives), `drugs` (of veterinary drugs), " +
		"`licences` (licences for veterinary activity) and `attested` (persons attested for veterinary business). " +
		"`q` keeps the entries whose name or number contains it; pages follow `next`. Each entry links to the verify " +
		"page of its paper. Limited per client address like the other public routes."
	register(s, huma.Operation{OperationID: "listRegister", Method: http.MethodGet, Path: "/v1/registers/{register}",
		Tags: []string{"registers"}, Summary: "A public register", Description: desc, Errors: []int{404, 429}},
		publicLimited, s.listRegister)
	page := huma.Operation{OperationID: "registerPage", Method: http.MethodGet, Path: "/registers/{register}",
		Tags: []string{"registers"}, Summary: "A public register as a page in Kazakh and Russian", Description: desc,
		Errors: []int{404, 429}, Responses: binaryResponse("The page.", "text/html")}
	register(s, page, publicLimited, s.registerPage)
}

// RegisterEntry is one entry of a public register.
type RegisterEntry struct {
	Number     string `json:"number" doc:"The registration number, licence number or sheet number"`
	Name       string `json:"name" doc:"The product, or the holder as the paper names them"`
	Holder     string `json:"holder,omitempty" doc:"Who holds the certificate (a company's name)"`
	Detail     string `json:"detail,omitempty" doc:"The manufacturer, the kinds of activity or the activity attested for"`
	ValidUntil string `json:"valid_until,omitempty" doc:"The certificate's validity (YYYY-MM-DD)"`
	Document   string `json:"document" doc:"The number of the paper"`
	Status     string `json:"status" doc:"valid, superseded or revoked"`
	VerifyURL  string `json:"verify_url" doc:"The paper's public verify page"`
}

type registerInput struct {
	Register string `path:"register" enum:"feeds,drugs,licences,attested"`
	Q        string `query:"q" maxLength:"100"`
	After    string `query:"after" maxLength:"200"`
	Limit    int    `query:"limit" minimum:"0" maximum:"100"`
}

type registerOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Register string          `json:"register"`
		Items    []RegisterEntry `json:"items"`
		Next     string          `json:"next,omitempty"`
	}
}

// entries reads one page of a register.
func (s *Server) entries(ctx context.Context, in *registerInput) ([]RegisterEntry, string, error) {
	limit := in.Limit
	if limit == 0 {
		limit = 50
	}
	out := []RegisterEntry{}
	add := func(docID string, e RegisterEntry) error {
		d, err := s.Documents.Get(ctx, docID)
		if err != nil {
			return err
		}
		e.Document, e.Status, e.VerifyURL = d.Number, d.Status, s.PublicURL+"/v/"+d.Token
		out = append(out, e)
		return nil
	}
	switch in.Register {
	case registration.Feed.Register, registration.Drug.Register:
		list, next, err := s.FeedReg.Register.List(ctx, in.Register, in.Q, in.After, limit)
		if err != nil {
			return nil, "", err
		}
		for _, p := range list {
			if err := add(p.CertificateID, RegisterEntry{Number: p.RegNumber, Name: p.Name, Holder: p.HolderName,
				Detail: p.Manufacturer, ValidUntil: p.ValidUntil.String()}); err != nil {
				return nil, "", err
			}
		}
		return out, next, nil
	case licence.Register:
		list, next, err := s.Licence.Register.List(ctx, in.Q, in.After, limit)
		if err != nil {
			return nil, "", err
		}
		for _, l := range list {
			if err := add(l.LicenceID, RegisterEntry{Number: l.LicenceNo, Name: l.HolderName, Detail: strings.Join(l.Activities, "; ")}); err != nil {
				return nil, "", err
			}
		}
		return out, next, nil
	case attestation.Register:
		list, next, err := s.Attestation.List(ctx, in.Q, in.After, limit)
		if err != nil {
			return nil, "", err
		}
		for _, p := range list {
			if err := add(p.SheetID, RegisterEntry{Number: p.SheetNo, Name: p.Name, Detail: p.Activity}); err != nil {
				return nil, "", err
			}
		}
		return out, next, nil
	}
	return nil, "", domain.Errorf(domain.ENOTFOUND, "no such register")
}

func (s *Server) listRegister(ctx context.Context, in *registerInput) (*registerOutput, error) {
	items, next, err := s.entries(ctx, in)
	if err != nil {
		return nil, err
	}
	out := &registerOutput{CacheControl: "no-store"}
	out.Body.Register, out.Body.Items, out.Body.Next = in.Register, items, next
	return out, nil
}

type registerPageInput struct {
	Register       string `path:"register" enum:"feeds,drugs,licences,attested"`
	Q              string `query:"q" maxLength:"100"`
	After          string `query:"after" maxLength:"200"`
	Limit          int    `query:"limit" minimum:"0" maximum:"100"`
	Lang           string `query:"lang" enum:"kk,ru"`
	AcceptLanguage string `header:"Accept-Language"`
}

// registerTitles name the registers in both languages.
var registerTitles = map[string]paper.Text{
	"feeds":    {KK: "Жемшөп пен жемшөп қоспаларының мемлекеттік тізілімі", RU: "Государственный реестр кормов и кормовых добавок"},
	"drugs":    {KK: "Ветеринариялық препараттардың мемлекеттік тізілімі", RU: "Государственный реестр ветеринарных препаратов"},
	"licences": {KK: "Ветеринария саласындағы қызметке берілген лицензиялар тізілімі", RU: "Реестр лицензий на ветеринарную деятельность"},
	"attested": {KK: "Аттестатталған тұлғалар тізілімі", RU: "Реестр аттестованных лиц"},
}

// registerWords are the page's labels.
var registerWords = map[string]map[string]string{
	"kk": {"number": "Нөмірі", "name": "Атауы", "holder": "Ұстаушы", "detail": "Мәліметтер", "valid_until": "Жарамды мерзімі",
		"document": "Құжат", "status": "Жай-күйі", "verify": "Тексеру", "search": "Іздеу", "next": "Келесі бет", "empty": "Жазба жоқ",
		"valid": "Жарамды", "superseded": "Ауыстырылған", "revoked": "Күші жойылған"},
	"ru": {"number": "Номер", "name": "Наименование", "holder": "Держатель", "detail": "Сведения", "valid_until": "Действителен до",
		"document": "Документ", "status": "Состояние", "verify": "Проверить", "search": "Найти", "next": "Следующая страница", "empty": "Записей нет",
		"valid": "Действителен", "superseded": "Заменён", "revoked": "Отозван"},
}

func (s *Server) registerPage(ctx context.Context, in *registerPageInput) (*htmlOutput, error) {
	items, next, err := s.entries(ctx, &registerInput{Register: in.Register, Q: in.Q, After: in.After, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	lang := pickLanguage(in.Lang, in.AcceptLanguage)
	other := map[string]string{"kk": "ru", "ru": "kk"}[lang]
	t := registerTitles[in.Register]
	title := t.RU
	if lang == "kk" {
		title = t.KK
	}
	var b bytes.Buffer
	err = pages.ExecuteTemplate(&b, "register.html", map[string]any{"Lang": lang, "Other": other, "Title": title, "W": registerWords[lang],
		"Register": in.Register, "Q": in.Q, "Items": items, "Next": next})
	if err != nil {
		return nil, domain.Internal("render register page", err)
	}
	return &htmlOutput{ContentType: "text/html; charset=utf-8", CacheControl: "no-store", Body: b.Bytes()}, nil
}
