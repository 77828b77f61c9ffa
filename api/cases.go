package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/cases"
	"github.com/vetfield/vetfield/domain/inspection"
	"github.com/vetfield/vetfield/domain/regnumber"
	"github.com/vetfield/vetfield/domain/vetcert"
)

// The routes of the case engine: every state service declared on it (domain/cases), its
// journals, the overdue listing across services, the office hours, and the register of production
// objects that service 3 keeps.
func (s *Server) registerCases() {
	staff := roles(domain.RoleAdmin, domain.RoleVet, domain.RoleInspector, domain.RoleHead, domain.RoleOblastDept,
		domain.RoleSanitaryInspector)
	// A laboratory does the steps of the cases sent to it, and nothing else.
	actors := roles(domain.RoleAdmin, domain.RoleVet, domain.RoleInspector, domain.RoleHead, domain.RoleOblastDept,
		domain.RoleSanitaryInspector, domain.RoleLaboratory)
	op := func(id, method, path, summary, desc string, errs ...int) huma.Operation {
		return huma.Operation{OperationID: id, Method: method, Path: path, Tags: []string{"cases"},
			Summary: summary, Description: desc, Errors: errs}
	}
	s.registerCertificates()
	register(s, op("listServices", http.MethodGet, "/v1/services", "The state services on the case engine, as declared",
		"Each service's steps in order: who acts (roles, level, the executor), the term and its unit (minutes and hours "+
			"are office time), what the step records and whether it may end in a motivated refusal."), anyAccount, s.listServices)
	apply := op("applyCase", http.MethodPost, "/v1/cases", "Apply to a state service",
		"An applicant's account applies for itself: the case waits for the office's registration within the register "+
			"step's term. Staff of the case's territory register at once, for the applicant (applicant_iin, its check digit "+
			"checked) or their representative with a power of attorney, and the talon is issued (a document with QR: print "+
			"it at /v1/documents/{talon_id}/print). An object that is not the applicant's is 422. With a client-made `id` "+
			"a retry answers the first (200 instead of 201).", 403, 404, 409)
	apply.DefaultStatus = http.StatusCreated
	register(s, apply, roles(domain.RoleAdmin, domain.RoleVet, domain.RoleInspector, domain.RoleHead,
		domain.RoleSanitaryInspector, domain.RoleFarmer), s.applyCase)
	register(s, op("listCases", http.MethodGet, "/v1/cases", "Cases the caller may see",
		"An applicant's own (the personal cabinet), newest first; staff their territory's. With `overdue=true`, every "+
			"case whose pending step is past its deadline, across services, the oldest deadline first."), anyAccount, s.listCases)
	register(s, op("getCase", http.MethodGet, "/v1/cases/{id}", "One case: its steps, results and hand-over", "", 404),
		anyAccount, s.getCase)
	register(s, op("advanceCase", http.MethodPost, "/v1/cases/{id}/steps/{step}", "Do a step of a case",
		"The case's next step only (409 otherwise, and after the case ended), by a role it names within its level "+
			"(403), by the assigned executor where it says so. `refuse` with a `ground` ends the case with a motivated "+
			"refusal at a step that may refuse. Repeating the step just done answers the case as it is.", 403, 404, 409),
		actors, s.advanceCase)
	register(s, op("getJournal", http.MethodGet, "/v1/journals/{service}", "A service's journal, in registration order",
		"The registered cases of the caller's territory, where each stands and who holds it.", 403, 404), staff, s.getJournal)
	csvOp := op("getJournalCSV", http.MethodGet, "/v1/journals/{service}/csv", "A service's journal as CSV",
		"Columns labelled in Kazakh and Russian; times in Asia/Almaty.", 403, 404)
	csvOp.Responses = binaryResponse("The journal.", "text/csv")
	register(s, csvOp, staff, s.getJournalCSV)
	register(s, op("getOfficeHours", http.MethodGet, "/v1/office-hours", "The office hours that office-time terms run in", ""),
		anyAccount, s.getOfficeHours)
	register(s, op("putOfficeHours", http.MethodPut, "/v1/office-hours", "Set the office hours",
		"Times as HH:MM in Asia/Almaty; a day without a break has break_start equal to break_end. Terms computed afterwards use them."),
		roles(domain.RoleAdmin), s.putOfficeHours)
	register(s, op("listObjectRegister", http.MethodGet, "/v1/object-register", "The register of production objects",
		"Objects with a registration number, by number: staff their territory's, an owner their own; filter by kind, "+
			"owner or number."), authenticated, s.listObjectRegister)
	register(s, op("getObjectRegistration", http.MethodGet, "/v1/object-register/{id}", "One object's number and its history", "", 404),
		authenticated, s.getObjectRegistration)
}

// StepDefView is a step as its service declares it.
type StepDefView struct {
	Name       string        `json:"name"`
	Title      cases.Text    `json:"title"`
	Kind       string        `json:"kind" enum:"register,assign,completeness,work,hand_over"`
	Roles      []domain.Role `json:"roles" doc:"Who acts; admins always may"`
	ByExecutor bool          `json:"by_executor,omitempty" doc:"Only the executor the head assigned"`
	Level      string        `json:"level" enum:"district,oblast"`
	Term       cases.Term    `json:"term" doc:"unit: minutes or hours of office time, working_days, calendar_days"`
	TermNote   string        `json:"term_note,omitempty"`
	Records    []string      `json:"records,omitempty"`
	MayRefuse  bool          `json:"may_refuse,omitempty" doc:"May end the case in a motivated refusal"`
}

// ServiceView is a state service as declared on the engine.
type ServiceView struct {
	Code       string        `json:"code"`
	Prefix     string        `json:"prefix" doc:"Start of the case numbers"`
	Title      cases.Text    `json:"title"`
	Regulation string        `json:"regulation"`
	Steps      []StepDefView `json:"steps"`
}

type servicesOutput struct {
	Body struct {
		Items []ServiceView `json:"items"`
	}
}

// listServices answers GET /v1/services.
func (s *Server) listServices(ctx context.Context, _ *struct{}) (*servicesOutput, error) {
	out := &servicesOutput{}
	out.Body.Items = []ServiceView{}
	for _, svc := range s.Cases.Services() {
		v := ServiceView{Code: svc.Code, Prefix: svc.Prefix, Title: svc.Title, Regulation: svc.Regulation, Steps: []StepDefView{}}
		for _, st := range svc.Steps {
			v.Steps = append(v.Steps, StepDefView{Name: st.Name, Title: st.Title, Kind: string(st.Kind), Roles: st.Roles,
				ByExecutor: st.ByExecutor, Level: string(st.Level), Term: st.Term, TermNote: st.TermNote, Records: st.Records,
				MayRefuse: st.MayRefuse})
		}
		out.Body.Items = append(out.Body.Items, v)
	}
	return out, nil
}

// RepresentativeBody is who applies for the applicant.
type RepresentativeBody struct {
	IIN                 string           `json:"iin" maxLength:"12"`
	Name                string           `json:"name" maxLength:"300"`
	PowerOfAttorney     string           `json:"power_of_attorney" maxLength:"100" doc:"Number of the power of attorney"`
	PowerOfAttorneyDate domain.CivilDate `json:"power_of_attorney_date" format:"date"`
}

// CaseRequest is the body of POST /v1/cases.
type CaseRequest struct {
	ID             string              `json:"id,omitempty" maxLength:"36" doc:"Client-generated UUID; it becomes the case's id"`
	Service        string              `json:"service" maxLength:"40" doc:"A service of GET /v1/services, e.g. regnumber"`
	ApplicantIIN   string              `json:"applicant_iin,omitempty" maxLength:"12" doc:"IIN or BIN; an applicant's account applies for itself"`
	ApplicantName  string              `json:"applicant_name,omitempty" maxLength:"300"`
	Representative *RepresentativeBody `json:"representative,omitempty"`
	Documents      []string            `json:"documents" minItems:"1" maxItems:"30"`
	Data           json.RawMessage     `json:"data,omitempty" doc:"The service's part: for regnumber {object_id, request: issue|reissue|slaughter_confirm, new_name, new_owner_iin, new_owner_name, legal_form}"`
}

// StepRecordView is one step as done or pending.
type StepRecordView struct {
	Name      string          `json:"name"`
	Start     time.Time       `json:"start"`
	Due       time.Time       `json:"due" doc:"Exclusive: on time when done before it."`
	End       *time.Time      `json:"end,omitempty"`
	Actor     string          `json:"actor,omitempty"`
	ActorName string          `json:"actor_name,omitempty"`
	Refused   bool            `json:"refused,omitempty"`
	Late      bool            `json:"late"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// CaseView is a case as the API shows it.
type CaseView struct {
	ID           string           `json:"id"`
	Service      string           `json:"service"`
	Territory    string           `json:"territory"`
	Applicant    cases.Applicant  `json:"applicant"`
	Subject      cases.About      `json:"subject"`
	Documents    []string         `json:"documents"`
	SubmittedAt  time.Time        `json:"submitted_at"`
	Registration *cases.Talon     `json:"registration,omitempty"`
	State        string           `json:"state" enum:"submitted,open,done,refused"`
	Steps        []StepRecordView `json:"steps"`
	Pending      string           `json:"pending,omitempty" doc:"The step being worked on."`
	Overdue      bool             `json:"overdue" doc:"The pending step is past its deadline."`
	Executor     *cases.Executor  `json:"executor,omitempty"`
	Holder       string           `json:"holder,omitempty" doc:"Who holds the case now: the laboratory or research institution it was sent to, else the executor."`
	Results      []cases.Result   `json:"results"`
	Refusal      *cases.Refusal   `json:"refusal,omitempty"`
	HandOver     *cases.HandOver  `json:"hand_over,omitempty"`
	EndedAt      *time.Time       `json:"ended_at,omitempty"`
	UpdatedAt    time.Time        `json:"updated_at"`
	Version      int64            `json:"version"`
	// CertificateStatus is, for a veterinary certificate issued, closed once the movement it
	// covers was received.
	CertificateStatus string `json:"certificate_status,omitempty" enum:"open,closed"`
	// Offline is set for a case a tablet did offline (certificate.issue).
	Offline *CaseOfflineView `json:"offline,omitempty"`
}

// CaseOfflineView says a case was done on a tablet offline: at by its clock, synced_at on arrival.
type CaseOfflineView struct {
	At       time.Time `json:"at"`
	SyncedAt time.Time `json:"synced_at"`
}

// viewCase is c as the API shows it, with a certificate's status read from its movement.
func (s *Server) viewCase(ctx context.Context, c *cases.Case) CaseView {
	v := viewCase(c, s.Now())
	if c.Service == vetcert.Code && len(c.Results) > 0 && c.Refusal == nil {
		if st, err := s.VetCert.Status(ctx, c); err == nil {
			v.CertificateStatus = st
		}
	}
	return v
}

func viewCase(c *cases.Case, now time.Time) CaseView {
	v := CaseView{ID: c.ID, Service: c.Service, Territory: string(c.Territory), Applicant: c.Applicant, Subject: c.Subject,
		Documents: c.Documents, SubmittedAt: c.SubmittedAt, Registration: c.Registration, State: string(c.State),
		Steps: make([]StepRecordView, 0, len(c.Steps)), Executor: c.Executor, Results: c.Results, Refusal: c.Refusal,
		HandOver: c.HandOver, EndedAt: c.EndedAt, UpdatedAt: c.UpdatedAt, Version: c.Version, Overdue: c.Overdue(now) != nil}
	if !c.State.Ended() {
		v.Holder = c.Holder()
	}
	for _, st := range c.Steps {
		v.Steps = append(v.Steps, StepRecordView{Name: st.Name, Start: st.Start, Due: st.Due, End: st.End, Actor: st.Actor,
			ActorName: st.ActorName, Refused: st.Refused, Late: st.Late(now), Data: st.Data})
	}
	if p := c.Pending(); p != nil {
		v.Pending = p.Name
	}
	if o := c.Offline; o != nil {
		v.Offline = &CaseOfflineView{At: o.At, SyncedAt: o.SyncedAt}
	}
	if v.Results == nil {
		v.Results = []cases.Result{}
	}
	return v
}

type applyCaseInput struct {
	Body CaseRequest
}

type caseOutput struct {
	Status   int
	Location string `header:"Location"`
	Body     CaseView
}

// applyCase answers POST /v1/cases.
func (s *Server) applyCase(ctx context.Context, in *applyCaseInput) (*caseOutput, error) {
	b := in.Body
	a := cases.Application{ID: b.ID, Service: b.Service, ApplicantIIN: b.ApplicantIIN, ApplicantName: b.ApplicantName,
		Documents: b.Documents, Data: b.Data}
	if r := b.Representative; r != nil {
		a.Representative = &cases.RepresentativeInput{IIN: r.IIN, Name: r.Name, PowerOfAttorney: r.PowerOfAttorney,
			PowerOfAttorneyDate: r.PowerOfAttorneyDate}
	}
	c, created, err := s.Cases.Apply(ctx, principal(ctx), a)
	if err != nil {
		return nil, err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return &caseOutput{Status: status, Location: "/v1/cases/" + c.ID, Body: s.viewCase(ctx, c)}, nil
}

type listCasesInput struct {
	Service   string `query:"service" maxLength:"40"`
	Territory string `query:"territory" maxLength:"9" doc:"A KATO code within your territory"`
	Overdue   bool   `query:"overdue" doc:"Only cases whose pending step is past its deadline, across services"`
	Cursor    string `query:"cursor" maxLength:"512"`
	Limit     int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

type casePageOutput struct{ Body Page[CaseView] }

func (s *Server) casePage(list []*cases.Case, next string) *casePageOutput {
	now := s.Now()
	out := &casePageOutput{Body: Page[CaseView]{Items: make([]CaseView, 0, len(list)), NextCursor: next}}
	for _, c := range list {
		out.Body.Items = append(out.Body.Items, viewCase(c, now))
	}
	return out
}

func parseTerritory(s string) (domain.Kato, error) {
	if s == "" {
		return "", nil
	}
	k, err := domain.ParseKato(s)
	return k, domain.AtField("territory", err)
}

// listCases answers GET /v1/cases.
func (s *Server) listCases(ctx context.Context, in *listCasesInput) (*casePageOutput, error) {
	t, err := parseTerritory(in.Territory)
	if err != nil {
		return nil, err
	}
	list, next, err := s.Cases.List(ctx, principal(ctx), cases.Filter{Service: in.Service, Territory: t, Overdue: in.Overdue,
		After: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	return s.casePage(list, next), nil
}

// getCase answers GET /v1/cases/{id}.
func (s *Server) getCase(ctx context.Context, in *idInput) (*caseOutput, error) {
	c, err := s.Cases.Get(ctx, principal(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &caseOutput{Status: http.StatusOK, Body: s.viewCase(ctx, c)}, nil
}

// StepRequest is the body of POST /v1/cases/{id}/steps/{step}.
type StepRequest struct {
	ExecutorID string          `json:"executor_id,omitempty" maxLength:"64" doc:"At an assign step: the executor"`
	Refuse     bool            `json:"refuse,omitempty" doc:"End the case with a motivated refusal, at a step that may refuse"`
	Ground     string          `json:"ground,omitempty" maxLength:"4000"`
	Missing    []string        `json:"missing,omitempty" maxItems:"30"`
	HandOver   string          `json:"hand_over,omitempty" enum:"cabinet,in_person" doc:"At the hand-over"`
	Data       json.RawMessage `json:"data,omitempty" doc:"The step's own input: regnumber's inspection {inspection_id}, oblast {incoming}"`
}

type advanceCaseInput struct {
	ID   string `path:"id" maxLength:"64"`
	Step string `path:"step" maxLength:"40"`
	Body StepRequest
}

// advanceCase answers POST /v1/cases/{id}/steps/{step}.
func (s *Server) advanceCase(ctx context.Context, in *advanceCaseInput) (*caseOutput, error) {
	b := in.Body
	c, err := s.Cases.Advance(ctx, principal(ctx), in.ID, in.Step, cases.StepInput{ExecutorID: b.ExecutorID, Refuse: b.Refuse,
		Ground: b.Ground, Missing: b.Missing, HandOver: b.HandOver, Data: b.Data})
	if err != nil {
		return nil, err
	}
	return &caseOutput{Status: http.StatusOK, Body: s.viewCase(ctx, c)}, nil
}

type journalInput struct {
	Service   string `path:"service" maxLength:"40"`
	Territory string `query:"territory" maxLength:"9"`
	Cursor    string `query:"cursor" maxLength:"512"`
	Limit     int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

// getJournal answers GET /v1/journals/{service}.
func (s *Server) getJournal(ctx context.Context, in *journalInput) (*casePageOutput, error) {
	t, err := parseTerritory(in.Territory)
	if err != nil {
		return nil, err
	}
	list, next, err := s.Cases.Journal(ctx, principal(ctx), in.Service, t, in.Cursor, in.Limit)
	if err != nil {
		return nil, err
	}
	return s.casePage(list, next), nil
}

type journalCSVInput struct {
	Service   string `path:"service" maxLength:"40"`
	Territory string `query:"territory" maxLength:"9"`
}

type csvOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	CacheControl       string `header:"Cache-Control"`
	Body               []byte
}

// getJournalCSV answers GET /v1/journals/{service}/csv.
func (s *Server) getJournalCSV(ctx context.Context, in *journalCSVInput) (*csvOutput, error) {
	t, err := parseTerritory(in.Territory)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := s.Cases.WriteJournalCSV(ctx, principal(ctx), in.Service, t, &buf); err != nil {
		return nil, err
	}
	return &csvOutput{ContentType: "text/csv; charset=utf-8", CacheControl: "private, no-store",
		ContentDisposition: `attachment; filename="journal-` + in.Service + `.csv"`, Body: buf.Bytes()}, nil
}

// OfficeHoursView is the office hours as HH:MM.
type OfficeHoursView struct {
	Open       string     `json:"open" pattern:"^[0-2][0-9]:[0-5][0-9]$" example:"09:00"`
	Close      string     `json:"close" pattern:"^[0-2][0-9]:[0-5][0-9]$" example:"18:30"`
	BreakStart string     `json:"break_start" pattern:"^[0-2][0-9]:[0-5][0-9]$" example:"13:00"`
	BreakEnd   string     `json:"break_end" pattern:"^[0-2][0-9]:[0-5][0-9]$" example:"14:30"`
	UpdatedAt  *time.Time `json:"updated_at,omitempty" readOnly:"true"`
	UpdatedBy  string     `json:"updated_by,omitempty" readOnly:"true"`
}

type officeHoursOutput struct{ Body OfficeHoursView }

func viewOfficeHours(h *domain.OfficeHours) *officeHoursOutput {
	v := OfficeHoursView{Open: h.Open.String(), Close: h.Close.String(), BreakStart: h.BreakStart.String(),
		BreakEnd: h.BreakEnd.String(), UpdatedBy: h.UpdatedBy}
	if !h.UpdatedAt.IsZero() {
		v.UpdatedAt = &h.UpdatedAt
	}
	return &officeHoursOutput{Body: v}
}

// getOfficeHours answers GET /v1/office-hours.
func (s *Server) getOfficeHours(ctx context.Context, _ *struct{}) (*officeHoursOutput, error) {
	h, err := s.Office.Hours(ctx)
	if err != nil {
		return nil, err
	}
	return viewOfficeHours(h), nil
}

type putOfficeHoursInput struct{ Body OfficeHoursView }

func clockTime(field, s string) (domain.ClockTime, error) {
	if s == "24:00" {
		return domain.At(24, 0), nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, domain.Invalid(field, "a time of day is HH:MM")
	}
	return domain.At(t.Hour(), t.Minute()), nil
}

// putOfficeHours answers PUT /v1/office-hours.
func (s *Server) putOfficeHours(ctx context.Context, in *putOfficeHoursInput) (*officeHoursOutput, error) {
	var h domain.OfficeHours
	var err error
	for _, f := range []struct {
		field, value string
		to           *domain.ClockTime
	}{{"open", in.Body.Open, &h.Open}, {"close", in.Body.Close, &h.Close},
		{"break_start", in.Body.BreakStart, &h.BreakStart}, {"break_end", in.Body.BreakEnd, &h.BreakEnd}} {
		if *f.to, err = clockTime(f.field, f.value); err != nil {
			return nil, err
		}
	}
	out, err := s.Office.SetHours(ctx, h, principal(ctx).UserID)
	if err != nil {
		return nil, err
	}
	return viewOfficeHours(out), nil
}

type objectRegisterInput struct {
	Territory string `query:"territory" maxLength:"9"`
	Kind      string `query:"kind" enum:"farm,feedlot,slaughter_site,processing_plant,storage,market,vet_pharmacy,feed_producer"`
	Owner     string `query:"owner_iin" maxLength:"12"`
	Number    string `query:"number" maxLength:"40"`
	Cursor    string `query:"cursor" maxLength:"512"`
	Limit     int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

type objectRegisterOutput struct {
	Body Page[*regnumber.RegisteredObject]
}

// listObjectRegister answers GET /v1/object-register.
func (s *Server) listObjectRegister(ctx context.Context, in *objectRegisterInput) (*objectRegisterOutput, error) {
	t, err := parseTerritory(in.Territory)
	if err != nil {
		return nil, err
	}
	f := regnumber.Filter{Territory: t, Kind: inspection.ObjectKind(in.Kind), Number: in.Number, After: in.Cursor, Limit: in.Limit}
	if in.Owner != "" {
		if f.Owner, err = domain.ParseIIN(in.Owner); err != nil {
			return nil, domain.AtField("owner_iin", err)
		}
	}
	list, next, err := s.RegNumber.Register.List(ctx, principal(ctx), f)
	if err != nil {
		return nil, err
	}
	return &objectRegisterOutput{Body: Page[*regnumber.RegisteredObject]{Items: list, NextCursor: next}}, nil
}

type objectRegistrationOutput struct{ Body *regnumber.RegisteredObject }

// getObjectRegistration answers GET /v1/object-register/{id}: the object's registration, if the
// caller may see the object.
func (s *Server) getObjectRegistration(ctx context.Context, in *idInput) (*objectRegistrationOutput, error) {
	p := principal(ctx)
	if _, err := s.Inspection.Register.Get(ctx, p, in.ID); err != nil {
		return nil, err
	}
	reg, err := s.RegNumber.Register.Get(ctx, in.ID)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return nil, domain.Errorf(domain.ENOTFOUND, "the object has no registration number from the register")
	} else if err != nil {
		return nil, err
	}
	return &objectRegistrationOutput{Body: reg}, nil
}
