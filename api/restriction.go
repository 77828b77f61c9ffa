package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/epizootic"
)

func (s *Server) registerRestrictions() {
	admin := roles(domain.RoleAdmin)
	register(s, huma.Operation{
		OperationID: "listDiseases", Method: http.MethodGet, Path: "/v1/diseases", Tags: []string{"epizootic"},
		Summary: "The notifiable diseases with the species and products a restriction for each stops",
	}, authenticated, s.listDiseases)
	register(s, huma.Operation{
		OperationID: "getEpizootic", Method: http.MethodGet, Path: "/v1/epizootic", Tags: []string{"epizootic"},
		Summary: "The epizootic situation of a territory at an instant: the restrictions in force over it and above it",
	}, authenticated, s.getEpizootic)
	register(s, huma.Operation{
		OperationID: "listRestrictions", Method: http.MethodGet, Path: "/v1/restrictions", Tags: []string{"epizootic"},
		Summary: "Restrictions declared on a territory and beneath it (all of them without territory)",
	}, authenticated, s.listRestrictions)
	register(s, huma.Operation{
		OperationID: "getRestriction", Method: http.MethodGet, Path: "/v1/restrictions/{id}", Tags: []string{"epizootic"},
		Summary: "One restriction with its history", Errors: []int{404},
	}, authenticated, s.getRestriction)
	register(s, huma.Operation{
		OperationID: "declareRestriction", Method: http.MethodPost, Path: "/v1/restrictions", Tags: []string{"epizootic"},
		Summary:       "Declare a quarantine or restrictive measures for a disease over a territory (admins)",
		Description:   "It covers every territory beneath. With a client-generated id, a retry answers the same restriction.",
		DefaultStatus: http.StatusCreated, Errors: []int{409},
	}, admin, s.declareRestriction)
	register(s, huma.Operation{
		OperationID: "changeRestriction", Method: http.MethodPatch, Path: "/v1/restrictions/{id}", Tags: []string{"epizootic"},
		Summary: "Correct a restriction in force (admins); the previous terms stay in its history", Errors: []int{404, 409},
	}, admin, s.changeRestriction)
	register(s, huma.Operation{
		OperationID: "liftRestriction", Method: http.MethodPost, Path: "/v1/restrictions/{id}/lift", Tags: []string{"epizootic"},
		Summary: "Lift a restriction by a decision (admins); it stays on record with its end", Errors: []int{404, 409},
	}, admin, s.liftRestriction)
}

// DiseaseView is a notifiable disease.
type DiseaseView struct {
	Code     string   `json:"code"`
	NameKK   string   `json:"name_kk"`
	NameRU   string   `json:"name_ru"`
	Species  []string `json:"species" doc:"Identified species it affects; empty for a disease of birds"`
	Products []string `json:"products" doc:"Products a restriction stops (of the affected species, for meat, milk and the like)"`
}

type listDiseasesOutput struct {
	Body struct {
		Items []DiseaseView `json:"items"`
	}
}

// listDiseases answers GET /v1/diseases.
func (s *Server) listDiseases(_ context.Context, _ *struct{}) (*listDiseasesOutput, error) {
	out := &listDiseasesOutput{}
	out.Body.Items = []DiseaseView{}
	for _, code := range epizootic.DiseaseCodes {
		d := epizootic.Diseases[code]
		v := DiseaseView{Code: d.Code, NameKK: d.NameKK, NameRU: d.NameRU, Species: []string{}, Products: []string{}}
		for _, sp := range d.Species {
			v.Species = append(v.Species, string(sp))
		}
		for _, p := range d.Products {
			v.Products = append(v.Products, string(p))
		}
		out.Body.Items = append(out.Body.Items, v)
	}
	return out, nil
}

// DecisionBody is an epizootic decision: its number and date.
type DecisionBody struct {
	Number string           `json:"number" maxLength:"100"`
	Date   domain.CivilDate `json:"date" format:"date"`
}

// RestrictionEventView is one entry of a restriction's history.
type RestrictionEventView struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Action string    `json:"action" enum:"declared,changed,lifted"`
	Kind   string    `json:"kind"`
	// Decision, Start, End and the lifting decision are the terms after the action.
	Decision     DecisionBody  `json:"decision"`
	Start        time.Time     `json:"start"`
	End          *time.Time    `json:"end,omitempty"`
	LiftDecision *DecisionBody `json:"lift_decision,omitempty"`
	Note         string        `json:"note,omitempty"`
}

// RestrictionView is a restriction as the API shows it.
type RestrictionView struct {
	ID           string                 `json:"id"`
	Kind         string                 `json:"kind" enum:"quarantine,restrictive_measures"`
	Disease      string                 `json:"disease"`
	DiseaseKK    string                 `json:"disease_kk"`
	DiseaseRU    string                 `json:"disease_ru"`
	Territory    string                 `json:"territory"`
	TerritoryKK  string                 `json:"territory_kk"`
	TerritoryRU  string                 `json:"territory_ru"`
	Decision     DecisionBody           `json:"decision"`
	Start        time.Time              `json:"start"`
	End          *time.Time             `json:"end,omitempty"`
	LiftDecision *DecisionBody          `json:"lift_decision,omitempty"`
	Note         string                 `json:"note,omitempty"`
	InForce      bool                   `json:"in_force" doc:"In force now"`
	DeclaredAt   time.Time              `json:"declared_at"`
	DeclaredBy   string                 `json:"declared_by"`
	History      []RestrictionEventView `json:"history"`
	Version      int64                  `json:"version"`
}

func decisionBody(d *epizootic.EpizooticDecision) *DecisionBody {
	if d == nil {
		return nil
	}
	return &DecisionBody{Number: d.Number, Date: d.Date}
}

func (s *Server) viewRestriction(r *epizootic.Restriction) RestrictionView {
	v := RestrictionView{ID: r.ID, Kind: string(r.Kind), Disease: r.RestrictionTerms.Disease, DiseaseKK: r.DiseaseKK,
		DiseaseRU: r.DiseaseRU, Territory: string(r.Territory), TerritoryKK: r.TerritoryKK, TerritoryRU: r.TerritoryRU,
		Decision: *decisionBody(&r.Decision), Start: r.Start, End: r.End, LiftDecision: decisionBody(r.LiftDecision),
		Note: r.Note, InForce: r.InForce(s.Now()), DeclaredAt: r.DeclaredAt, DeclaredBy: r.DeclaredBy,
		History: make([]RestrictionEventView, 0, len(r.History)), Version: r.Version}
	for _, e := range r.History {
		v.History = append(v.History, RestrictionEventView{At: e.At, By: e.By, Action: e.Action, Kind: string(e.Terms.Kind),
			Decision: *decisionBody(&e.Terms.Decision), Start: e.Terms.Start, End: e.Terms.End,
			LiftDecision: decisionBody(e.Terms.LiftDecision), Note: e.Terms.Note})
	}
	return v
}

type epizooticInput struct {
	Territory string    `query:"territory" required:"true" maxLength:"16" doc:"KATO code"`
	At        time.Time `query:"at" doc:"The instant (RFC 3339); default now"`
}

// SituationView is the epizootic situation of a territory at an instant.
type SituationView struct {
	Territory    string            `json:"territory"`
	NameKK       string            `json:"name_kk"`
	NameRU       string            `json:"name_ru"`
	At           time.Time         `json:"at"`
	Restrictions []RestrictionView `json:"restrictions" doc:"In force at that instant, declared on the territory or on a unit above it"`
}

type epizooticOutput struct{ Body SituationView }

// getEpizootic answers GET /v1/epizootic.
func (s *Server) getEpizootic(ctx context.Context, in *epizooticInput) (*epizooticOutput, error) {
	sit, err := s.Epizootic.Situation(ctx, in.Territory, in.At)
	if err != nil {
		return nil, err
	}
	out := &epizooticOutput{Body: SituationView{Territory: string(sit.Territory), NameKK: sit.NameKK, NameRU: sit.NameRU,
		At: sit.At, Restrictions: make([]RestrictionView, 0, len(sit.Restrictions))}}
	for _, r := range sit.Restrictions {
		out.Body.Restrictions = append(out.Body.Restrictions, s.viewRestriction(r))
	}
	return out, nil
}

type listRestrictionsInput struct {
	Territory string `query:"territory" maxLength:"16"`
	Active    bool   `query:"active" doc:"Only those in force now"`
	Cursor    string `query:"cursor" maxLength:"512"`
	Limit     int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

type listRestrictionsOutput struct{ Body Page[RestrictionView] }

// listRestrictions answers GET /v1/restrictions.
func (s *Server) listRestrictions(ctx context.Context, in *listRestrictionsInput) (*listRestrictionsOutput, error) {
	rs, next, err := s.Epizootic.Restrictions.List(ctx, epizootic.RestrictionFilter{Territory: in.Territory, Active: in.Active,
		After: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &listRestrictionsOutput{Body: Page[RestrictionView]{Items: make([]RestrictionView, 0, len(rs)), NextCursor: next}}
	for _, r := range rs {
		out.Body.Items = append(out.Body.Items, s.viewRestriction(r))
	}
	return out, nil
}

type restrictionOutput struct {
	Location string `header:"Location"`
	Body     RestrictionView
}

// getRestriction answers GET /v1/restrictions/{id}.
func (s *Server) getRestriction(ctx context.Context, in *idInput) (*restrictionOutput, error) {
	r, err := s.Epizootic.Restrictions.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &restrictionOutput{Body: s.viewRestriction(r)}, nil
}

type declareRestrictionInput struct {
	Body struct {
		ID        string       `json:"id,omitempty" maxLength:"36" doc:"Client-generated UUID, so a retry is recognised"`
		Kind      string       `json:"kind" enum:"quarantine,restrictive_measures"`
		Disease   string       `json:"disease" maxLength:"40" doc:"A code of GET /v1/diseases"`
		Territory string       `json:"territory" maxLength:"16" doc:"KATO code of a catalogued unit"`
		Decision  DecisionBody `json:"decision"`
		Start     *time.Time   `json:"start,omitempty" doc:"Default now"`
		Note      string       `json:"note,omitempty" maxLength:"2000"`
	}
}

// declareRestriction answers POST /v1/restrictions.
func (s *Server) declareRestriction(ctx context.Context, in *declareRestrictionInput) (*restrictionOutput, error) {
	b := in.Body
	r, err := s.Epizootic.Restrictions.Declare(ctx, principal(ctx), epizootic.NewRestriction{ID: b.ID,
		Kind: epizootic.RestrictionKind(b.Kind), Disease: b.Disease, Territory: b.Territory,
		Decision: epizootic.EpizooticDecision{Number: b.Decision.Number, Date: b.Decision.Date}, Start: b.Start, Note: b.Note})
	if err != nil {
		return nil, err
	}
	return &restrictionOutput{Location: "/v1/restrictions/" + r.ID, Body: s.viewRestriction(r)}, nil
}

type changeRestrictionInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Version  int64         `json:"version" minimum:"1" doc:"The version the change was made on"`
		Kind     *string       `json:"kind,omitempty" enum:"quarantine,restrictive_measures"`
		Decision *DecisionBody `json:"decision,omitempty"`
		Start    *time.Time    `json:"start,omitempty"`
		Note     *string       `json:"note,omitempty" maxLength:"2000"`
	}
}

// changeRestriction answers PATCH /v1/restrictions/{id}.
func (s *Server) changeRestriction(ctx context.Context, in *changeRestrictionInput) (*restrictionOutput, error) {
	b := in.Body
	ch := epizootic.RestrictionChange{Version: b.Version, Start: b.Start, Note: b.Note}
	if b.Kind != nil {
		k := epizootic.RestrictionKind(*b.Kind)
		ch.Kind = &k
	}
	if b.Decision != nil {
		ch.Decision = &epizootic.EpizooticDecision{Number: b.Decision.Number, Date: b.Decision.Date}
	}
	r, err := s.Epizootic.Restrictions.Change(ctx, principal(ctx), in.ID, ch)
	if err != nil {
		return nil, err
	}
	return &restrictionOutput{Body: s.viewRestriction(r)}, nil
}

type liftRestrictionInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Version  int64        `json:"version,omitempty" doc:"The version the lift was decided on; 0 skips the check"`
		Decision DecisionBody `json:"decision" doc:"The decision that lifts it"`
		At       *time.Time   `json:"at,omitempty" doc:"When it ends; default now"`
	}
}

// liftRestriction answers POST /v1/restrictions/{id}/lift.
func (s *Server) liftRestriction(ctx context.Context, in *liftRestrictionInput) (*restrictionOutput, error) {
	b := in.Body
	r, err := s.Epizootic.Restrictions.Lift(ctx, principal(ctx), in.ID, epizootic.Lift{Version: b.Version, At: b.At,
		Decision: epizootic.EpizooticDecision{Number: b.Decision.Number, Date: b.Decision.Date}})
	if err != nil {
		return nil, err
	}
	return &restrictionOutput{Body: s.viewRestriction(r)}, nil
}
