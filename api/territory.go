package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/epizootic"
)

// registerEpizootic declares the routes of service 2 and of the epizootic situation: territories,
// diseases and restrictions, references and farmers' applications for them.
func (s *Server) registerEpizootic() {
	s.registerTerritories()
	s.registerRestrictions()
	s.registerReferences()
	s.registerReferenceApplications()
}

func (s *Server) registerTerritories() {
	register(s, huma.Operation{
		OperationID: "listTerritories", Method: http.MethodGet, Path: "/v1/territories", Tags: []string{"territories"},
		Summary: "Territorial units directly beneath a parent (KATO); without parent, the oblasts",
	}, authenticated, s.listTerritories)
	register(s, huma.Operation{
		OperationID: "getTerritory", Method: http.MethodGet, Path: "/v1/territories/{code}", Tags: []string{"territories"},
		Summary: "One territorial unit", Errors: []int{404},
	}, authenticated, s.getTerritory)
	register(s, huma.Operation{
		OperationID: "createTerritory", Method: http.MethodPost, Path: "/v1/territories", Tags: []string{"territories"},
		Summary:       "Add a territorial unit (admins); the unit above it must be in the catalogue",
		DefaultStatus: http.StatusCreated, Errors: []int{409},
	}, roles(domain.RoleAdmin), s.createTerritory)
	register(s, huma.Operation{
		OperationID: "renameTerritory", Method: http.MethodPatch, Path: "/v1/territories/{code}", Tags: []string{"territories"},
		Summary: "Rename a territorial unit (admins); the code never changes", Errors: []int{404, 409},
	}, roles(domain.RoleAdmin), s.renameTerritory)
}

// TerritoryView is a territorial unit as the API shows it.
type TerritoryView struct {
	Code      string    `json:"code" doc:"KATO code, nine digits"`
	Parent    string    `json:"parent,omitempty" doc:"The nearest catalogued unit above"`
	Level     int       `json:"level" doc:"1 oblast, 2 district or city, 3 rural district, 4 settlement"`
	NameKK    string    `json:"name_kk"`
	NameRU    string    `json:"name_ru"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
	Version   int64     `json:"version"`
}

func viewTerritory(t *epizootic.Territory) TerritoryView {
	return TerritoryView{Code: string(t.Code), Parent: string(t.Parent), Level: t.Level, NameKK: t.NameKK,
		NameRU: t.NameRU, UpdatedAt: t.UpdatedAt, UpdatedBy: t.UpdatedBy, Version: t.Version}
}

type listTerritoriesInput struct {
	Parent string `query:"parent" maxLength:"9" doc:"KATO code of the parent unit"`
	Cursor string `query:"cursor" maxLength:"512"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

type listTerritoriesOutput struct{ Body Page[TerritoryView] }

// listTerritories answers GET /v1/territories.
func (s *Server) listTerritories(ctx context.Context, in *listTerritoriesInput) (*listTerritoriesOutput, error) {
	ts, next, err := s.Epizootic.Territories.Children(ctx, in.Parent, in.Cursor, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &listTerritoriesOutput{Body: Page[TerritoryView]{Items: make([]TerritoryView, 0, len(ts)), NextCursor: next}}
	for _, t := range ts {
		out.Body.Items = append(out.Body.Items, viewTerritory(t))
	}
	return out, nil
}

type territoryCodeInput struct {
	Code string `path:"code" maxLength:"16"`
}

type territoryOutput struct {
	Location string `header:"Location"`
	Body     TerritoryView
}

// getTerritory answers GET /v1/territories/{code}.
func (s *Server) getTerritory(ctx context.Context, in *territoryCodeInput) (*territoryOutput, error) {
	t, err := s.Epizootic.Territories.Get(ctx, in.Code)
	if err != nil {
		return nil, err
	}
	return &territoryOutput{Body: viewTerritory(t)}, nil
}

type createTerritoryInput struct {
	Body struct {
		Code   string `json:"code" maxLength:"16" doc:"KATO code, nine digits"`
		NameKK string `json:"name_kk" maxLength:"400"`
		NameRU string `json:"name_ru" maxLength:"400"`
	}
}

// createTerritory answers POST /v1/territories.
func (s *Server) createTerritory(ctx context.Context, in *createTerritoryInput) (*territoryOutput, error) {
	t, err := s.Epizootic.Territories.Create(ctx, principal(ctx), epizootic.NewTerritory{Code: in.Body.Code,
		NameKK: in.Body.NameKK, NameRU: in.Body.NameRU})
	if err != nil {
		return nil, err
	}
	return &territoryOutput{Location: "/v1/territories/" + string(t.Code), Body: viewTerritory(t)}, nil
}

type renameTerritoryInput struct {
	Code string `path:"code" maxLength:"16"`
	Body struct {
		Version int64   `json:"version,omitempty" doc:"The version the change was made on; a moved-on unit answers 409."`
		NameKK  *string `json:"name_kk,omitempty" maxLength:"400"`
		NameRU  *string `json:"name_ru,omitempty" maxLength:"400"`
	}
}

// renameTerritory answers PATCH /v1/territories/{code}.
func (s *Server) renameTerritory(ctx context.Context, in *renameTerritoryInput) (*territoryOutput, error) {
	t, err := s.Epizootic.Territories.Rename(ctx, principal(ctx), in.Code, epizootic.TerritoryChange{Version: in.Body.Version,
		NameKK: in.Body.NameKK, NameRU: in.Body.NameRU})
	if err != nil {
		return nil, err
	}
	return &territoryOutput{Body: viewTerritory(t)}, nil
}
