// Package licence runs the licence for veterinary activity, including the veterinary-sanitary
// expertise of animal products (seed 000, service 6), on the case engine: issue (30 min; head
// 1 wd; completeness 1 wd with refusal; review and drafting 10 wd; head signs 1 wd; hand-over
// 30 min), re-issue (30 min; 2 h; 1 wd; 1 wd; 30 min) and duplicate (30 min; 4 h; 1 wd; 2 h;
// 30 min). The licence carries its annexes (the kinds of activity); the executor checks the
// qualification requirements one by one, and the licence fee must be recorded as paid before the
// review (unpaid, the case can only end in a refusal). The register of licences keeps each
// licence's current paper and history: a re-issue supersedes the licence, a duplicate is linked to
// it, and a revoked licence has no duplicate.
package licence

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/cases"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/registers"
)

// Code is the service's code in routes and journals; Register the public register's name.
const (
	Code     = "licence"
	Register = "licences"
)

// Regulation is how papers name the service.
const Regulation = "licence for veterinary activity (service 6)"

// The requests.
const (
	RequestIssue     = "issue"
	RequestReissue   = "reissue"
	RequestDuplicate = "duplicate"
)

// Limits of the inputs.
const (
	MaxKinds        = 30
	MaxRequirements = 50
	MaxText         = 500
)

// Application is the service's part of an application.
type Application struct {
	Request string `json:"request"`
	// Kinds are the kinds of veterinary activity applied for (the licence's annexes), at an issue
	// and, changed, at a re-issue.
	Kinds []string `json:"kinds,omitempty"`
	// Territory is the KATO code of the licensee's location, at an issue.
	Territory string `json:"territory,omitempty"`
	// LicenceID is the licence re-issued or duplicated.
	LicenceID string `json:"licence_id,omitempty"`
	// Reason is why a re-issue or a duplicate is asked for (a change of name, a lost paper).
	Reason string `json:"reason,omitempty"`
	// NewName is the licensee's name after a change, at a re-issue.
	NewName string `json:"new_name,omitempty"`
}

// Fee is the record of the licence fee's payment.
type Fee struct {
	Receipt string           `json:"receipt"`
	PaidOn  domain.CivilDate `json:"paid_on"`
	Amount  string           `json:"amount"`
}

// Requirement is one qualification requirement as checked.
type Requirement struct {
	Code string `json:"code"`
	Text string `json:"text"`
	Met  *bool  `json:"met"`
	Note string `json:"note,omitempty"`
}

// Service runs the licences.
type Service struct {
	Store     domain.Store
	Documents *documents.Documents
	Register  *Licences
	Def       *cases.Service
}

// New declares the service on engine e.
func New(store domain.Store, docs *documents.Documents, e *cases.Cases) *Service {
	s := &Service{Store: store, Documents: docs, Register: &Licences{Store: store}}
	s.Def = s.definition()
	e.Declare(s.Def)
	return s
}

// Specs are the collections of the service.
var Specs = []domain.CollectionSpec{LicencesSpec}

func request(c *cases.Case) string {
	var app Application
	c.GetData("application", &app)
	return app.Request
}

// termBy chooses a step's term by the request: issue, re-issue, duplicate.
func termBy(issue, reissue, duplicate cases.Term) func(c *cases.Case) cases.Term {
	return func(c *cases.Case) cases.Term {
		switch request(c) {
		case RequestReissue:
			return reissue
		case RequestDuplicate:
			return duplicate
		}
		return issue
	}
}

func wd(n int) cases.Term    { return cases.Term{N: n, Unit: cases.WorkingDays} }
func hours(n int) cases.Term { return cases.Term{N: n, Unit: cases.Hours} }

func (s *Service) definition() *cases.Service {
	office := []domain.Role{domain.RoleVet, domain.RoleInspector, domain.RoleHead}
	executor := []domain.Role{domain.RoleVet, domain.RoleInspector}
	head := []domain.Role{domain.RoleHead}
	return &cases.Service{Code: Code, Prefix: "LIC", Regulation: Regulation,
		Title: cases.Text{KK: "Ветеринария саласындағы қызметке лицензия беру", RU: "Выдача лицензии на ветеринарную деятельность"},
		Open:  s.open,
		Steps: []cases.StepDef{
			{Name: "register", Kind: cases.KindRegister, Roles: office, Level: cases.District,
				Title: cases.Text{KK: "Өтінішті тіркеу", RU: "Регистрация заявления"},
				Term:  cases.Term{N: 30, Unit: cases.Minutes}, Records: []string{"talon"}},
			{Name: "assign", Kind: cases.KindAssign, Roles: head, Level: cases.District,
				Title: cases.Text{KK: "Басшы орындаушыны белгілейді", RU: "Руководитель определяет исполнителя"},
				Term:  wd(1), TermFor: termBy(wd(1), hours(2), hours(4)), TermNote: "issue 1 wd; re-issue 2 h; duplicate 4 h",
				Records: []string{"executor"}},
			{Name: "completeness", Kind: cases.KindWork, Roles: executor, ByExecutor: true, Level: cases.District,
				Title: cases.Text{KK: "Құжаттардың толықтығын тексеру, лицензиялық алымды тіркеу", RU: "Проверка полноты документов, учёт лицензионного сбора"},
				Term:  wd(1), TermFor: termBy(wd(1), wd(0), wd(0)),
				TermNote:  "issue 1 wd; a re-issue's and a duplicate's executor has 1 wd for completeness and review together",
				MayRefuse: true, Records: []string{"fee", "refusal"}, Hook: s.completeness},
			{Name: "review", Kind: cases.KindWork, Roles: executor, ByExecutor: true, Level: cases.District,
				Title: cases.Text{KK: "Біліктілік талаптарын қарау, лицензия жобасы", RU: "Рассмотрение квалификационных требований, проект лицензии"},
				Term:  wd(10), TermFor: termBy(wd(10), wd(1), wd(1)), TermNote: "issue 10 wd; re-issue and duplicate 1 wd",
				MayRefuse: true, Records: []string{"requirements", "refusal"}, Hook: s.review},
			{Name: "sign", Kind: cases.KindWork, Roles: head, Level: cases.District,
				Title: cases.Text{KK: "Басшы лицензияға қол қояды", RU: "Руководитель подписывает лицензию"},
				Term:  wd(1), TermFor: termBy(wd(1), wd(1), hours(2)), TermNote: "issue and re-issue 1 wd; duplicate 2 h",
				MayRefuse: true, Records: []string{"licence", "refusal"}, Hook: s.sign, Done: cases.SupersedeResults(s.Documents)},
			{Name: "hand_over", Kind: cases.KindHandOver, Roles: office, Level: cases.District,
				Title: cases.Text{KK: "Лицензияны беру", RU: "Выдача лицензии"},
				Term:  cases.Term{N: 30, Unit: cases.Minutes}, Records: []string{"hand_over"}},
		}}
}

func (s *Service) open(ctx context.Context, applicant domain.Principal, a *cases.Application, c *cases.Case) error {
	var app Application
	r := cases.Run{Input: cases.StepInput{Data: a.Data}}
	if err := r.DecodeData(&app); err != nil {
		return err
	}
	var err error
	if app.Reason, err = domain.TrimmedText(app.Reason, "data.reason", MaxText, true); err != nil {
		return err
	}
	if app.NewName, err = domain.TrimmedText(app.NewName, "data.new_name", MaxText, true); err != nil {
		return err
	}
	switch app.Request {
	case RequestIssue:
		if app.LicenceID != "" || app.NewName != "" {
			return domain.Invalid("data.licence_id", "an issue is for a new licence")
		}
		if app.Kinds, err = kinds(app.Kinds); err != nil {
			return err
		}
		t, err := domain.ParseKato(app.Territory)
		if err != nil || len(t) != 9 {
			return domain.Invalid("data.territory", "give the KATO code of the licensee's location (9 digits)")
		}
		app.Territory = string(t)
		c.Territory = t
		c.Subject = cases.About{Kind: "licence", Name: c.Applicant.Name}
	case RequestReissue, RequestDuplicate:
		if app.LicenceID == "" {
			return domain.Invalid("data.licence_id", "name the licence")
		}
		doc, err := s.Documents.Get(ctx, app.LicenceID)
		if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && (doc.Type != documents.DocLicence || doc.Subject.OwnerIIN != applicant.IIN)) {
			return domain.Invalid("data.licence_id", "the applicant %s holds no licence with this id", applicant.IIN)
		} else if err != nil {
			return err
		}
		if doc.Status == documents.DocRevoked {
			return domain.Errorf(domain.EPRECONDITION, "the licence %s is revoked (%s): it has no %s", doc.Number, doc.RevokeReason, app.Request)
		}
		if doc.Status != documents.DocValid {
			return domain.Errorf(domain.EPRECONDITION, "the licence %s is %s: apply with the current one (%s)", doc.Number, doc.Status, doc.SupersededByNo)
		}
		if app.Reason == "" {
			return domain.Invalid("data.reason", "say why the licence is re-issued or duplicated")
		}
		if app.Request == RequestDuplicate {
			if len(app.Kinds) > 0 || app.NewName != "" {
				return domain.Invalid("data.kinds", "a duplicate repeats the licence as it is")
			}
		} else if len(app.Kinds) > 0 {
			if app.Kinds, err = kinds(app.Kinds); err != nil {
				return err
			}
		}
		c.Territory = doc.Subject.Territory
		c.Subject = cases.About{Kind: "licence", ID: doc.Subject.ID, Name: doc.Number}
	default:
		return domain.Invalid("data.request", "the request is issue, reissue or duplicate")
	}
	c.SetData("application", app)
	return nil
}

func kinds(in []string) ([]string, error) {
	if len(in) < 1 || len(in) > MaxKinds {
		return nil, domain.Invalid("data.kinds", "name 1 to %d kinds of veterinary activity", MaxKinds)
	}
	out := make([]string, 0, len(in))
	for i, k := range in {
		t, err := domain.TrimmedText(k, fmt.Sprintf("data.kinds[%d]", i), MaxText, false)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// completeness records the licence fee's payment, when given: the review waits for it.
func (s *Service) completeness(_ context.Context, r *cases.Run) error {
	if len(r.Input.Data) == 0 {
		return nil
	}
	var in struct {
		Fee *Fee `json:"fee"`
	}
	if err := r.DecodeData(&in); err != nil {
		return err
	}
	if in.Fee == nil {
		return nil
	}
	return recordFee(r, *in.Fee)
}

func recordFee(r *cases.Run, f Fee) error {
	var err error
	if f.Receipt, err = domain.TrimmedText(f.Receipt, "data.fee.receipt", 100, false); err != nil {
		return err
	}
	if f.Amount, err = domain.TrimmedText(f.Amount, "data.fee.amount", 50, false); err != nil {
		return err
	}
	if f.PaidOn.IsZero() || f.PaidOn.Compare(domain.CivilDateOf(r.Now)) > 0 {
		return domain.Invalid("data.fee.paid_on", "give the date of payment, not later than today")
	}
	r.Case.SetData("fee", f)
	r.Record["fee"] = f.Receipt
	return nil
}

// review checks the qualification requirements one by one; the fee must be recorded first (it may
// be recorded with the review's own data).
func (s *Service) review(_ context.Context, r *cases.Run) error {
	var in struct {
		Fee          *Fee          `json:"fee"`
		Requirements []Requirement `json:"requirements"`
	}
	if err := r.DecodeData(&in); err != nil {
		return err
	}
	if in.Fee != nil {
		if err := recordFee(r, *in.Fee); err != nil {
			return err
		}
	}
	var fee Fee
	if !r.Case.GetData("fee", &fee) {
		return domain.Errorf(domain.EPRECONDITION, "the licence fee is not recorded as paid: record its payment, or end the case with a motivated refusal")
	}
	if len(in.Requirements) < 1 || len(in.Requirements) > MaxRequirements {
		return domain.Invalid("data.requirements", "check 1 to %d qualification requirements, one by one", MaxRequirements)
	}
	lines := make([]string, 0, len(in.Requirements))
	for i, q := range in.Requirements {
		var err error
		f := fmt.Sprintf("data.requirements[%d]", i)
		if q.Code, err = domain.TrimmedText(q.Code, f+".code", 20, false); err != nil {
			return err
		}
		if q.Text, err = domain.TrimmedText(q.Text, f+".text", MaxText, false); err != nil {
			return err
		}
		if q.Note, err = domain.TrimmedText(q.Note, f+".note", MaxText, true); err != nil {
			return err
		}
		if q.Met == nil {
			return domain.Invalid(f+".met", "say whether the requirement is met")
		}
		if !*q.Met {
			return domain.Errorf(domain.EPRECONDITION, "requirement %s (%s) is not met: end the case with a motivated refusal citing it", q.Code, q.Text)
		}
		in.Requirements[i] = q
		lines = append(lines, strings.TrimSpace(q.Code+". "+q.Text+" — "+q.Note))
	}
	r.Case.SetData("requirements", lines)
	r.Record["requirements"] = lines
	return nil
}

// licenceContent is what a licence and its duplicate print.
type licenceContent struct {
	Service         string           `json:"service"`
	Request         string           `json:"request"`
	Application     string           `json:"application"`
	ApplicationDate domain.CivilDate `json:"application_date"`
	Applicant       string           `json:"applicant"`
	Activities      []string         `json:"activities"`
	Requirements    []string         `json:"requirements,omitempty"`
	Fee             string           `json:"fee,omitempty"`
	PreviousLicence string           `json:"previous_licence,omitempty"`
	Original        string           `json:"original,omitempty"`
	PreviousName    string           `json:"previous_name,omitempty"`
	Reason          string           `json:"reason,omitempty"`
}

// sign issues the licence (or its duplicate) and records it in the register of licences.
func (s *Service) sign(ctx context.Context, r *cases.Run) error {
	c := r.Case
	var app Application
	var lines []string
	var fee Fee
	c.GetData("application", &app)
	c.GetData("requirements", &lines)
	c.GetData("fee", &fee)
	entryID := c.Subject.ID
	if app.Request == RequestIssue {
		entryID = domain.DerivedID("licence", c.ID)
	}
	cur, err := domain.GetEntity[Licence](ctx, s.Store, LicencesSpec.Name, entryID)
	if err != nil && !domain.IsCode(err, domain.ENOTFOUND) {
		return err
	}
	name, activities := c.Applicant.Name, app.Kinds
	content := licenceContent{Service: Regulation, Request: "licence_" + app.Request, Application: c.Registration.Number,
		ApplicationDate: domain.CivilDateOf(c.Registration.At), Requirements: lines,
		Fee: strings.TrimSpace(fmt.Sprintf("%s, %s, %s", fee.Receipt, fee.PaidOn, fee.Amount))}
	typ, supersedes := documents.DocLicence, ""
	if cur != nil {
		if name == "" || app.Request == RequestDuplicate {
			name = cur.HolderName
		}
		if app.NewName != "" {
			content.PreviousName, name = cur.HolderName, app.NewName
		}
		if len(activities) == 0 {
			activities = cur.Activities
		}
		content.Reason = app.Reason
		switch app.Request {
		case RequestReissue:
			content.PreviousLicence = cur.LicenceNo
			if cur.LicenceID != domain.DerivedID("case", c.ID, "licence") {
				supersedes = cur.LicenceID
			}
		case RequestDuplicate:
			typ, content.Original = documents.DocLicenceDuplicate, cur.LicenceNo
		}
	} else if app.Request != RequestIssue {
		return domain.Errorf(domain.EPRECONDITION, "the register of licences has no entry for %s", c.Subject.Name)
	}
	content.Applicant = strings.TrimSpace(name + " " + string(c.Applicant.IIN))
	content.Activities = activities
	doc, err := r.Adopt(ctx, documents.Draft{Type: typ, ID: domain.DerivedID("case", c.ID, "licence"), Supersedes: supersedes,
		Subject: documents.Subject{Kind: documents.SubjectApplicant, ID: entryID, Name: name, OwnerIIN: c.Applicant.IIN, Territory: c.Territory},
		Issuer:  documents.Issuer{UserID: r.Principal.UserID, Name: r.ActorName, Unit: domain.Kato(domain.AreaOf(c.Territory).District)},
		Content: content})
	if err != nil {
		return err
	}
	e := Event{At: doc.IssuedAt, Event: app.Request, CaseID: c.ID, CaseNumber: c.Registration.Number, DocumentID: doc.ID, DocumentNo: doc.Number,
		Reason: app.Reason}
	if err := s.Register.write(r.Writes, cur, entryID, c, name, activities, e); err != nil {
		return err
	}
	r.Record["licence"] = doc.Number
	r.Results = append(r.Results, cases.Result{Type: string(doc.Type), ID: doc.ID, Number: doc.Number})
	return nil
}

// Event is one paper of a licence: issued, re-issued, duplicated.
type Event struct {
	At         time.Time `json:"at"`
	Event      string    `json:"event"`
	CaseID     string    `json:"case_id"`
	CaseNumber string    `json:"case_number"`
	DocumentID string    `json:"document_id"`
	DocumentNo string    `json:"document_number"`
	Reason     string    `json:"reason,omitempty"`
}

// Licence is an entry of the register of licences: the licence in force (a re-issue replaces it),
// its duplicates, its kinds of activity.
type Licence struct {
	domain.Meta
	LicenceID  string      `json:"licence_id"`
	LicenceNo  string      `json:"licence_number"`
	HolderName string      `json:"holder_name"`
	HolderIIN  domain.IIN  `json:"holder_iin"`
	Territory  domain.Kato `json:"territory"`
	Activities []string    `json:"activities"`
	Duplicates []string    `json:"duplicates,omitempty"`
	IssuedAt   time.Time   `json:"issued_at"`
	History    []Event     `json:"history"`
	UpdatedAt  time.Time   `json:"updated_at"`

	NameKey string `json:"name_key"`
}

// LicencesSpec declares the register of licences.
var LicencesSpec = domain.CollectionSpec{
	Name:    "licence_register",
	Indexes: []domain.Index{{Name: "licences_number", Fields: []string{"licence_number"}}},
}

// Licences keeps the register of licences.
type Licences struct {
	Store domain.Store
}

func (l *Licences) write(w *domain.Writes, cur *Licence, id string, c *cases.Case, name string, activities []string, e Event) error {
	if cur != nil && len(cur.History) > 0 && cur.History[len(cur.History)-1].CaseID == e.CaseID {
		return nil
	}
	v := cur
	if v == nil {
		v = &Licence{Meta: domain.Meta{ID: id}, HolderIIN: c.Applicant.IIN, Territory: c.Territory, History: []Event{}}
	}
	v.HolderName, v.Activities, v.UpdatedAt, v.NameKey = name, activities, e.At, strings.ToLower(name)
	if e.Event == RequestDuplicate {
		v.Duplicates = append(v.Duplicates, e.DocumentNo)
	} else {
		v.LicenceID, v.LicenceNo, v.IssuedAt = e.DocumentID, e.DocumentNo, e.At
	}
	v.History = append(v.History, e)
	if cur == nil {
		return domain.WriteInsert(w, LicencesSpec.Name, v, nil)
	}
	return domain.WriteUpdate(w, LicencesSpec.Name, v, nil)
}

// Get returns the register's entry id.
func (l *Licences) Get(ctx context.Context, id string) (*Licence, error) {
	return domain.GetEntity[Licence](ctx, l.Store, LicencesSpec.Name, id)
}

// List pages through the register of licences; q keeps the entries whose holder or number
// contains it.
func (l *Licences) List(ctx context.Context, q, after string, limit int) ([]*Licence, string, error) {
	q = strings.ToLower(strings.TrimSpace(q))
	return registers.Search(ctx, l.Store, LicencesSpec.Name, domain.Query{Index: "licences_number", After: after}, limit,
		func(v *Licence) bool {
			return q == "" || strings.Contains(v.NameKey, q) || strings.Contains(strings.ToLower(v.LicenceNo), q)
		})
}
