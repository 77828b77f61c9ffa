package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/health"
)

func (s *Server) registerPlans() {
	register(s, huma.Operation{
		OperationID: "createPlan", Method: http.MethodPost, Path: "/v1/plans", Tags: []string{"plans"},
		Summary:       "Enter a plan of veterinary measures: which identifications, vaccinations and tests are due, for which species, where and when",
		Description:   "Admins, from the plan the local executive body approved. The id is client-generated: a retry answers the same plan.",
		DefaultStatus: http.StatusCreated, Errors: []int{409},
	}, roles(domain.RoleAdmin), s.createPlan)
	register(s, huma.Operation{
		OperationID: "listPlans", Method: http.MethodGet, Path: "/v1/plans", Tags: []string{"plans"},
		Summary: "The plans you may read: every plan for admins; for staff, those of their territory, above it and beneath it",
	}, roles(domain.RoleAdmin, domain.RoleVet, domain.RoleInspector), s.listPlans)
	register(s, huma.Operation{
		OperationID: "getPlan", Method: http.MethodGet, Path: "/v1/plans/{id}", Tags: []string{"plans"},
		Summary: "One plan", Errors: []int{404},
	}, roles(domain.RoleAdmin, domain.RoleVet, domain.RoleInspector), s.getPlan)
	register(s, huma.Operation{
		OperationID: "getPlanProgress", Method: http.MethodGet, Path: "/v1/plans/{id}/progress", Tags: []string{"plans"},
		Summary: "How far the plan has come: per measure and per district, the animals of the species covered in the period and left",
		Description: "For a vaccination or a test, the active animals of the species on the register, those vaccinated or " +
			"sampled for the disease within the period, and the rest; for an identification, the animals identified within " +
			"the period and what is left of the number planned. Staff read their own territory's districts.",
		Errors: []int{404},
	}, roles(domain.RoleAdmin, domain.RoleVet, domain.RoleInspector), s.getPlanProgress)
}

// PlanRequest enters a plan: the body of POST /v1/plans.
type PlanRequest struct {
	ID        string           `json:"id" maxLength:"36" doc:"Client-generated UUID; it becomes the plan's id."`
	Territory string           `json:"territory" maxLength:"9" doc:"KATO of the plan's territory (an oblast, usually)."`
	Title     string           `json:"title" maxLength:"300"`
	Decision  string           `json:"decision" maxLength:"300" doc:"The act that approved the plan (the akimat's resolution, its number and date)."`
	From      domain.CivilDate `json:"from" format:"date"`
	To        domain.CivilDate `json:"to" format:"date"`
	Items     []PlanItemBody   `json:"items" minItems:"1" maxItems:"100"`
}

// PlanItemBody is one measure a plan makes due.
type PlanItemBody struct {
	Measure   string `json:"measure" enum:"identification,vaccination,diagnostic_test"`
	Disease   string `json:"disease,omitempty" maxLength:"40" doc:"For a vaccination or a test: a disease of GET /v1/diseases."`
	Species   string `json:"species" enum:"cattle,sheep,goat,horse,camel,pig"`
	Territory string `json:"territory,omitempty" maxLength:"9" doc:"A unit inside the plan's territory; default the plan's."`
	Planned   int    `json:"planned,omitempty" minimum:"0" doc:"The number of animals the plan expects (needed for an identification)."`
}

func planItems(bs []PlanItemBody) []health.PlanItem {
	out := make([]health.PlanItem, 0, len(bs))
	for _, b := range bs {
		out = append(out, health.PlanItem{Measure: health.Measure(b.Measure), Disease: b.Disease, Species: domain.Species(b.Species),
			Territory: domain.Kato(b.Territory), Planned: b.Planned})
	}
	return out
}

// PlanView is a plan as the API shows it.
type PlanView struct {
	ID        string           `json:"id"`
	Territory string           `json:"territory"`
	Title     string           `json:"title"`
	Decision  string           `json:"decision"`
	From      domain.CivilDate `json:"from" format:"date"`
	To        domain.CivilDate `json:"to" format:"date"`
	Items     []PlanItemBody   `json:"items"`
	CreatedAt time.Time        `json:"created_at"`
	Version   int64            `json:"version"`
}

func viewPlan(p *health.Plan) PlanView {
	v := PlanView{ID: p.ID, Territory: string(p.Territory), Title: p.Title, Decision: p.Decision, From: p.From, To: p.To,
		Items: make([]PlanItemBody, 0, len(p.Items)), CreatedAt: p.CreatedAt, Version: p.Version}
	for _, it := range p.Items {
		v.Items = append(v.Items, PlanItemBody{Measure: string(it.Measure), Disease: it.Disease, Species: string(it.Species),
			Territory: string(it.Territory), Planned: it.Planned})
	}
	return v
}

type planInput struct{ Body PlanRequest }

type planOutput struct {
	Location string `header:"Location"`
	Body     PlanView
}

// createPlan answers POST /v1/plans.
func (s *Server) createPlan(ctx context.Context, in *planInput) (*planOutput, error) {
	b := in.Body
	p, err := s.Health.Plans.Create(ctx, principal(ctx), health.NewPlan{ID: b.ID, Territory: b.Territory, Title: b.Title,
		Decision: b.Decision, From: b.From, To: b.To, Items: planItems(b.Items)})
	if err != nil {
		return nil, err
	}
	return &planOutput{Location: "/v1/plans/" + p.ID, Body: viewPlan(p)}, nil
}

// getPlan answers GET /v1/plans/{id}.
func (s *Server) getPlan(ctx context.Context, in *idInput) (*planOutput, error) {
	p, err := s.Health.Plans.Get(ctx, principal(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &planOutput{Body: viewPlan(p)}, nil
}

type listPlansOutput struct{ Body Page[PlanView] }

// listPlans answers GET /v1/plans.
func (s *Server) listPlans(ctx context.Context, _ *struct{}) (*listPlansOutput, error) {
	ps, err := s.Health.Plans.List(ctx, principal(ctx))
	if err != nil {
		return nil, err
	}
	out := &listPlansOutput{Body: Page[PlanView]{Items: make([]PlanView, 0, len(ps))}}
	for _, p := range ps {
		out.Body.Items = append(out.Body.Items, viewPlan(p))
	}
	return out, nil
}

type progressInput struct {
	ID        string `path:"id" maxLength:"64"`
	Territory string `query:"territory" maxLength:"9" doc:"KATO inside the plan's territory; default the plan's (a vet's own territory)."`
}

type progressOutput struct{ Body health.Progress }

// getPlanProgress answers GET /v1/plans/{id}/progress.
func (s *Server) getPlanProgress(ctx context.Context, in *progressInput) (*progressOutput, error) {
	p, err := s.Health.Plans.Progress(ctx, principal(ctx), in.ID, in.Territory)
	if err != nil {
		return nil, err
	}
	return &progressOutput{Body: *p}, nil
}
