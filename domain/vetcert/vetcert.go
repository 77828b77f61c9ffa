// Package vetcert runs the veterinary certificate for moved objects (seed 004) on the case engine:
// the state veterinary-sanitary inspector registers the application in the journal of moved
// objects and gives the talon, checks the documents, studies the laboratory expertise act,
// inspects the objects and the vehicle, and issues the certificate or a motivated refusal —
// domestic on the day of application, export within 3 working days. A certificate rests on the
// veterinary references of the animals (domain/epizootic), or on the producing object's
// veterinary-sanitary conclusion and registration number (domain/inspection, domain/regnumber),
// and on the laboratory act; none may be revoked, superseded or expired, and the epizootic
// situation at the origin and the destination is checked as for references. A certificate for
// animals is closed when the movement it covers is received: its status is read from the movement
// (domain/lifecycle), the one record of the receipt, so nothing needs to be written twice.
package vetcert

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/cases"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/inspection"
	"github.com/vetfield/vetfield/domain/lifecycle"
)

// Code is the service's code in routes and journals: the journal of moved objects.
const Code = "vetcert"

// Regulation is how papers name the service.
const Regulation = "veterinary certificate for moved objects (service 7)"

// Consignments: what is moved.
const (
	ConsignAnimals  = "animals"
	ConsignProducts = "products"
	ConsignFeed     = "feed"
)

// States of the vehicle and of the objects found at the inspection.
const (
	StateSatisfactory   = "satisfactory"
	StateUnsatisfactory = "unsatisfactory"
)

// Application is the service's part of an application.
type Application struct {
	Consignment string `json:"consignment"`
	Export      bool   `json:"export,omitempty"`
	// Country is the country of destination of an export (ISO 3166-1 alpha-2).
	Country string `json:"country,omitempty"`
	// DestinationTerritory and Destination are where a domestic consignment goes.
	DestinationTerritory string `json:"destination_territory,omitempty"`
	Destination          string `json:"destination,omitempty"`
	// ReferenceIDs are the veterinary references of the animals moved.
	ReferenceIDs []string `json:"reference_ids,omitempty"`
	// ObjectID is the production object that made the products or feed.
	ObjectID string                       `json:"object_id,omitempty"`
	Products []epizootic.ReferenceProduct `json:"products,omitempty"`
	// Corrects is the case of a certificate this application corrects: the new certificate
	// supersedes it, as a corrected passport does.
	Corrects string `json:"corrects,omitempty"`
	// Supersedes is the corrected certificate's paper, found when the application is opened.
	Supersedes string `json:"supersedes,omitempty"`
}

// Service wires the certificates over the engine and the services they rest on.
type Service struct {
	Store       domain.Store
	Documents   *documents.Documents
	References  *epizootic.References
	Restriction *epizootic.Restrictions
	Objects     *inspection.ObjectRegister
	Inspections *inspection.Inspections
	Movements   *lifecycle.Movements
	Cases       *cases.Cases
	// ReferenceValidity is how long after its issue a reference covers a certificate
	// (lifecycle.DefaultReferenceValidity when 0), as it covers a dispatch.
	ReferenceValidity time.Duration
	Def               *cases.Service
}

// Deps are what the certificates rest on.
type Deps struct {
	Store     domain.Store
	Documents *documents.Documents
	Epizootic *epizootic.Service
	Insp      *inspection.Service
	Lifecycle *lifecycle.Service
	Cases     *cases.Cases
}

// New declares the service on the engine.
func New(d Deps) *Service {
	s := &Service{Store: d.Store, Documents: d.Documents, References: d.Epizootic.References, Restriction: d.Epizootic.Restrictions,
		Objects: d.Insp.Register, Inspections: d.Insp.Inspections, Movements: d.Lifecycle.Movements, Cases: d.Cases}
	s.Def = s.definition()
	d.Cases.Declare(s.Def)
	return s
}

func (s *Service) definition() *cases.Service {
	inspector := []domain.Role{domain.RoleSanitaryInspector}
	sameDay := cases.Term{N: 0, Unit: cases.WorkingDays}
	return &cases.Service{
		Code: Code, Prefix: "VCA", Regulation: Regulation,
		Title: cases.Text{KK: "Орны ауыстырылатын объектілерге ветеринариялық сертификат беру", RU: "Выдача ветеринарного сертификата на перемещаемые объекты"},
		Open:  s.open,
		Steps: []cases.StepDef{
			{Name: "register", Kind: cases.KindRegister, Roles: inspector, Level: cases.District,
				Title: cases.Text{KK: "Орны ауыстырылатын объектілер журналында тіркеу", RU: "Регистрация в журнале перемещаемых объектов"},
				Term:  cases.Term{N: 30, Unit: cases.Minutes}, Records: []string{"talon"}},
			{Name: "documents", Kind: cases.KindCompleteness, Roles: inspector, Level: cases.District, MayRefuse: true,
				Title: cases.Text{KK: "Құжаттарды тексеру", RU: "Проверка документов"}, Term: sameDay},
			{Name: "laboratory", Kind: cases.KindWork, Roles: inspector, Level: cases.District, MayRefuse: true,
				Title: cases.Text{KK: "Зертханалық сараптама актісін зерделеу", RU: "Изучение акта лабораторной экспертизы"},
				Term:  sameDay, TermFor: exportTerm, TermNote: "3 working days for export",
				Records: []string{"laboratory", "act_number", "act_date", "tests", "tags"}, Hook: s.laboratory},
			{Name: "inspection", Kind: cases.KindWork, Roles: inspector, Level: cases.District, MayRefuse: true,
				Title:   cases.Text{KK: "Объектілер мен көлікті тексеру, сертификат беру", RU: "Осмотр объектов и транспорта, выдача сертификата"},
				Term:    sameDay,
				Records: []string{"vehicle", "vehicle_state", "seal", "objects_state", "movement_id", "certificate"}, Hook: s.inspect},
			{Name: "hand_over", Kind: cases.KindHandOver, Roles: inspector, Level: cases.District,
				Title: cases.Text{KK: "Сертификатты беру", RU: "Выдача сертификата"}, Term: sameDay, Records: []string{"hand_over"}},
		},
	}
}

func exportTerm(c *cases.Case) cases.Term {
	var app Application
	if c.GetData("application", &app) && app.Export {
		return cases.Term{N: 3, Unit: cases.WorkingDays}
	}
	return cases.Term{N: 0, Unit: cases.WorkingDays}
}

// open checks an application with the applicant's rights: the references must be theirs.
func (s *Service) open(ctx context.Context, applicant domain.Principal, a *cases.Application, c *cases.Case) error {
	var app Application
	r := cases.Run{Input: cases.StepInput{Data: a.Data}}
	if err := r.DecodeData(&app); err != nil {
		return err
	}
	if app.Export {
		if len(app.Country) != 2 || strings.ToUpper(app.Country) != app.Country || app.Country == "KZ" {
			return domain.Invalid("data.country", "an export names its country of destination (ISO 3166-1 alpha-2, not KZ)")
		}
		app.DestinationTerritory = ""
	} else {
		k, err := domain.ParseKato(app.DestinationTerritory)
		if err != nil {
			return domain.AtField("data.destination_territory", err)
		}
		app.DestinationTerritory, app.Country = string(k), ""
	}
	if utf8.RuneCountInString(app.Destination) > 300 {
		return domain.Invalid("data.destination", "at most 300 characters")
	}
	switch app.Consignment {
	case ConsignAnimals:
		if len(app.ReferenceIDs) == 0 || len(app.ReferenceIDs) > 20 || app.ObjectID != "" || len(app.Products) > 0 {
			return domain.Invalid("data.reference_ids", "a certificate for animals rests on 1 to 20 veterinary references, and on nothing else")
		}
		var name string
		for i, id := range app.ReferenceIDs {
			ref, err := s.References.Get(ctx, applicant, id)
			if domain.IsCode(err, domain.ENOTFOUND) {
				return domain.Invalid("data.reference_ids", "reference %d is not one of the applicant's", i+1)
			} else if err != nil {
				return err
			}
			if len(ref.Animals) == 0 {
				return domain.Invalid("data.reference_ids", "reference %d covers no animals", i+1)
			}
			if i == 0 {
				c.Territory, name = ref.Territory, ref.HoldingName
			} else if domain.AreaOf(ref.Territory).District != domain.AreaOf(c.Territory).District {
				return domain.Invalid("data.reference_ids", "the references are of one district, where the consignment leaves from")
			}
		}
		c.Subject = cases.About{Kind: "consignment", ID: c.ID, Name: name}
	case ConsignProducts, ConsignFeed:
		if app.ObjectID == "" || len(app.ReferenceIDs) > 0 || len(app.Products) == 0 || len(app.Products) > 50 {
			return domain.Invalid("data.object_id", "a certificate for products or feed names the producing object and 1 to 50 products")
		}
		for i, p := range app.Products {
			if app.Consignment == ConsignProducts && !p.Kind.Valid() || p.Quantity <= 0 || p.Unit == "" {
				return domain.Invalid("data.products", "product %d needs its kind, quantity and unit", i+1)
			}
		}
		obj, err := s.Objects.Get(ctx, domain.Principal{Role: domain.RoleAdmin}, app.ObjectID)
		if domain.IsCode(err, domain.ENOTFOUND) {
			return domain.Invalid("data.object_id", "no such production object")
		} else if err != nil {
			return err
		}
		c.Territory = obj.Territory
		c.Subject = cases.About{Kind: "consignment", ID: c.ID, Name: obj.Name}
	default:
		return domain.Invalid("data.consignment", "the consignment is animals, products or feed")
	}
	app.Supersedes = ""
	if app.Corrects != "" {
		old, err := s.Cases.Get(ctx, applicant, app.Corrects)
		if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && (old.Service != Code || old.Refusal != nil || len(old.Results) == 0)) {
			return domain.Invalid("data.corrects", "no certificate of the applicant's issued in this case")
		} else if err != nil {
			return err
		}
		doc, err := s.Documents.Get(ctx, old.Results[len(old.Results)-1].ID)
		if err != nil {
			return err
		}
		if doc.Status != documents.DocValid {
			return domain.Errorf(domain.EPRECONDITION, "the certificate %s is %s and cannot be corrected", doc.Number, doc.Status)
		}
		app.Supersedes = doc.ID
	}
	c.SetData("application", app)
	return nil
}

// LabAct is the laboratory expertise act the inspector studies.
type LabAct struct {
	Laboratory string           `json:"laboratory"`
	ActNumber  string           `json:"act_number"`
	ActDate    domain.CivilDate `json:"act_date"`
	Tests      []LabTest        `json:"tests"`
	// Tags are the animals the act covers; every animal of the certificate must be among them.
	Tags []string `json:"tags,omitempty"`
}

// LabTest is one test of the act.
type LabTest struct {
	Name   string `json:"name"`
	Result string `json:"result"`
}

// The results of a test.
const (
	ResultNegative = "negative"
	ResultPositive = "positive"
)

// laboratory records the act: for these animals, dated by today, every test negative.
func (s *Service) laboratory(ctx context.Context, r *cases.Run) error {
	var act LabAct
	if err := r.DecodeData(&act); err != nil {
		return err
	}
	var err error
	if act.Laboratory, err = domain.TrimmedText(act.Laboratory, "data.laboratory", 300, false); err != nil {
		return err
	}
	if act.ActNumber, err = domain.TrimmedText(act.ActNumber, "data.act_number", 60, false); err != nil {
		return err
	}
	if act.ActDate.IsZero() || act.ActDate.Compare(domain.CivilDateOf(r.Now)) > 0 {
		return domain.Invalid("data.act_date", "give the act's date, not later than today")
	}
	if len(act.Tests) == 0 || len(act.Tests) > 50 {
		return domain.Invalid("data.tests", "an act lists 1 to 50 tests")
	}
	for i, t := range act.Tests {
		if strings.TrimSpace(t.Name) == "" || utf8.RuneCountInString(t.Name) > 200 || (t.Result != ResultNegative && t.Result != ResultPositive) {
			return domain.Invalid("data.tests", "test %d needs its name and a result, negative or positive", i+1)
		}
		if t.Result == ResultPositive {
			return domain.Errorf(domain.EPRECONDITION, "the act %s found %s positive: refuse with a motivated refusal citing it", act.ActNumber, t.Name)
		}
	}
	var app Application
	r.Case.GetData("application", &app)
	if app.Consignment == ConsignAnimals {
		tags, err := s.tags(ctx, app)
		if err != nil {
			return err
		}
		for _, tag := range tags {
			if !slices.Contains(act.Tags, tag) {
				return domain.Invalid("data.tags", "the act does not cover the animal %s: an act for other animals is not this consignment's", tag)
			}
		}
	}
	r.Record["laboratory"], r.Record["act_number"], r.Record["act_date"], r.Record["tests"] = act.Laboratory, act.ActNumber, act.ActDate, act.Tests
	if len(act.Tags) > 0 {
		r.Record["tags"] = act.Tags
	}
	r.Case.SetData("lab_act", act)
	return nil
}

// tags are the individual numbers of the animals of the application's references.
func (s *Service) tags(ctx context.Context, app Application) ([]string, error) {
	var out []string
	for _, id := range app.ReferenceIDs {
		ref, err := s.References.Get(ctx, domain.Principal{Role: domain.RoleAdmin}, id)
		if err != nil {
			return nil, err
		}
		for _, a := range ref.Animals {
			out = append(out, a.Tag)
		}
	}
	return out, nil
}
