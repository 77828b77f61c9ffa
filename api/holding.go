package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/identification"
)

// registerIdentification declares the routes of service 4: holdings, tag stock, animals with
// their passports, and the reissue of lost tags.
func (s *Server) registerIdentification() {
	s.registerHoldings()
	s.registerTagStock()
	s.registerAnimals()
	s.registerReissues()
}

func (s *Server) registerHoldings() {
	register(s, huma.Operation{
		OperationID: "createHolding", Method: http.MethodPost, Path: "/v1/holdings", Tags: []string{"holdings"},
		Summary:       "Register a holding (a farm, yard or feedlot) within your territory",
		Description:   "With a client-generated id, a retry answers the holding the first attempt registered.",
		DefaultStatus: http.StatusCreated, Errors: []int{409},
	}, roles(domain.RoleAdmin, domain.RoleVet, domain.RoleInspector), s.createHolding)
	register(s, huma.Operation{
		OperationID: "listHoldings", Method: http.MethodGet, Path: "/v1/holdings", Tags: []string{"holdings"},
		Summary: "Holdings you may see: a farmer's own, a territory's for staff, optionally of one owner",
	}, authenticated, s.listHoldings)
	register(s, huma.Operation{
		OperationID: "getHolding", Method: http.MethodGet, Path: "/v1/holdings/{id}", Tags: []string{"holdings"},
		Summary: "One holding", Errors: []int{404},
	}, authenticated, s.getHolding)
}

// HoldingView is a holding as the API shows it.
type HoldingView struct {
	ID        string                     `json:"id"`
	Kind      identification.HoldingKind `json:"kind" enum:"farm,yard,feedlot"`
	Name      string                     `json:"name"`
	OwnerIIN  string                     `json:"owner_iin"`
	OwnerName string                     `json:"owner_name"`
	Address   string                     `json:"address"`
	Territory string                     `json:"territory" doc:"KATO code"`
	GPS       *identification.GPS        `json:"gps,omitempty"`
	CreatedAt time.Time                  `json:"created_at"`
	Version   int64                      `json:"version"`
}

func viewHolding(h *identification.Holding) HoldingView {
	return HoldingView{ID: h.ID, Kind: h.Kind, Name: h.Name, OwnerIIN: string(h.OwnerIIN), OwnerName: h.OwnerName,
		Address: h.Address, Territory: string(h.Territory), GPS: h.GPS, CreatedAt: h.CreatedAt, Version: h.Version}
}

type createHoldingInput struct {
	Body HoldingRequest
}

// HoldingRequest registers a holding: the body of POST /v1/holdings and the data of the
// holding.create mutation.
type HoldingRequest struct {
	ID        string   `json:"id,omitempty" maxLength:"36" doc:"Client-generated UUID, so a retry is recognised."`
	Kind      string   `json:"kind" enum:"farm,yard,feedlot"`
	Name      string   `json:"name" maxLength:"400"`
	OwnerIIN  string   `json:"owner_iin" maxLength:"12" doc:"The owner's IIN or BIN (check digit verified)."`
	OwnerName string   `json:"owner_name" maxLength:"400"`
	Address   string   `json:"address" maxLength:"600"`
	Territory string   `json:"territory" maxLength:"9" doc:"KATO code within your territory."`
	GPS       *gpsBody `json:"gps,omitempty"`
}

func (b *HoldingRequest) holding() identification.NewHolding {
	nh := identification.NewHolding{ID: b.ID, Kind: identification.HoldingKind(b.Kind), Name: b.Name, OwnerIIN: b.OwnerIIN,
		OwnerName: b.OwnerName, Address: b.Address, Territory: b.Territory}
	if b.GPS != nil {
		nh.Lat, nh.Lon = b.GPS.Lat, b.GPS.Lon
	}
	return nh
}

type gpsBody struct {
	Lat *float64 `json:"lat" doc:"Decimal degrees, WGS 84."`
	Lon *float64 `json:"lon"`
}

type holdingOutput struct {
	Location string `header:"Location"`
	Body     HoldingView
}

// createHolding answers POST /v1/holdings.
func (s *Server) createHolding(ctx context.Context, in *createHoldingInput) (*holdingOutput, error) {
	h, err := s.Identification.Holdings.Create(ctx, principal(ctx), in.Body.holding())
	if err != nil {
		return nil, err
	}
	return &holdingOutput{Location: "/v1/holdings/" + h.ID, Body: viewHolding(h)}, nil
}

type idInput struct {
	ID string `path:"id" maxLength:"64"`
}

// getHolding answers GET /v1/holdings/{id}.
func (s *Server) getHolding(ctx context.Context, in *idInput) (*holdingOutput, error) {
	h, err := s.Identification.Holdings.Get(ctx, principal(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &holdingOutput{Body: viewHolding(h)}, nil
}

type listHoldingsInput struct {
	Owner  string `query:"owner" maxLength:"12" doc:"IIN or BIN of an owner."`
	Cursor string `query:"cursor" maxLength:"512"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

type listHoldingsOutput struct{ Body Page[HoldingView] }

// listHoldings answers GET /v1/holdings.
func (s *Server) listHoldings(ctx context.Context, in *listHoldingsInput) (*listHoldingsOutput, error) {
	hs, next, err := s.Identification.Holdings.List(ctx, principal(ctx), identification.HoldingFilter{OwnerIIN: in.Owner,
		After: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &listHoldingsOutput{Body: Page[HoldingView]{Items: make([]HoldingView, 0, len(hs)), NextCursor: next}}
	for _, h := range hs {
		out.Body.Items = append(out.Body.Items, viewHolding(h))
	}
	return out, nil
}

// etag is the ETag of a record at version v.
func etag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }
