package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/cases"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/vetcert"
	vsync "github.com/vetfield/vetfield/sync"
)

// The routes of the certificates issued (service 7, on the case engine): the record tablets
// receive, and the district's review of those a tablet issued offline against the situation.
func (s *Server) registerCertificates() {
	op := func(id, method, path, summary, desc string, errs ...int) huma.Operation {
		return huma.Operation{OperationID: id, Method: method, Path: path, Tags: []string{"cases"},
			Summary: summary, Description: desc, Errors: errs}
	}
	register(s, op("listCertificates", http.MethodGet, "/v1/certificates", "Veterinary certificates issued, newest first",
		"Staff their territory's, an applicant their own. review=true: those a tablet issued offline that the checks at its "+
			"time or at sync would have refused, their papers revoked, waiting for the district's review."), authenticated, s.listCertificates)
	register(s, op("getCertificate", http.MethodGet, "/v1/certificates/{id}", "One certificate: its paper, the movement that closes it, its review",
		"The id is its case's.", 404), authenticated, s.getCertificate)
	register(s, op("closeCertificateReview", http.MethodPost, "/v1/certificates/{id}/review",
		"Close the review of a certificate issued offline (the district's staff, not its issuer); its paper stays revoked", "", 403, 404, 409),
		roles(domain.RoleAdmin, domain.RoleVet, domain.RoleInspector, domain.RoleHead, domain.RoleSanitaryInspector), s.closeCertificateReview)
}

// CertificateView is a certificate issued, as the API and tablets see it.
type CertificateView struct {
	ID                   string     `json:"id" doc:"Its case's id"`
	CaseNumber           string     `json:"case_number"`
	Territory            string     `json:"territory"`
	OwnerIIN             string     `json:"owner_iin"`
	Consignment          string     `json:"consignment" enum:"animals,products,feed"`
	Export               bool       `json:"export,omitempty"`
	Country              string     `json:"country,omitempty"`
	DestinationTerritory string     `json:"destination_territory,omitempty"`
	ReferenceIDs         []string   `json:"reference_ids,omitempty"`
	ObjectID             string     `json:"object_id,omitempty"`
	MovementID           string     `json:"movement_id,omitempty" doc:"The movement it covers: received, it closes the certificate (the movement is synced too)"`
	DocumentID           string     `json:"document_id"`
	DocumentNumber       string     `json:"document_number"`
	IssuedAt             time.Time  `json:"issued_at" doc:"Offline: by the tablet's clock"`
	IssuedBy             string     `json:"issued_by"`
	IssuedByName         string     `json:"issued_by_name"`
	Offline              bool       `json:"offline,omitempty"`
	SyncedAt             *time.Time `json:"synced_at,omitempty"`
	ReviewRequired       bool       `json:"review_required"`
	ReviewOpen           bool       `json:"review_open"`
	Grounds              []string   `json:"grounds" doc:"Why it waits for review"`
	ReviewedAt           *time.Time `json:"reviewed_at,omitempty"`
	ReviewNote           string     `json:"review_note,omitempty"`
	Version              int64      `json:"version"`
	// Status and Document are read when the API answers; a tablet has the movement and the
	// paper as their own records.
	Status   string        `json:"status,omitempty" enum:"open,closed" doc:"closed once the movement it covers was received (API answers only)"`
	Document *DocumentView `json:"document,omitempty"`
}

func viewCertificate(c *vetcert.Certificate) CertificateView {
	return CertificateView{ID: c.ID, CaseNumber: c.CaseNumber, Territory: string(c.Territory), OwnerIIN: string(c.OwnerIIN),
		Consignment: c.Consignment, Export: c.Export, Country: c.Country, DestinationTerritory: c.DestinationTerritory,
		ReferenceIDs: c.ReferenceIDs, ObjectID: c.ObjectID, MovementID: c.MovementID, DocumentID: c.DocumentID,
		DocumentNumber: c.DocumentNumber, IssuedAt: c.IssuedAt, IssuedBy: c.IssuedBy, IssuedByName: c.IssuedByName,
		Offline: c.Offline, SyncedAt: c.SyncedAt, ReviewRequired: c.ReviewRequired, ReviewOpen: c.ReviewOpen,
		Grounds: c.Grounds, ReviewedAt: c.ReviewedAt, ReviewNote: c.ReviewNote, Version: c.Version}
}

// viewCertificateNow adds what the API reads when it answers: the status from the movement, the paper.
func (s *Server) viewCertificateNow(ctx context.Context, c *vetcert.Certificate) (CertificateView, error) {
	v := viewCertificate(c)
	cs, err := s.Cases.Get(ctx, domain.Principal{Role: domain.RoleAdmin}, c.ID)
	if err != nil {
		return v, err
	}
	if v.Status, err = s.VetCert.Status(ctx, cs); err != nil {
		return v, err
	}
	doc, err := s.Documents.Get(ctx, c.DocumentID)
	if err != nil {
		return v, err
	}
	d := s.viewDocument(doc)
	v.Document = &d
	return v, nil
}

type listCertificatesInput struct {
	Review bool   `query:"review" doc:"Only those issued offline that wait for review"`
	Cursor string `query:"cursor" maxLength:"512"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

type certificatePageOutput struct{ Body Page[CertificateView] }

// listCertificates answers GET /v1/certificates.
func (s *Server) listCertificates(ctx context.Context, in *listCertificatesInput) (*certificatePageOutput, error) {
	list, next, err := s.VetCert.ListCertificates(ctx, principal(ctx), vetcert.Filter{Review: in.Review, After: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &certificatePageOutput{Body: Page[CertificateView]{Items: make([]CertificateView, 0, len(list)), NextCursor: next}}
	for _, c := range list {
		out.Body.Items = append(out.Body.Items, viewCertificate(c))
	}
	return out, nil
}

type certificateOutput struct{ Body CertificateView }

// getCertificate answers GET /v1/certificates/{id}.
func (s *Server) getCertificate(ctx context.Context, in *idInput) (*certificateOutput, error) {
	c, err := s.VetCert.GetCertificate(ctx, principal(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	v, err := s.viewCertificateNow(ctx, c)
	if err != nil {
		return nil, err
	}
	return &certificateOutput{Body: v}, nil
}

// closeCertificateReview answers POST /v1/certificates/{id}/review.
func (s *Server) closeCertificateReview(ctx context.Context, in *reviewInput) (*certificateOutput, error) {
	c, err := s.VetCert.CloseReview(ctx, principal(ctx), in.ID, in.Body.Note)
	if err != nil {
		return nil, err
	}
	v, err := s.viewCertificateNow(ctx, c)
	if err != nil {
		return nil, err
	}
	return &certificateOutput{Body: v}, nil
}

// LabTestBody is one test of a laboratory act.
type LabTestBody struct {
	Name   string `json:"name" maxLength:"200"`
	Result string `json:"result" enum:"negative,positive"`
}

// LabActBody is the laboratory expertise act: the data of the laboratory step.
type LabActBody struct {
	Laboratory string           `json:"laboratory" maxLength:"300"`
	ActNumber  string           `json:"act_number" maxLength:"60"`
	ActDate    domain.CivilDate `json:"act_date" format:"date"`
	Tests      []LabTestBody    `json:"tests" minItems:"1" maxItems:"50"`
	Tags       []string         `json:"tags,omitempty" maxItems:"500" doc:"The animals the act covers"`
}

// InspectionBody is the inspection of the objects and the vehicle: the data of the inspection step.
type InspectionBody struct {
	Vehicle      string `json:"vehicle" maxLength:"20" doc:"The vehicle's plate"`
	VehicleState string `json:"vehicle_state" enum:"satisfactory,unsatisfactory"`
	Seal         string `json:"seal,omitempty" maxLength:"60"`
	ObjectsState string `json:"objects_state" enum:"satisfactory,unsatisfactory"`
	MovementID   string `json:"movement_id,omitempty" maxLength:"64" doc:"The movement the certificate covers"`
}

// CertificateMutation is a veterinary certificate a state veterinary-sanitary inspector's tablet
// issued or refused offline: the application as POST /v1/cases takes it (service vetcert), the
// laboratory act, the inspection, and the outcome.
type CertificateMutation struct {
	CaseRequest
	Laboratory *LabActBody     `json:"laboratory,omitempty" doc:"Required unless refused at documents or laboratory"`
	Inspection *InspectionBody `json:"inspection,omitempty" doc:"Required when issued"`
	Outcome    string          `json:"outcome,omitempty" enum:"issued,refused" doc:"What the tablet decided; issued when absent"`
	RefusedAt  string          `json:"refused_at,omitempty" enum:"documents,laboratory,inspection" doc:"The step of a refusal; inspection when absent"`
	Ground     string          `json:"ground,omitempty" maxLength:"4000" doc:"The ground of a refusal"`
}

// pushCertificate applies certificate.issue: the case the tablet did runs through the engine's
// steps at the mutation's at, and what it rests on is re-checked at that time and on arrival; one
// that either would refuse is kept, its paper revoked with the grounds, and it waits in the
// district's review queue (GET /v1/certificates?review=true).
func (s *Server) pushCertificate(ctx context.Context, p domain.Principal, m vsync.Mutation, in *CertificateMutation) (string, string, error) {
	off := vetcert.OfflineIssue{At: m.At, Refused: in.Outcome == "refused", RefusedAt: in.RefusedAt, Ground: in.Ground,
		Application: cases.Application{ID: m.RecordID, Service: in.Service, ApplicantIIN: in.ApplicantIIN,
			ApplicantName: in.ApplicantName, Documents: in.Documents, Data: in.Data}}
	if r := in.Representative; r != nil {
		off.Application.Representative = &cases.RepresentativeInput{IIN: r.IIN, Name: r.Name, PowerOfAttorney: r.PowerOfAttorney,
			PowerOfAttorneyDate: r.PowerOfAttorneyDate}
	}
	if l := in.Laboratory; l != nil {
		off.Laboratory = &vetcert.LabAct{Laboratory: l.Laboratory, ActNumber: l.ActNumber, ActDate: l.ActDate, Tags: l.Tags,
			Tests: make([]vetcert.LabTest, 0, len(l.Tests))}
		for _, t := range l.Tests {
			off.Laboratory.Tests = append(off.Laboratory.Tests, vetcert.LabTest{Name: t.Name, Result: t.Result})
		}
	}
	if i := in.Inspection; i != nil {
		off.Inspection = &vetcert.Inspection{Vehicle: i.Vehicle, VehicleState: i.VehicleState, Seal: i.Seal,
			ObjectsState: i.ObjectsState, MovementID: i.MovementID}
	}
	c, err := s.VetCert.IssueOffline(ctx, p, off)
	if err != nil {
		return "", "", applicationField(err)
	}
	if c.Refusal != nil {
		return documents.DocumentsSpec.Name, c.Refusal.DocID, nil // a refusal: its paper is the record
	}
	return vetcert.CertificatesSpec.Name, c.ID, nil
}

// applicationField places an error of the application's own part (the case's data…) in the
// mutation, whose data holds the application with its data.
func applicationField(err error) error {
	var de *domain.Error
	if !errors.As(err, &de) || (de.Field != "data" && !strings.HasPrefix(de.Field, "data.")) {
		return err
	}
	moved := *de
	moved.Field = "data." + de.Field
	return &moved
}
