// Package registration runs the state registration of feed and feed additives and of veterinary
// drugs (seed 004) on the case engine: one shape with two sets of figures. The application with
// samples opens a dossier with its registration number; the office reviews it and sends it for
// expertise or tests within 5 working days; a research institution does the expertise of a drug
// (up to one month); the laboratory does the registration tests (up to 60 calendar days for feed,
// 55 for drugs) and records them with its act; an optional approbation under a programme of
// production trials takes up to 2 years; the head decides within 5 working days of the results and
// the certificate, with its validity, is entered into the state register (of feed, of veterinary
// drugs). Re-registration is a service of its own: 10 calendar days on a change of name, location
// or reorganisation, 70 on the certificate's expiry. A refusal returns all the documents submitted,
// and the refusal records it. Laboratories and research institutions act through accounts of
// their own (domain.RoleLaboratory), on the cases sent to them only.
package registration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/cases"
	"github.com/vetfield/vetfield/domain/documents"
)

// Figures are what sets one product's registration apart from the other's.
type Figures struct {
	// Product is "feed" or "drug"; Register the public register's name ("feeds", "drugs").
	Product  string
	Register string
	// Code and ReregCode are the services' codes; Prefix and ReregPrefix start their case numbers.
	Code, ReregCode     string
	Prefix, ReregPrefix string
	Title, ReregTitle   cases.Text
	// Regulation and ReregRegulation are how papers name the services.
	Regulation, ReregRegulation string
	// NumberPrefix starts the registration numbers of the register (KZ-F-000001).
	NumberPrefix string
	// ExpertiseDays is the research institution's expertise in calendar days, 0 when the product
	// has none; TestsDays the registration tests.
	ExpertiseDays int
	TestsDays     int
	// TotalDays and TotalApprobationDays are the whole registration's longest term in calendar
	// days, without and with an approbation; 0 when the regulation gives none (feed: only its
	// steps' terms).
	TotalDays, TotalApprobationDays int
	DocType                         documents.DocType
}

// Feed and Drug are the two sets of figures of seed 004.
var (
	Feed = Figures{Product: "feed", Register: "feeds", Code: "feedreg", ReregCode: "feedrereg", Prefix: "FRG", ReregPrefix: "FRR",
		Title:      cases.Text{KK: "Жемшөп пен жемшөп қоспаларын мемлекеттік тіркеу", RU: "Государственная регистрация кормов и кормовых добавок"},
		ReregTitle: cases.Text{KK: "Жемшөп пен жемшөп қоспаларын қайта тіркеу", RU: "Перерегистрация кормов и кормовых добавок"},
		Regulation: "registration certificate of feed and feed additives", ReregRegulation: "re-registration of feed and feed additives",
		NumberPrefix: "KZ-F", TestsDays: 60, DocType: documents.DocFeedCertificate}
	Drug = Figures{Product: "drug", Register: "drugs", Code: "drugreg", ReregCode: "drugrereg", Prefix: "DRG", ReregPrefix: "DRR",
		Title:      cases.Text{KK: "Ветеринариялық препараттарды мемлекеттік тіркеу", RU: "Государственная регистрация ветеринарных препаратов"},
		ReregTitle: cases.Text{KK: "Ветеринариялық препараттарды қайта тіркеу", RU: "Перерегистрация ветеринарных препаратов"},
		Regulation: "registration certificate of a veterinary drug", ReregRegulation: "re-registration of a veterinary drug",
		NumberPrefix: "KZ-VD", ExpertiseDays: 30, TestsDays: 55, TotalDays: 96, TotalApprobationDays: 2*365 + 41,
		DocType: documents.DocDrugCertificate}
)

// The approbation's longest term: two years under a programme of production trials.
const ApprobationDays = 730

// Limits of the inputs.
const (
	MaxName    = 300
	MaxAct     = 100
	MaxFinding = 2000
	// MaxValidityYears bounds a certificate's validity.
	MaxValidityYears = 10
)

// Application is the service's part of an application for registration.
type Application struct {
	// Name is the product's trade name; Manufacturer who makes it and where.
	Name         string `json:"name"`
	Manufacturer string `json:"manufacturer"`
	// Territory is the KATO code of the applicant's location: the office of that territory
	// registers the application.
	Territory string `json:"territory"`
	// Approbation asks for approbation under a programme of production trials after the tests.
	Approbation bool `json:"approbation,omitempty"`
	// Standard is the applicant's standard (normative document) of the product, which a drug's
	// registration approves.
	Standard string `json:"standard,omitempty"`
}

// The reasons of a re-registration.
const (
	ReasonChange = "change" // a change of name, location or reorganisation: 10 calendar days
	ReasonExpiry = "expiry" // the certificate's validity ends: 70 calendar days
)

// Rereg is the service's part of an application for re-registration.
type Rereg struct {
	CertificateID string `json:"certificate_id"`
	Reason        string `json:"reason"`
	// NewName, NewManufacturer and Reorganisation are the changes of a re-registration on change.
	NewName         string `json:"new_name,omitempty"`
	NewManufacturer string `json:"new_manufacturer,omitempty"`
	Reorganisation  string `json:"reorganisation,omitempty"`
}

// Service runs one product's registration and re-registration.
type Service struct {
	Figures   Figures
	Store     domain.Store
	Now       domain.Clock
	Documents *documents.Documents
	Users     *accounts.Accounts
	Register  *Register
	Def       *cases.Service
	ReregDef  *cases.Service
}

// New declares the registration and re-registration of product f on engine e.
func New(f Figures, store domain.Store, now domain.Clock, docs *documents.Documents, users *accounts.Accounts, e *cases.Cases) *Service {
	s := &Service{Figures: f, Store: store, Now: now, Documents: docs, Users: users, Register: &Register{Store: store}}
	s.Def, s.ReregDef = s.definition(), s.reregDefinition()
	e.Declare(s.Def)
	e.Declare(s.ReregDef)
	return s
}

// Specs are the collections of the services, for Declare.
var Specs = []domain.CollectionSpec{ProductsSpec}

var (
	office = []domain.Role{domain.RoleVet, domain.RoleInspector, domain.RoleHead}
	head   = []domain.Role{domain.RoleHead}
	lab    = []domain.Role{domain.RoleLaboratory}
)

func (s *Service) definition() *cases.Service {
	f := s.Figures
	steps := []cases.StepDef{
		{Name: "register", Kind: cases.KindRegister, Roles: office, Level: cases.District,
			Title: cases.Text{KK: "Өтінішті және үлгілерді қабылдау", RU: "Приём заявления и образцов"},
			Term:  cases.Term{N: 30, Unit: cases.Minutes}, Records: []string{"talon"}},
		{Name: "review", Kind: cases.KindWork, Roles: office, Level: cases.District,
			Title: cases.Text{KK: "Құжаттарды қарау, сараптамаға немесе сынаққа жолдау", RU: "Рассмотрение документов, направление на экспертизу или испытания"},
			Term:  cases.Term{N: 5, Unit: cases.WorkingDays}, MayRefuse: true,
			Records: []string{"reg_number", "laboratory", "institution", "refusal", "returned"}, Hook: s.review, OnRefuse: returnDocuments},
	}
	if f.ExpertiseDays > 0 {
		steps = append(steps, cases.StepDef{Name: "expertise", Kind: cases.KindWork, Roles: lab, Level: cases.District,
			Title: cases.Text{KK: "Ғылыми-зерттеу мекемесінің сараптамасы", RU: "Экспертиза научно-исследовательской организации"},
			Term:  cases.Term{N: f.ExpertiseDays, Unit: cases.CalendarDays}, TermNote: "one month",
			Records: []string{"act", "act_date", "conforms", "findings"}, Hook: s.expertise})
	}
	steps = append(steps,
		cases.StepDef{Name: "tests", Kind: cases.KindWork, Roles: lab, Level: cases.District,
			Title:   cases.Text{KK: "Тіркеу сынақтары (зертхана актісі)", RU: "Регистрационные испытания (акт лаборатории)"},
			Term:    cases.Term{N: f.TestsDays, Unit: cases.CalendarDays},
			Records: []string{"act", "act_date", "conforms", "findings"}, Hook: s.tests},
		cases.StepDef{Name: "approbation", Kind: cases.KindWork, Roles: append(slices.Clone(lab), office...), Level: cases.District,
			Title: cases.Text{KK: "Апробация (өндірістік сынақтар бағдарламасы)", RU: "Апробация (программа производственных испытаний)"},
			Term:  cases.Term{N: 0, Unit: cases.CalendarDays}, TermFor: approbationTerm,
			TermNote: "up to 2 years (730 calendar days) when the application asks for approbation; otherwise recorded as not required the same day",
			Records:  []string{"required", "act", "act_date", "conforms", "findings"}, Hook: s.approbation},
		cases.StepDef{Name: "decision", Kind: cases.KindWork, Roles: head, Level: cases.District,
			Title: cases.Text{KK: "Шешім, тіркеу куәлігі, мемлекеттік тізілімге енгізу", RU: "Решение, регистрационное удостоверение, внесение в государственный реестр"},
			Term:  cases.Term{N: 5, Unit: cases.WorkingDays}, MayRefuse: true,
			Records: []string{"certificate", "valid_until", "refusal", "returned"}, Hook: s.decide, OnRefuse: returnDocuments},
		cases.StepDef{Name: "hand_over", Kind: cases.KindHandOver, Roles: office, Level: cases.District,
			Title: cases.Text{KK: "Куәлікті өтініш берушіге беру", RU: "Выдача удостоверения заявителю"},
			Term:  cases.Term{N: 30, Unit: cases.Minutes}, Records: []string{"hand_over"}},
	)
	svc := &cases.Service{Code: f.Code, Prefix: f.Prefix, Title: f.Title, Regulation: f.Regulation, Open: s.open, Steps: steps}
	if f.TotalDays > 0 {
		svc.Total = s.totalTerm
	}
	return svc
}

// totalTerm is the whole registration's longest term (Figures.TotalDays): "96 calendar days with
// tests (2 years 41 days with approbation)" for a drug.
func (s *Service) totalTerm(c *cases.Case) cases.Term {
	if approbationTerm(c).N > 0 {
		return cases.Term{N: s.Figures.TotalApprobationDays, Unit: cases.CalendarDays}
	}
	return cases.Term{N: s.Figures.TotalDays, Unit: cases.CalendarDays}
}

func (s *Service) reregDefinition() *cases.Service {
	f := s.Figures
	return &cases.Service{Code: f.ReregCode, Prefix: f.ReregPrefix, Title: f.ReregTitle, Regulation: f.ReregRegulation, Open: s.openRereg,
		Steps: []cases.StepDef{
			{Name: "register", Kind: cases.KindRegister, Roles: office, Level: cases.District,
				Title: cases.Text{KK: "Өтінішті қабылдау", RU: "Приём заявления"},
				Term:  cases.Term{N: 30, Unit: cases.Minutes}, Records: []string{"talon"}},
			{Name: "decision", Kind: cases.KindWork, Roles: head, Level: cases.District,
				Title: cases.Text{KK: "Қайта тіркеу туралы шешім, жаңа куәлік", RU: "Решение о перерегистрации, новое удостоверение"},
				Term:  cases.Term{N: 10, Unit: cases.CalendarDays}, TermFor: reregTerm, MayRefuse: true,
				TermNote: "10 calendar days on a change of name, location or reorganisation; 70 on the certificate's expiry",
				Records:  []string{"certificate", "valid_until", "refusal", "returned"}, Hook: s.decideRereg, Done: cases.SupersedeResults(s.Documents), OnRefuse: returnDocuments},
			{Name: "hand_over", Kind: cases.KindHandOver, Roles: office, Level: cases.District,
				Title: cases.Text{KK: "Куәлікті өтініш берушіге беру", RU: "Выдача удостоверения заявителю"},
				Term:  cases.Term{N: 0, Unit: cases.WorkingDays}, Records: []string{"hand_over"}},
		}}
}

func approbationTerm(c *cases.Case) cases.Term {
	var app Application
	if c.GetData("application", &app) && app.Approbation {
		return cases.Term{N: ApprobationDays, Unit: cases.CalendarDays}
	}
	return cases.Term{N: 0, Unit: cases.CalendarDays}
}

func reregTerm(c *cases.Case) cases.Term {
	var app Rereg
	if c.GetData("rereg", &app) && app.Reason == ReasonExpiry {
		return cases.Term{N: 70, Unit: cases.CalendarDays}
	}
	return cases.Term{N: 10, Unit: cases.CalendarDays}
}

// returnDocuments records, on a refusal, that every document submitted goes back to the applicant.
func returnDocuments(_ context.Context, r *cases.Run) ([]string, error) {
	r.Record["returned"] = r.Case.Documents
	r.Case.SetData("returned", r.Case.Documents)
	return r.Case.Documents, nil
}

// certificateContent is what a registration certificate prints.
type certificateContent struct {
	Service             string           `json:"service"`
	Request             string           `json:"request,omitempty"`
	RegNumber           string           `json:"reg_number"`
	Application         string           `json:"application"`
	ApplicationDate     domain.CivilDate `json:"application_date"`
	Applicant           string           `json:"applicant"`
	Product             string           `json:"product"`
	Manufacturer        string           `json:"manufacturer"`
	Standard            string           `json:"standard,omitempty"`
	PreviousName        string           `json:"previous_name,omitempty"`
	PreviousCertificate string           `json:"previous_certificate,omitempty"`
	Reorganisation      string           `json:"reorganisation,omitempty"`
	Laboratory          string           `json:"laboratory,omitempty"`
	LabAct              string           `json:"lab_act,omitempty"`
}

func (s *Service) open(_ context.Context, _ domain.Principal, a *cases.Application, c *cases.Case) error {
	var app Application
	r := cases.Run{Input: cases.StepInput{Data: a.Data}}
	if err := r.DecodeData(&app); err != nil {
		return err
	}
	var err error
	if app.Name, err = domain.TrimmedText(app.Name, "data.name", MaxName, false); err != nil {
		return err
	}
	if app.Manufacturer, err = domain.TrimmedText(app.Manufacturer, "data.manufacturer", MaxName, false); err != nil {
		return err
	}
	if app.Standard, err = domain.TrimmedText(app.Standard, "data.standard", MaxName, s.Figures.Product != Drug.Product); err != nil {
		return err
	}
	t, err := domain.ParseKato(app.Territory)
	if err != nil || len(t) != 9 {
		return domain.Invalid("data.territory", "give the KATO code of the applicant's location (9 digits)")
	}
	app.Territory = string(t)
	c.Territory = t
	c.Subject = cases.About{Kind: s.Figures.Product, Name: app.Name}
	c.SetData("application", app)
	return nil
}

// laboratory checks that id is an active laboratory account.
func (s *Service) laboratory(ctx context.Context, field, id string) (*accounts.User, error) {
	if id == "" {
		return nil, domain.Invalid(field, "name the laboratory's account")
	}
	u, err := s.Users.Get(ctx, id)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && (u.Disabled || u.Role != domain.RoleLaboratory)) {
		return nil, domain.Invalid(field, "no active laboratory account with this id")
	}
	return u, err
}

func labName(u *accounts.User) string {
	if u.FullName != "" {
		return u.FullName
	}
	return u.Username
}

// review opens the dossier: its registration number, and where it goes (the research institution
// for a drug's expertise, the laboratory for the tests).
func (s *Service) review(ctx context.Context, r *cases.Run) error {
	var in struct {
		LaboratoryID  string `json:"laboratory_id"`
		InstitutionID string `json:"institution_id"`
	}
	if err := r.DecodeData(&in); err != nil {
		return err
	}
	labU, err := s.laboratory(ctx, "data.laboratory_id", in.LaboratoryID)
	if err != nil {
		return err
	}
	var inst *accounts.User
	if s.Figures.ExpertiseDays > 0 {
		if inst, err = s.laboratory(ctx, "data.institution_id", in.InstitutionID); err != nil {
			return err
		}
	} else if in.InstitutionID != "" {
		return domain.Invalid("data.institution_id", "feed goes to the laboratory's tests, without an institution's expertise")
	}
	var number string
	if !r.Case.GetData("reg_number", &number) || number == "" {
		seq, err := s.Store.Incr(ctx, "productreg:"+s.Figures.Product, 1, time.Time{})
		if err != nil {
			return err
		}
		number = fmt.Sprintf("%s-%s", s.Figures.NumberPrefix, domain.ZeroPad(seq, 6))
	}
	r.Case.SetData("reg_number", number)
	r.Case.SetData("laboratory", in.LaboratoryID)
	r.Case.SetData("laboratory_name", labName(labU))
	r.Record["reg_number"] = number
	r.Record["laboratory"] = labName(labU)
	if inst != nil {
		r.Case.SetData("institution_name", labName(inst))
		r.Record["institution"] = labName(inst)
		r.Case.SendTo(inst.ID, labName(inst))
	} else {
		r.Case.SendTo(labU.ID, labName(labU))
	}
	return nil
}

// Finding is what a laboratory or institution reports: its act, the act's date, whether the
// product conforms, and what it found.
type Finding struct {
	Act      string           `json:"act"`
	ActDate  domain.CivilDate `json:"act_date"`
	Conforms *bool            `json:"conforms"`
	Findings string           `json:"findings,omitempty"`
}

func (s *Service) finding(r *cases.Run) (Finding, error) {
	var f Finding
	if err := r.DecodeData(&f); err != nil {
		return f, err
	}
	var err error
	if f.Act, err = domain.TrimmedText(f.Act, "data.act", MaxAct, false); err != nil {
		return f, err
	}
	if f.Findings, err = domain.TrimmedLines(f.Findings, "data.findings", MaxFinding, true); err != nil {
		return f, err
	}
	if f.ActDate.IsZero() || f.ActDate.Compare(domain.CivilDateOf(r.Now)) > 0 ||
		f.ActDate.Compare(domain.CivilDateOf(r.Case.Steps[len(r.Case.Steps)-1].Start)) < 0 {
		return f, domain.Invalid("data.act_date", "the act is dated within the step, not later than today")
	}
	if f.Conforms == nil {
		return f, domain.Invalid("data.conforms", "say whether the product conforms")
	}
	r.Record["act"], r.Record["act_date"], r.Record["conforms"] = f.Act, f.ActDate, *f.Conforms
	if f.Findings != "" {
		r.Record["findings"] = f.Findings
	}
	return f, nil
}

func (s *Service) expertise(_ context.Context, r *cases.Run) error {
	f, err := s.finding(r)
	if err != nil {
		return err
	}
	r.Case.SetData("expertise", f)
	var labID, name string
	r.Case.GetData("laboratory", &labID)
	r.Case.GetData("laboratory_name", &name)
	r.Case.SendTo(labID, name)
	return nil
}

func (s *Service) tests(_ context.Context, r *cases.Run) error {
	f, err := s.finding(r)
	if err != nil {
		return err
	}
	r.Case.SetData("tests", f)
	return nil
}

func (s *Service) approbation(_ context.Context, r *cases.Run) error {
	var app Application
	r.Case.GetData("application", &app)
	if !app.Approbation {
		if r.Principal.Role == domain.RoleLaboratory || len(r.Input.Data) > 0 && string(r.Input.Data) != "{}" && string(r.Input.Data) != "null" {
			return domain.Invalid("data", "the application asked for no approbation: the office records it as not required, without data")
		}
		r.Record["required"] = false
		r.Case.Release()
		return nil
	}
	if r.Principal.Role != domain.RoleLaboratory && r.Principal.Role != domain.RoleAdmin {
		return domain.Errorf(domain.EFORBIDDEN, "the approbation is reported by the laboratory the dossier was sent to")
	}
	f, err := s.finding(r)
	if err != nil {
		return err
	}
	r.Record["required"] = true
	r.Case.SetData("approbation", f)
	r.Case.Release()
	return nil
}

// decide issues the certificate and enters it into the state register; a product that did not
// conform is refused (refuse with the ground), never certified.
func (s *Service) decide(ctx context.Context, r *cases.Run) error {
	var in struct {
		ValidUntil domain.CivilDate `json:"valid_until"`
	}
	if err := r.DecodeData(&in); err != nil {
		return err
	}
	for _, k := range []string{"expertise", "tests", "approbation"} {
		var f Finding
		if r.Case.GetData(k, &f) && f.Conforms != nil && !*f.Conforms {
			return domain.Errorf(domain.EPRECONDITION, "the %s (act %s) found the product non-conforming: end the case with a motivated refusal citing it", k, f.Act)
		}
	}
	if err := s.checkValidity(r.Now, in.ValidUntil); err != nil {
		return err
	}
	var app Application
	var number, labName string
	var tests Finding
	r.Case.GetData("application", &app)
	r.Case.GetData("reg_number", &number)
	r.Case.GetData("laboratory_name", &labName)
	r.Case.GetData("tests", &tests)
	entry := Entry{Event: "registration", Name: app.Name, Manufacturer: app.Manufacturer, Standard: app.Standard}
	content := certificateContent{LabAct: fmt.Sprintf("%s, %s", tests.Act, tests.ActDate), Laboratory: labName, Standard: app.Standard}
	return s.issue(ctx, r, number, entry, in.ValidUntil, "", content)
}

func (s *Service) checkValidity(now time.Time, until domain.CivilDate) error {
	today := domain.CivilDateOf(now)
	if until.IsZero() || until.Compare(today) <= 0 || until.Compare(today.AddDays(MaxValidityYears*366)) > 0 {
		return domain.Invalid("data.valid_until", "the certificate is valid until a date after today, within %d years", MaxValidityYears)
	}
	return nil
}

// issue draws up the certificate of the case (adopting one an attempt cut short issued) and
// enters it into the register, in the step's unit of work.
func (s *Service) issue(ctx context.Context, r *cases.Run, number string, e Entry, until domain.CivilDate, supersedes string, content certificateContent) error {
	c := r.Case
	validUntil := until.AddDays(1).Start().Add(-time.Nanosecond).UTC()
	certID := domain.DerivedID("case", c.ID, "certificate")
	content.Service, content.Application, content.ApplicationDate = s.Figures.Regulation, c.Registration.Number, domain.CivilDateOf(c.Registration.At)
	content.RegNumber, content.Product, content.Manufacturer = number, e.Name, e.Manufacturer
	content.Applicant = strings.TrimSpace(c.Applicant.Name + " " + string(c.Applicant.IIN))
	doc, err := r.Adopt(ctx, documents.Draft{Type: s.Figures.DocType, ID: certID, Supersedes: supersedes, ValidUntil: &validUntil,
		Subject: documents.Subject{Kind: documents.SubjectApplicant, ID: c.ID, RegNumber: number, Name: e.Name,
			OwnerIIN: c.Applicant.IIN, Territory: c.Territory},
		Issuer:  documents.Issuer{UserID: r.Principal.UserID, Name: r.ActorName, Unit: domain.Kato(domain.AreaOf(c.Territory).District)},
		Content: content})
	if err != nil {
		return err
	}
	e.At, e.CaseID, e.CaseNumber, e.CertificateID, e.CertificateNo = doc.IssuedAt, c.ID, c.Registration.Number, doc.ID, doc.Number
	e.ValidUntil = until
	if err := s.Register.write(ctx, r.Writes, s.Figures.Register, number, c, e); err != nil {
		return err
	}
	r.Record["certificate"] = doc.Number
	r.Record["valid_until"] = until
	r.Results = append(r.Results, cases.Result{Type: string(doc.Type), ID: doc.ID, Number: doc.Number})
	return nil
}

// openRereg checks the certificate to re-register: one of this product's, the applicant's own.
func (s *Service) openRereg(ctx context.Context, applicant domain.Principal, a *cases.Application, c *cases.Case) error {
	var app Rereg
	r := cases.Run{Input: cases.StepInput{Data: a.Data}}
	if err := r.DecodeData(&app); err != nil {
		return err
	}
	if app.CertificateID == "" {
		return domain.Invalid("data.certificate_id", "name the registration certificate to re-register")
	}
	doc, err := s.Documents.Get(ctx, app.CertificateID)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && (doc.Type != s.Figures.DocType || doc.Subject.OwnerIIN != applicant.IIN)) {
		return domain.Invalid("data.certificate_id", "the applicant %s holds no registration certificate of %s with this id", applicant.IIN, s.Figures.Product)
	} else if err != nil {
		return err
	}
	if doc.Status != documents.DocValid {
		return domain.Errorf(domain.EPRECONDITION, "the certificate %s is %s: only a valid certificate is re-registered", doc.Number, doc.Status)
	}
	entry, err := s.Register.ByCertificate(ctx, s.Figures.Register, doc.Subject.RegNumber)
	if err != nil {
		return err
	}
	if entry.CertificateID != doc.ID {
		return domain.Errorf(domain.EPRECONDITION, "the certificate %s is not the register's current one for %s", doc.Number, entry.RegNumber)
	}
	for _, f := range []struct {
		v     *string
		field string
	}{{&app.NewName, "data.new_name"}, {&app.NewManufacturer, "data.new_manufacturer"}, {&app.Reorganisation, "data.reorganisation"}} {
		if *f.v, err = domain.TrimmedText(*f.v, f.field, MaxName, true); err != nil {
			return err
		}
	}
	switch app.Reason {
	case ReasonChange:
		if app.NewName == "" && app.NewManufacturer == "" && app.Reorganisation == "" {
			return domain.Invalid("data.new_name", "a re-registration on change names the new name, the new location (new_manufacturer) or the reorganisation")
		}
	case ReasonExpiry:
		if app.NewName != "" || app.NewManufacturer != "" || app.Reorganisation != "" {
			return domain.Invalid("data.reason", "a re-registration on expiry changes nothing; a change is its own re-registration")
		}
	default:
		return domain.Invalid("data.reason", "the reason is change or expiry")
	}
	c.Territory = doc.Subject.Territory
	c.Subject = cases.About{Kind: s.Figures.Product, ID: entry.ID, Name: entry.Name}
	c.SetData("rereg", app)
	return nil
}

// decideRereg issues the new certificate, superseding the old one, and records it in the register.
func (s *Service) decideRereg(ctx context.Context, r *cases.Run) error {
	var in struct {
		ValidUntil domain.CivilDate `json:"valid_until"`
	}
	if err := r.DecodeData(&in); err != nil {
		return err
	}
	if err := s.checkValidity(r.Now, in.ValidUntil); err != nil {
		return err
	}
	var app Rereg
	r.Case.GetData("rereg", &app)
	cur, err := domain.GetEntity[Product](ctx, s.Store, ProductsSpec.Name, r.Case.Subject.ID)
	if err != nil {
		return err
	}
	supersedes := ""
	if cur.CertificateID != domain.DerivedID("case", r.Case.ID, "certificate") {
		if old, err := s.Documents.Get(ctx, cur.CertificateID); err == nil && old.Status == documents.DocValid {
			supersedes = old.ID
		}
	}
	e := Entry{Event: "rereg_" + app.Reason, Name: cur.Name, Manufacturer: cur.Manufacturer, Standard: cur.Standard,
		PreviousCertificate: cur.CertificateNo, Reorganisation: app.Reorganisation}
	if app.NewName != "" {
		e.PreviousName, e.Name = cur.Name, app.NewName
	}
	if app.NewManufacturer != "" {
		e.Manufacturer = app.NewManufacturer
	}
	extra := certificateContent{Request: "rereg_" + app.Reason, PreviousName: e.PreviousName,
		PreviousCertificate: cur.CertificateNo, Reorganisation: app.Reorganisation, Standard: cur.Standard}
	svc := *s
	svc.Figures.Regulation = s.Figures.ReregRegulation
	return svc.issue(ctx, r, cur.RegNumber, e, in.ValidUntil, supersedes, extra)
}
