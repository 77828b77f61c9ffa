package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/inspection"
)

func (s *Server) registerObjects() {
	staff := roles(domain.RoleAdmin, domain.RoleVet, domain.RoleInspector)
	register(s, huma.Operation{
		OperationID: "createObject", Method: http.MethodPost, Path: "/v1/objects", Tags: []string{"objects"},
		Summary: "Register a production object",
		Description: "Staff register objects within their own territory; admins anywhere. With a client-made `id` a " +
			"retry answers the object the first attempt registered (200 instead of 201).",
		DefaultStatus: http.StatusCreated, Errors: []int{409},
	}, staff, s.createObject)
	register(s, huma.Operation{
		OperationID: "listObjects", Method: http.MethodGet, Path: "/v1/objects", Tags: []string{"objects"},
		Summary:     "Production objects the caller may see, by name",
		Description: "Staff see their territory, admins everything, farmers their own objects.",
	}, authenticated, s.listObjects)
	register(s, huma.Operation{
		OperationID: "getObject", Method: http.MethodGet, Path: "/v1/objects/{id}", Tags: []string{"objects"},
		Summary: "One production object", Errors: []int{404},
	}, authenticated, s.getObject)
}

// GeoView is a GPS position.
type GeoView struct {
	Lat       float64 `json:"lat" minimum:"-90" maximum:"90" doc:"Decimal degrees, WGS 84."`
	Lon       float64 `json:"lon" minimum:"-180" maximum:"180"`
	AccuracyM float64 `json:"accuracy_m,omitempty" minimum:"0" doc:"The receiver's estimate of its error in metres."`
}

func (g *GeoView) point() *domain.GeoPoint {
	if g == nil {
		return nil
	}
	return &domain.GeoPoint{Lat: g.Lat, Lon: g.Lon, AccuracyM: g.AccuracyM}
}

func viewGeo(p *domain.GeoPoint) *GeoView {
	if p == nil {
		return nil
	}
	return &GeoView{Lat: p.Lat, Lon: p.Lon, AccuracyM: p.AccuracyM}
}

// ObjectView is a production object as the API shows it.
type ObjectView struct {
	ID        string                `json:"id"`
	Kind      inspection.ObjectKind `json:"kind"`
	Name      string                `json:"name"`
	OwnerIIN  string                `json:"owner_iin"`
	OwnerName string                `json:"owner_name,omitempty"`
	Address   string                `json:"address"`
	Territory string                `json:"territory"`
	Location  *GeoView              `json:"location,omitempty"`
	RegNumber string                `json:"reg_number,omitempty" doc:"The registration (account) number, once assigned."`
	CreatedAt time.Time             `json:"created_at"`
	UpdatedAt time.Time             `json:"updated_at"`
	Version   int64                 `json:"version"`
}

func viewObject(o *inspection.ProductionObject) ObjectView {
	return ObjectView{ID: o.ID, Kind: o.Kind, Name: o.Name, OwnerIIN: string(o.OwnerIIN), OwnerName: o.OwnerName,
		Address: o.Address, Territory: string(o.Territory), Location: viewGeo(o.Location), RegNumber: o.RegNumber,
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, Version: o.Version}
}

type createObjectInput struct {
	Body struct {
		ID        string                `json:"id,omitempty" format:"uuid" doc:"Made by the tablet, so a retry registers nothing twice."`
		Kind      inspection.ObjectKind `json:"kind" enum:"farm,feedlot,slaughter_site,processing_plant,storage,market,vet_pharmacy,feed_producer"`
		Name      string                `json:"name" minLength:"1" maxLength:"300"`
		OwnerIIN  string                `json:"owner_iin" pattern:"^[0-9]{12}$" doc:"IIN or BIN of the owner."`
		OwnerName string                `json:"owner_name,omitempty" maxLength:"300"`
		Address   string                `json:"address" minLength:"1" maxLength:"500"`
		Territory string                `json:"territory" pattern:"^[0-9]{9}$" doc:"KATO code of where the object is."`
		Location  *GeoView              `json:"location,omitempty"`
		RegNumber string                `json:"reg_number,omitempty" maxLength:"40"`
	}
}

type objectOutput struct {
	Status   int
	Location string `header:"Location"`
	Body     ObjectView
}

// createObject answers POST /v1/objects.
func (s *Server) createObject(ctx context.Context, in *createObjectInput) (*objectOutput, error) {
	b := in.Body
	o, created, err := s.Inspection.Register.Create(ctx, principal(ctx), inspection.NewObject{ID: b.ID, Kind: b.Kind, Name: b.Name,
		OwnerIIN: b.OwnerIIN, OwnerName: b.OwnerName, Address: b.Address, Territory: b.Territory,
		Location: b.Location.point(), RegNumber: b.RegNumber})
	if err != nil {
		return nil, err
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	return &objectOutput{Status: status, Location: "/v1/objects/" + o.ID, Body: viewObject(o)}, nil
}

type listObjectsInput struct {
	Territory string `query:"territory" pattern:"^[0-9]{9}$" doc:"Only objects within this KATO unit."`
	Owner     string `query:"owner" pattern:"^[0-9]{12}$" doc:"Only this owner's objects (IIN or BIN)."`
	Kind      string `query:"kind" enum:"farm,feedlot,slaughter_site,processing_plant,storage,market,vet_pharmacy,feed_producer"`
	Cursor    string `query:"cursor" maxLength:"512"`
	Limit     int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

type listObjectsOutput struct{ Body Page[ObjectView] }

// listObjects answers GET /v1/objects.
func (s *Server) listObjects(ctx context.Context, in *listObjectsInput) (*listObjectsOutput, error) {
	objs, next, err := s.Inspection.Register.List(ctx, principal(ctx), inspection.ObjectFilter{Territory: domain.Kato(in.Territory),
		Owner: domain.IIN(in.Owner), Kind: inspection.ObjectKind(in.Kind), After: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &listObjectsOutput{Body: Page[ObjectView]{Items: make([]ObjectView, 0, len(objs)), NextCursor: next}}
	for _, o := range objs {
		out.Body.Items = append(out.Body.Items, viewObject(o))
	}
	return out, nil
}

type objectIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type getObjectOutput struct{ Body ObjectView }

// getObject answers GET /v1/objects/{id}.
func (s *Server) getObject(ctx context.Context, in *objectIDInput) (*getObjectOutput, error) {
	o, err := s.Inspection.Register.Get(ctx, principal(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &getObjectOutput{Body: viewObject(o)}, nil
}
