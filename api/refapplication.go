package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/epizootic"
)

func (s *Server) registerReferenceApplications() {
	register(s, huma.Operation{
		OperationID: "applyForReference", Method: http.MethodPost, Path: "/v1/reference-applications", Tags: []string{"references"},
		Summary:       "Apply for a veterinary reference for your own animals or products (farmers)",
		Description:   "The application waits in the queue of the vets of the holding's territory. A retry with the same id answers the same application. A holding or animal that is not yours is 404, as one that does not exist.",
		DefaultStatus: http.StatusCreated, Errors: []int{404, 409},
	}, roles(domain.RoleFarmer), s.applyForReference)
	register(s, huma.Operation{
		OperationID: "listReferenceApplications", Method: http.MethodGet, Path: "/v1/reference-applications", Tags: []string{"references"},
		Summary: "Applications: a vet's queue (status=pending) in their territory, a farmer's own",
	}, authenticated, s.listReferenceApplications)
	register(s, huma.Operation{
		OperationID: "getReferenceApplication", Method: http.MethodGet, Path: "/v1/reference-applications/{id}", Tags: []string{"references"},
		Summary: "One application", Errors: []int{404},
	}, authenticated, s.getReferenceApplication)
	register(s, huma.Operation{
		OperationID: "decideReferenceApplication", Method: http.MethodPost, Path: "/v1/reference-applications/{id}/decide", Tags: []string{"references"},
		Summary:     "Examine and decide an application: the reference, or a motivated refusal",
		Description: "Checked as of the moment the farmer applied and of now. reference_id is made by the tablet: a retry answers the same reference.",
		Errors:      []int{404, 409},
	}, roles(domain.RoleVet), s.decideReferenceApplication)
}

// ReferenceApplicationView is a farmer's application as the API shows it.
type ReferenceApplicationView struct {
	ID          string                       `json:"id"`
	HoldingID   string                       `json:"holding_id"`
	Territory   string                       `json:"territory"`
	OwnerIIN    string                       `json:"owner_iin"`
	AnimalIDs   []string                     `json:"animal_ids"`
	Products    []epizootic.ReferenceProduct `json:"products"`
	Purpose     string                       `json:"purpose"`
	Destination string                       `json:"destination"`
	AppliedAt   time.Time                    `json:"applied_at"`
	Status      string                       `json:"status" enum:"pending,issued,refused"`
	ReferenceID string                       `json:"reference_id,omitempty"`
	DecidedAt   *time.Time                   `json:"decided_at,omitempty"`
	Version     int64                        `json:"version"`
}

func viewApplication(a *epizootic.ReferenceApplication) ReferenceApplicationView {
	return ReferenceApplicationView{ID: a.ID, HoldingID: a.HoldingID, Territory: string(a.Territory),
		OwnerIIN: string(a.OwnerIIN), AnimalIDs: a.AnimalIDs, Products: a.Products, Purpose: string(a.Purpose),
		Destination: a.Destination, AppliedAt: a.AppliedAt, Status: a.Status, ReferenceID: a.ReferenceID,
		DecidedAt: a.DecidedAt, Version: a.Version}
}

type applyInput struct {
	Body struct {
		ID          string        `json:"id" maxLength:"36" doc:"Client-generated UUID"`
		HoldingID   string        `json:"holding_id" maxLength:"64"`
		AnimalIDs   []string      `json:"animal_ids,omitempty" maxItems:"200"`
		Products    []ProductBody `json:"products,omitempty" maxItems:"50"`
		Purpose     string        `json:"purpose" enum:"sale,movement,slaughter,grazing,exhibition,processing"`
		Destination string        `json:"destination" maxLength:"600"`
	}
}

type applicationOutput struct {
	Location string `header:"Location"`
	Body     ReferenceApplicationView
}

// applyForReference answers POST /v1/reference-applications.
func (s *Server) applyForReference(ctx context.Context, in *applyInput) (*applicationOutput, error) {
	b := in.Body
	a, err := s.Epizootic.Applications.Apply(ctx, principal(ctx), epizootic.NewReferenceApplication{ID: b.ID,
		HoldingID: b.HoldingID, AnimalIDs: b.AnimalIDs, Products: productsOf(b.Products),
		Purpose: epizootic.ReferencePurpose(b.Purpose), Destination: b.Destination})
	if err != nil {
		return nil, err
	}
	return &applicationOutput{Location: "/v1/reference-applications/" + a.ID, Body: viewApplication(a)}, nil
}

type listApplicationsInput struct {
	Status string `query:"status" enum:"pending,issued,refused" doc:"Required for staff: pending is the queue"`
	Cursor string `query:"cursor" maxLength:"512"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

type listApplicationsOutput struct {
	Body Page[ReferenceApplicationView]
}

// listReferenceApplications answers GET /v1/reference-applications.
func (s *Server) listReferenceApplications(ctx context.Context, in *listApplicationsInput) (*listApplicationsOutput, error) {
	as, next, err := s.Epizootic.Applications.List(ctx, principal(ctx), in.Status, in.Cursor, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &listApplicationsOutput{Body: Page[ReferenceApplicationView]{Items: make([]ReferenceApplicationView, 0, len(as)), NextCursor: next}}
	for _, a := range as {
		out.Body.Items = append(out.Body.Items, viewApplication(a))
	}
	return out, nil
}

// getReferenceApplication answers GET /v1/reference-applications/{id}.
func (s *Server) getReferenceApplication(ctx context.Context, in *idInput) (*applicationOutput, error) {
	a, err := s.Epizootic.Applications.Get(ctx, principal(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &applicationOutput{Body: viewApplication(a)}, nil
}

type decideInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		ReferenceID  string `json:"reference_id" maxLength:"36" doc:"Client-generated UUID of the reference"`
		ExamResult   string `json:"exam_result" enum:"healthy,unhealthy"`
		ExamNote     string `json:"exam_note,omitempty" maxLength:"2000"`
		RefuseReason string `json:"refuse_reason,omitempty" maxLength:"2000"`
	}
}

type decideOutput struct {
	Body struct {
		Application ReferenceApplicationView `json:"application"`
		Reference   ReferenceView            `json:"reference"`
	}
}

// decideReferenceApplication answers POST /v1/reference-applications/{id}/decide.
func (s *Server) decideReferenceApplication(ctx context.Context, in *decideInput) (*decideOutput, error) {
	b := in.Body
	a, r, doc, err := s.Epizootic.Applications.Decide(ctx, principal(ctx), in.ID, epizootic.ApplicationDecision{
		ReferenceID: b.ReferenceID, ExamResult: b.ExamResult, ExamNote: b.ExamNote, RefuseReason: b.RefuseReason})
	if err != nil {
		// The references name the reference's own id "id"; here it is the body's reference_id,
		// not the path's id of the application.
		var de *domain.Error
		if errors.As(err, &de) && de.Field == "id" {
			placed := *de
			placed.Field = "body.reference_id"
			return nil, &placed
		}
		return nil, err
	}
	out := &decideOutput{}
	out.Body.Application, out.Body.Reference = viewApplication(a), s.viewReferenceWith(r, doc)
	return out, nil
}
