package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/inspection"
)

// The routes of service 1, the veterinary-sanitary conclusion. The head of the department is an
// admin; the executor is the vet or inspector the head assigns (see domain/inspection.go).
func (s *Server) registerInspections() {
	staff := roles(domain.RoleAdmin, domain.RoleVet, domain.RoleInspector)
	head := roles(domain.RoleAdmin)
	op := func(id, method, path, summary, desc string, errs ...int) huma.Operation {
		return huma.Operation{OperationID: id, Method: method, Path: path, Tags: []string{"inspections"},
			Summary: summary, Description: desc, Errors: append([]int{404, 409}, errs...)}
	}
	reg := op("registerApplication", http.MethodPost, "/v1/inspections", "Register an application for a veterinary-sanitary conclusion",
		"Answers the receipt (number and time). Starts the head's working day to assign an executor. "+
			"With a client-made `id` a retry answers the first registration (200 instead of 201).")
	reg.DefaultStatus = http.StatusCreated
	register(s, reg, staff, s.registerApplication)
	register(s, op("listInspections", http.MethodGet, "/v1/inspections", "Applications the caller may see",
		"Newest first. With `overdue=true`, only applications with a step past its deadline, the oldest deadline "+
			"first, each listing its overdue steps."), authenticated, s.listInspections)
	register(s, op("getInspection", http.MethodGet, "/v1/inspections/{id}", "One application and everything done on it", ""),
		authenticated, s.getInspection)
	register(s, op("assignExecutor", http.MethodPost, "/v1/inspections/{id}/assign", "The head names the executor",
		"Within 1 working day of registration. The executor is a vet or inspector whose territory covers the object."),
		head, s.assignExecutor)
	register(s, op("checkCompleteness", http.MethodPost, "/v1/inspections/{id}/completeness", "The executor checks the documents",
		"The same day as assigned. Incomplete documents end the application with a motivated refusal (a document "+
			"with a QR code) that cites the ground."), staff, s.checkCompleteness)
	register(s, op("recordNotice", http.MethodPost, "/v1/inspections/{id}/notice", "Record the notice to the legal-statistics body",
		"The body must be notified at least one day before the inspection: planned_for is tomorrow at the earliest."),
		staff, s.recordNotice)
	register(s, op("startVisit", http.MethodPost, "/v1/inspections/{id}/start", "Start the inspection on site",
		"Refused (409) without a notice, and before the day after the notice or before the planned day."),
		staff, s.startVisit)
	register(s, op("setChecklist", http.MethodPut, "/v1/inspections/{id}/checklist", "Record the checklist of the visit",
		"Replaces the checklist. Each requirement is conform, or a violation with its description and recommendation."),
		staff, s.setChecklist)
	register(s, op("submitAct", http.MethodPost, "/v1/inspections/{id}/act", "Submit the inspection act",
		"Within 3 working days of the completeness check. Starts the head's working day to decide."), staff, s.submitAct)
	register(s, op("decide", http.MethodPost, "/v1/inspections/{id}/decision", "The head decides and the conclusion is issued",
		"The outcome must agree with the checklist. Refused (409) while any photo of the inspection is missing from "+
			"storage or fails its SHA-256, or a photo the act names has not finished uploading."), head, s.decide)
}

// DeadlineView is one step's deadline.
type DeadlineView struct {
	Step   inspection.Step `json:"step" enum:"assign,completeness,notice,act,decision"`
	Due    time.Time       `json:"due" doc:"Exclusive: on time when done before it (00:00 Asia/Almaty after the last day allowed)."`
	DoneAt *time.Time      `json:"done_at,omitempty"`
	Late   bool            `json:"late" doc:"Done at or after due, or still pending past it."`
	// WorkingDaysLate counts, for a pending step past due, the working days since the last one allowed.
	WorkingDaysLate int `json:"working_days_late,omitempty"`
}

// ChecklistItemView is one requirement checked on site.
type ChecklistItemView struct {
	Code        string         `json:"code" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"`
	Requirement string         `json:"requirement" minLength:"1" maxLength:"900"`
	Conform     bool           `json:"conform"`
	Violation   *ViolationView `json:"violation,omitempty" doc:"Required when conform is false."`
	Photos      []string       `json:"photos,omitempty" maxItems:"20" doc:"Ids of photos of this inspection that show it."`
}

// ViolationView is a requirement found broken and what the owner must do.
type ViolationView struct {
	Description    string `json:"description" minLength:"1" maxLength:"4000"`
	Recommendation string `json:"recommendation" minLength:"1" maxLength:"4000"`
}

// InspectionView is an application for a conclusion as the API shows it.
type InspectionView struct {
	ID           string                     `json:"id"`
	ObjectID     string                     `json:"object_id"`
	Object       inspection.ObjectSnapshot  `json:"object"`
	Territory    string                     `json:"territory"`
	OwnerIIN     string                     `json:"owner_iin"`
	ApplicantIIN string                     `json:"applicant_iin"`
	Applicant    string                     `json:"applicant,omitempty"`
	Documents    []string                   `json:"documents"`
	Receipt      inspection.Receipt         `json:"receipt"`
	State        inspection.InspectionState `json:"state" enum:"registered,assigned,accepted,on_site,act_submitted,concluded,refused"`
	Deadlines    []DeadlineView             `json:"deadlines"`
	Overdue      []DeadlineView             `json:"overdue" doc:"Pending steps past their deadline."`
	Assignment   *inspection.Assignment     `json:"assignment,omitempty"`
	Completeness *inspection.Completeness   `json:"completeness,omitempty"`
	Notice       *NoticeView                `json:"notice,omitempty"`
	Visit        *FixView                   `json:"visit,omitempty"`
	Checklist    []ChecklistItemView        `json:"checklist"`
	Act          *ActView                   `json:"act,omitempty"`
	Decision     *inspection.Decision       `json:"decision,omitempty"`
	UpdatedAt    time.Time                  `json:"updated_at"`
	Version      int64                      `json:"version"`
}

// NoticeView is the notice to the legal-statistics body.
type NoticeView struct {
	Addressee  string           `json:"addressee"`
	Reference  string           `json:"reference"`
	PlannedFor domain.CivilDate `json:"planned_for" format:"date"`
	At         time.Time        `json:"at"`
}

// FixView is where and when the inspector was, by the server's clock and the tablet's.
type FixView struct {
	At         time.Time  `json:"at"`
	GPS        *GeoView   `json:"gps,omitempty"`
	DeviceTime *time.Time `json:"device_time,omitempty"`
}

// ActView is the inspection act.
type ActView struct {
	Summary string `json:"summary"`
	FixView
	Photos []string `json:"photos,omitempty"`
}

func (s *Server) viewInspection(ctx context.Context, in *inspection.Inspection) InspectionView {
	now := s.Now()
	v := InspectionView{ID: in.ID, ObjectID: in.ObjectID, Object: in.Object, Territory: string(in.Territory),
		OwnerIIN: string(in.OwnerIIN), ApplicantIIN: string(in.ApplicantIIN), Applicant: in.Applicant,
		Documents: in.Documents, Receipt: in.Receipt, State: in.State, Assignment: in.Assignment,
		Completeness: in.Completeness, Decision: in.Decision, UpdatedAt: in.UpdatedAt, Version: in.Version,
		Deadlines: []DeadlineView{}, Overdue: []DeadlineView{}, Checklist: []ChecklistItemView{}}
	for _, d := range in.Deadlines {
		dv := DeadlineView{Step: d.Step, Due: d.Due, DoneAt: d.DoneAt, Late: d.Late(now)}
		if d.DoneAt == nil && dv.Late {
			// The last day allowed is the day before Due; count the working days after it.
			dv.WorkingDaysLate, _ = s.Calendar.WorkingDaysBetween(ctx, d.Due.Add(-time.Nanosecond), now)
			v.Overdue = append(v.Overdue, dv)
		}
		v.Deadlines = append(v.Deadlines, dv)
	}
	if n := in.Notice; n != nil {
		v.Notice = &NoticeView{Addressee: n.Addressee, Reference: n.Reference, PlannedFor: n.PlannedFor, At: n.At}
	}
	if vis := in.Visit; vis != nil {
		v.Visit = &FixView{At: vis.StartedAt, GPS: viewGeo(vis.Fix.GPS), DeviceTime: vis.Fix.DeviceTime}
	}
	for _, it := range in.Checklist {
		iv := ChecklistItemView{Code: it.Code, Requirement: it.Requirement, Conform: it.Conform, Photos: it.Photos}
		if it.Violation != nil {
			iv.Violation = &ViolationView{Description: it.Violation.Description, Recommendation: it.Violation.Recommendation}
		}
		v.Checklist = append(v.Checklist, iv)
	}
	if a := in.Act; a != nil {
		v.Act = &ActView{Summary: a.Summary, FixView: FixView{At: a.At, GPS: viewGeo(a.Fix.GPS), DeviceTime: a.Fix.DeviceTime},
			Photos: a.Photos}
	}
	return v
}

type inspectionOutput struct {
	Status   int
	Location string `header:"Location"`
	Body     InspectionView
}

func (s *Server) inspectionOut(ctx context.Context, in *inspection.Inspection, err error) (*inspectionOutput, error) {
	if err != nil {
		return nil, err
	}
	return &inspectionOutput{Status: http.StatusOK, Body: s.viewInspection(ctx, in)}, nil
}

type registerApplicationInput struct {
	Body struct {
		ID           string   `json:"id,omitempty" format:"uuid" doc:"Made by the tablet, so a retry registers nothing twice."`
		ObjectID     string   `json:"object_id" maxLength:"64"`
		ApplicantIIN string   `json:"applicant_iin,omitempty" pattern:"^[0-9]{12}$" doc:"Defaults to the object's owner."`
		Applicant    string   `json:"applicant,omitempty" maxLength:"300"`
		Documents    []string `json:"documents" minItems:"1" maxItems:"30" doc:"The documents handed in."`
	}
}

// registerApplication answers POST /v1/inspections.
func (s *Server) registerApplication(ctx context.Context, in *registerApplicationInput) (*inspectionOutput, error) {
	b := in.Body
	insp, created, err := s.Inspection.Inspections.Register(ctx, principal(ctx), inspection.NewApplication{ID: b.ID, ObjectID: b.ObjectID,
		ApplicantIIN: b.ApplicantIIN, Applicant: b.Applicant, Documents: b.Documents})
	out, err := s.inspectionOut(ctx, insp, err)
	if err == nil && created {
		out.Status, out.Location = http.StatusCreated, "/v1/inspections/"+insp.ID
	}
	return out, err
}

type listInspectionsInput struct {
	Territory string `query:"territory" pattern:"^[0-9]{9}$"`
	Object    string `query:"object" maxLength:"64" doc:"Only applications about this production object."`
	Overdue   bool   `query:"overdue" doc:"Only applications with a step past its deadline."`
	Cursor    string `query:"cursor" maxLength:"512"`
	Limit     int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

type listInspectionsOutput struct{ Body Page[InspectionView] }

// listInspections answers GET /v1/inspections.
func (s *Server) listInspections(ctx context.Context, in *listInspectionsInput) (*listInspectionsOutput, error) {
	list, next, err := s.Inspection.Inspections.List(ctx, principal(ctx), inspection.InspectionFilter{Territory: domain.Kato(in.Territory),
		ObjectID: in.Object, Overdue: in.Overdue, After: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &listInspectionsOutput{Body: Page[InspectionView]{Items: make([]InspectionView, 0, len(list)), NextCursor: next}}
	for _, insp := range list {
		out.Body.Items = append(out.Body.Items, s.viewInspection(ctx, insp))
	}
	return out, nil
}

type inspectionIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

// getInspection answers GET /v1/inspections/{id}.
func (s *Server) getInspection(ctx context.Context, in *inspectionIDInput) (*inspectionOutput, error) {
	insp, err := s.Inspection.Inspections.Get(ctx, principal(ctx), in.ID)
	return s.inspectionOut(ctx, insp, err)
}

type assignInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		ExecutorID string `json:"executor_id" maxLength:"64" doc:"Account id of a vet or inspector."`
	}
}

// assignExecutor answers POST /v1/inspections/{id}/assign.
func (s *Server) assignExecutor(ctx context.Context, in *assignInput) (*inspectionOutput, error) {
	insp, err := s.Inspection.Inspections.Assign(ctx, principal(ctx), in.ID, in.Body.ExecutorID)
	return s.inspectionOut(ctx, insp, err)
}

type completenessInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Complete bool     `json:"complete"`
		Missing  []string `json:"missing,omitempty" maxItems:"30" doc:"What is missing, when incomplete."`
		Ground   string   `json:"ground,omitempty" maxLength:"4000" doc:"The refusal's ground, required when incomplete."`
	}
}

// checkCompleteness answers POST /v1/inspections/{id}/completeness.
func (s *Server) checkCompleteness(ctx context.Context, in *completenessInput) (*inspectionOutput, error) {
	b := in.Body
	insp, err := s.Inspection.Inspections.CheckCompleteness(ctx, principal(ctx), in.ID,
		inspection.CompletenessCheck{Complete: b.Complete, Missing: b.Missing, Ground: b.Ground})
	return s.inspectionOut(ctx, insp, err)
}

type noticeInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Addressee  string           `json:"addressee" minLength:"1" maxLength:"300" doc:"The body notified."`
		Reference  string           `json:"reference" minLength:"1" maxLength:"100" doc:"Outgoing or registration number of the notice."`
		PlannedFor domain.CivilDate `json:"planned_for" format:"date" doc:"The day of the inspection, tomorrow at the earliest."`
	}
}

// recordNotice answers POST /v1/inspections/{id}/notice.
func (s *Server) recordNotice(ctx context.Context, in *noticeInput) (*inspectionOutput, error) {
	b := in.Body
	insp, err := s.Inspection.Inspections.RecordNotice(ctx, principal(ctx), in.ID,
		inspection.NoticeInput{Addressee: b.Addressee, Reference: b.Reference, PlannedFor: b.PlannedFor})
	return s.inspectionOut(ctx, insp, err)
}

type startInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		GPS        *GeoView   `json:"gps" doc:"The inspector's position."`
		DeviceTime *time.Time `json:"device_time,omitempty" doc:"The tablet's clock."`
	}
}

// startVisit answers POST /v1/inspections/{id}/start.
func (s *Server) startVisit(ctx context.Context, in *startInput) (*inspectionOutput, error) {
	insp, err := s.Inspection.Inspections.Start(ctx, principal(ctx), in.ID, domain.Fix{GPS: in.Body.GPS.point(), DeviceTime: in.Body.DeviceTime})
	return s.inspectionOut(ctx, insp, err)
}

type checklistInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Items []ChecklistItemView `json:"items" minItems:"1" maxItems:"200"`
	}
}

// setChecklist answers PUT /v1/inspections/{id}/checklist.
func (s *Server) setChecklist(ctx context.Context, in *checklistInput) (*inspectionOutput, error) {
	items := make([]inspection.ChecklistItem, 0, len(in.Body.Items))
	for _, it := range in.Body.Items {
		c := inspection.ChecklistItem{Code: it.Code, Requirement: it.Requirement, Conform: it.Conform, Photos: it.Photos}
		if it.Violation != nil {
			c.Violation = &inspection.Violation{Description: it.Violation.Description, Recommendation: it.Violation.Recommendation}
		}
		items = append(items, c)
	}
	insp, err := s.Inspection.Inspections.SetChecklist(ctx, principal(ctx), in.ID, items)
	return s.inspectionOut(ctx, insp, err)
}

type actInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Summary    string     `json:"summary" minLength:"1" maxLength:"4000"`
		GPS        *GeoView   `json:"gps" doc:"The inspector's position."`
		DeviceTime *time.Time `json:"device_time,omitempty"`
		Photos     []string   `json:"photos,omitempty" maxItems:"200" doc:"Photos the act relies on besides the checklist's."`
	}
}

// submitAct answers POST /v1/inspections/{id}/act.
func (s *Server) submitAct(ctx context.Context, in *actInput) (*inspectionOutput, error) {
	b := in.Body
	insp, err := s.Inspection.Inspections.SubmitAct(ctx, principal(ctx), in.ID,
		inspection.ActInput{Summary: b.Summary, Fix: domain.Fix{GPS: b.GPS.point(), DeviceTime: b.DeviceTime}, Photos: b.Photos})
	return s.inspectionOut(ctx, insp, err)
}

type decisionInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Outcome string `json:"outcome" enum:"conformity,non_conformity"`
	}
}

// decide answers POST /v1/inspections/{id}/decision.
func (s *Server) decide(ctx context.Context, in *decisionInput) (*inspectionOutput, error) {
	insp, err := s.Inspection.Inspections.Decide(ctx, principal(ctx), in.ID, in.Body.Outcome)
	return s.inspectionOut(ctx, insp, err)
}
