// Package regnumber runs the registration (account) numbers of production objects on the case
// engine: seed 000 service 3 and seed 004's version (≤ 9 working days). The district registers the
// application, the head assigns an executor, the executor checks completeness (a motivated refusal
// if incomplete) and brings the object's veterinary-sanitary conclusion from service 1
// (domain/inspection: the inspection is not written twice), the oblast inspection department
// registers the request, assigns the number and draws up the confirmation (3 wd; 7 wd for the
// capital and the cities of republican significance), and the district forwards it (1 wd). A
// re-issue on a change of name or legal form, and the confirmation of a slaughter site's number,
// follow the same path. The register of production objects keeps each object's number and history.
package regnumber

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/cases"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/inspection"
)

// Code is the service's code in routes and journals.
const Code = "regnumber"

// Request is what an application asks for.
type Request string

// The requests.
const (
	// RequestIssue: a first number for an object that has none.
	RequestIssue Request = "issue"
	// RequestReissue: the object's name or legal form changed; the number stays, the confirmation
	// is re-issued and the history keeps what it was.
	RequestReissue Request = "reissue"
	// RequestSlaughter: confirmation of the number of a slaughter site.
	RequestSlaughter Request = "slaughter_confirm"
)

// Application is the service's part of an application.
type Application struct {
	ObjectID string  `json:"object_id"`
	Request  Request `json:"request"`
	// NewName, NewOwnerIIN, NewOwnerName and LegalForm are the changes of a re-issue.
	NewName      string `json:"new_name,omitempty"`
	NewOwnerIIN  string `json:"new_owner_iin,omitempty"`
	NewOwnerName string `json:"new_owner_name,omitempty"`
	LegalForm    string `json:"legal_form,omitempty"`
}

// Service wires the registration numbers over the engine and service 1.
type Service struct {
	Store       domain.Store
	Now         domain.Clock
	Documents   *documents.Documents
	Objects     *inspection.ObjectRegister
	Inspections *inspection.Inspections
	Register    *Register
	Def         *cases.Service
}

// New declares the service on engine e.
func New(store domain.Store, now domain.Clock, docs *documents.Documents, insp *inspection.Service, e *cases.Cases) *Service {
	s := &Service{Store: store, Now: now, Documents: docs, Objects: insp.Register, Inspections: insp.Inspections,
		Register: &Register{Store: store}}
	s.Def = s.definition()
	e.Declare(s.Def)
	return s
}

// Specs are the collections of the service, for Declare.
var Specs = []domain.CollectionSpec{RegistrationsSpec}

// Regulation is how papers name the service.
const Regulation = "registration number of a production object (service 3)"

// republicCities are the oblast-level codes of the capital and the cities of republican
// significance (Astana, Almaty, Shymkent), whose units decide within 7 working days.
var republicCities = map[string]bool{"71": true, "75": true, "79": true}

func (s *Service) definition() *cases.Service {
	office := []domain.Role{domain.RoleVet, domain.RoleInspector, domain.RoleHead}
	executor := []domain.Role{domain.RoleVet, domain.RoleInspector}
	return &cases.Service{
		Code: Code, Prefix: "RNA", Regulation: Regulation,
		Title: cases.Text{KK: "Өндірістік объектілерге есептік нөмір беру", RU: "Присвоение учетных номеров производственным объектам"},
		Open:  s.open,
		Steps: []cases.StepDef{
			{Name: "register", Kind: cases.KindRegister, Roles: office, Level: cases.District,
				Title: cases.Text{KK: "Өтінішті тіркеу", RU: "Регистрация заявления"},
				Term:  cases.Term{N: 30, Unit: cases.Minutes}, Records: []string{"talon"}},
			{Name: "assign", Kind: cases.KindAssign, Roles: []domain.Role{domain.RoleHead}, Level: cases.District,
				Title: cases.Text{KK: "Басшы орындаушыны белгілейді", RU: "Руководитель определяет исполнителя"},
				Term:  cases.Term{N: 1, Unit: cases.WorkingDays}, Records: []string{"executor"}},
			{Name: "completeness", Kind: cases.KindCompleteness, Roles: executor, ByExecutor: true, Level: cases.District,
				Title: cases.Text{KK: "Құжаттардың толықтығын тексеру", RU: "Проверка полноты документов"},
				Term:  cases.Term{N: 1, Unit: cases.WorkingDays}, MayRefuse: true, Records: []string{"refusal"}},
			{Name: "inspection", Kind: cases.KindWork, Roles: executor, ByExecutor: true, Level: cases.District,
				Title: cases.Text{KK: "Объектіні тексеру, ветеринариялық-санитариялық қорытынды", RU: "Обследование объекта, ветеринарно-санитарное заключение"},
				Term:  cases.Term{N: 3, Unit: cases.WorkingDays}, MayRefuse: true,
				Records: []string{"inspection_id", "inspection", "conclusion_id", "conclusion"}, Hook: s.inspection},
			{Name: "oblast", Kind: cases.KindWork, Roles: []domain.Role{domain.RoleOblastDept}, Level: cases.Oblast,
				Title: cases.Text{KK: "Облыстық инспекция бөлімі нөмір береді", RU: "Областной отдел инспекции присваивает номер"},
				Term:  cases.Term{N: 3, Unit: cases.WorkingDays}, TermFor: oblastTerm, MayRefuse: true,
				TermNote: "7 working days for Astana, Almaty and Shymkent (the capital and cities of republican significance)",
				Records:  []string{"incoming", "reg_number", "confirmation"}, Hook: s.assign},
			{Name: "forward", Kind: cases.KindHandOver, Roles: office, Level: cases.District,
				Title: cases.Text{KK: "Растауды өтініш берушіге жолдау", RU: "Направление подтверждения заявителю"},
				Term:  cases.Term{N: 1, Unit: cases.WorkingDays}, Records: []string{"hand_over"}},
		},
	}
}

func oblastTerm(c *cases.Case) cases.Term {
	if republicCities[string(c.Territory[:2])] {
		return cases.Term{N: 7, Unit: cases.WorkingDays}
	}
	return cases.Term{N: 3, Unit: cases.WorkingDays}
}

// open checks the application with the applicant's rights: the object must be theirs.
func (s *Service) open(ctx context.Context, applicant domain.Principal, a *cases.Application, c *cases.Case) error {
	var app Application
	r := cases.Run{Input: cases.StepInput{Data: a.Data}}
	if err := r.DecodeData(&app); err != nil {
		return err
	}
	if app.ObjectID == "" {
		return domain.Invalid("data.object_id", "name the production object")
	}
	obj, err := s.Objects.Get(ctx, applicant, app.ObjectID)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return domain.Invalid("data.object_id", "the applicant %s owns no production object with this id", applicant.IIN)
	} else if err != nil {
		return err
	}
	switch app.Request {
	case RequestIssue:
		if obj.RegNumber != "" {
			return domain.Errorf(domain.EPRECONDITION, "the object already has the registration number %s: apply for a re-issue", obj.RegNumber)
		}
	case RequestReissue:
		if obj.RegNumber == "" {
			return domain.Errorf(domain.EPRECONDITION, "the object has no registration number to re-issue")
		}
		app.NewName = strings.TrimSpace(app.NewName)
		app.LegalForm = strings.TrimSpace(app.LegalForm)
		if app.NewOwnerIIN != "" {
			if _, err := domain.ParseIIN(app.NewOwnerIIN); err != nil {
				return domain.AtField("data.new_owner_iin", err)
			}
		}
		if app.NewName == "" && app.NewOwnerIIN == "" && app.LegalForm == "" {
			return domain.Invalid("data.new_name", "a re-issue names the new name or the new legal form")
		}
		if len([]rune(app.NewName)) > inspection.MaxObjectName || len([]rune(app.LegalForm)) > 100 || len([]rune(app.NewOwnerName)) > inspection.MaxObjectName {
			return domain.Invalid("data.new_name", "a name has at most %d characters", inspection.MaxObjectName)
		}
	case RequestSlaughter:
		if obj.Kind != inspection.KindSlaughter {
			return domain.Invalid("data.request", "only a slaughter site's number is confirmed")
		}
		if obj.RegNumber == "" {
			return domain.Errorf(domain.EPRECONDITION, "the slaughter site has no registration number to confirm: apply for one")
		}
	default:
		return domain.Invalid("data.request", "the request is issue, reissue or slaughter_confirm")
	}
	c.Territory = obj.Territory
	c.Subject = cases.About{Kind: "production_object", ID: obj.ID, Name: obj.Name}
	c.SetData("application", app)
	return nil
}

// inspection records the object's veterinary-sanitary conclusion from service 1: an inspection of
// this object concluded in conformity. A non-conformity is a ground for a motivated refusal.
func (s *Service) inspection(ctx context.Context, r *cases.Run) error {
	var in struct {
		InspectionID string `json:"inspection_id"`
	}
	if err := r.DecodeData(&in); err != nil {
		return err
	}
	insp, err := s.Inspections.Get(ctx, r.Principal, in.InspectionID)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && insp.ObjectID != r.Case.Subject.ID) {
		return domain.Invalid("data.inspection_id", "no inspection of this object with this id")
	} else if err != nil {
		return err
	}
	if insp.State != inspection.InspConcluded || insp.Decision == nil {
		return domain.Errorf(domain.EPRECONDITION, "inspection %s is %s: the conclusion is issued first", insp.Receipt.Number, insp.State)
	}
	if insp.Decision.Outcome != inspection.OutcomeConformity {
		return domain.Errorf(domain.EPRECONDITION, "the conclusion %s found non-conformity: end the case with a motivated refusal citing it",
			insp.Decision.ConclusionNumber)
	}
	r.Record["inspection_id"] = insp.ID
	r.Record["inspection"] = insp.Receipt.Number
	r.Record["conclusion_id"] = insp.Decision.ConclusionID
	r.Record["conclusion"] = insp.Decision.ConclusionNumber
	r.Case.SetData("conclusion", insp.Decision.ConclusionNumber)
	return nil
}

// assign is the oblast's step: it registers the request, assigns the number (a re-issue and a
// slaughter site's confirmation keep the object's), draws up the confirmation and records both
// on the object and in the register, in the step's unit of work. A confirmation already issued for
// the case (an attempt cut short) is adopted with its number, so a retry writes the same.
func (s *Service) assign(ctx context.Context, r *cases.Run) error {
	var in struct {
		Incoming string `json:"incoming"`
	}
	if len(r.Input.Data) > 0 {
		if err := r.DecodeData(&in); err != nil {
			return err
		}
	}
	incoming, err := domain.TrimmedText(in.Incoming, "data.incoming", 100, true)
	if err != nil {
		return err
	}
	var app Application
	r.Case.GetData("application", &app)
	obj, err := s.Objects.Get(ctx, domain.Principal{Role: domain.RoleAdmin}, app.ObjectID)
	if err != nil {
		return err
	}
	reg, err := s.Register.Get(ctx, obj.ID)
	if err != nil && !domain.IsCode(err, domain.ENOTFOUND) {
		return err
	}
	confID := domain.DerivedID("case", r.Case.ID, "confirmation")
	var number string
	existing, err := s.Documents.Get(ctx, confID)
	switch {
	case err == nil:
		number = existing.Subject.RegNumber
	case !domain.IsCode(err, domain.ENOTFOUND):
		return err
	case app.Request == RequestIssue:
		if obj.RegNumber != "" {
			return domain.Errorf(domain.EPRECONDITION, "the object received the number %s meanwhile: end the case with a refusal", obj.RegNumber)
		}
		oblast := string(obj.Territory[:2])
		seq, err := s.Store.Incr(ctx, "regnumber:"+oblast, 1, time.Time{})
		if err != nil {
			return err
		}
		number = FormatNumber(oblast, seq)
	default:
		number = obj.RegNumber
	}
	name, owner, ownerName := obj.Name, obj.OwnerIIN, obj.OwnerName
	if app.Request == RequestReissue {
		if app.NewName != "" {
			name = app.NewName
		}
		if app.NewOwnerIIN != "" {
			owner, ownerName = domain.IIN(app.NewOwnerIIN), app.NewOwnerName
		}
	}
	supersedes := ""
	if reg != nil && reg.ConfirmationID != "" && reg.ConfirmationID != confID {
		if old, err := s.Documents.Get(ctx, reg.ConfirmationID); err == nil && old.Status == documents.DocValid {
			supersedes = old.ID
		}
	}
	previous, conclusion := "", ""
	if app.Request == RequestReissue {
		previous = obj.Name
	}
	r.Case.GetData("conclusion", &conclusion)
	doc, err := r.Adopt(ctx, documents.Draft{Type: documents.DocRegNumber, ID: confID, Supersedes: supersedes,
		Subject: documents.Subject{Kind: documents.SubjectObject, ID: obj.ID, RegNumber: number, Name: name,
			OwnerIIN: owner, Territory: obj.Territory},
		Issuer: documents.Issuer{UserID: r.Principal.UserID, Name: r.ActorName, Unit: domain.Kato(domain.AreaOf(obj.Territory).Oblast)},
		Content: map[string]any{
			"service":          Regulation,
			"application":      r.Case.Registration.Number,
			"application_date": domain.CivilDateOf(r.Case.Registration.At),
			"request":          string(app.Request),
			"reg_number":       number,
			"object_kind":      string(obj.Kind),
			"address":          obj.Address,
			"owner":            strings.TrimSpace(ownerName + " " + string(owner)),
			"previous_name":    previous,
			"legal_form":       app.LegalForm,
			"conclusion":       conclusion,
		}})
	if err != nil {
		return err
	}
	at := doc.IssuedAt
	entry := Entry{At: at, Event: string(app.Request), CaseID: r.Case.ID, CaseNumber: r.Case.Registration.Number,
		Number: number, Name: name, OwnerIIN: owner, LegalForm: app.LegalForm, ConfirmationID: doc.ID, ConfirmationNo: doc.Number}
	if app.Request == RequestReissue {
		entry.PreviousName, entry.PreviousOwner = obj.Name, obj.OwnerIIN
	}
	if err := s.Register.write(r.Writes, reg, obj, entry); err != nil {
		return err
	}
	if err := s.Objects.WriteRegistration(r.Writes, obj, inspection.Registration{RegNumber: number, Name: name,
		OwnerIIN: owner, OwnerName: ownerName, At: at}); err != nil {
		return err
	}
	if supersedes != "" {
		r.After = append(r.After, func(ctx context.Context) error {
			return s.Documents.MarkSuperseded(ctx, supersedes, doc)
		})
	}
	r.Record["incoming"] = incoming
	r.Record["reg_number"] = number
	r.Record["confirmation"] = doc.Number
	r.Results = append(r.Results, cases.Result{Type: string(doc.Type), ID: doc.ID, Number: doc.Number})
	return nil
}

// FormatNumber writes a registration number: "KZ-", the oblast's two KATO digits, "-", and the
// oblast's sequence in six digits or more: KZ-31-000017. The sequence is an atomic counter per
// oblast that only grows, so a number is never given twice nor reused; the register's unique
// index is the last guard.
func FormatNumber(oblast string, seq int64) string {
	return fmt.Sprintf("KZ-%s-%s", oblast, domain.ZeroPad(seq, 6))
}
