package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/identification"
	vsync "github.com/vetfield/vetfield/sync"
)

// A mutationKind is one kind of change a tablet pushes from offline: its data is the request type
// of the API operation that makes the same change online, decoded and validated exactly as that
// operation's body is, so a tablet and a script are told the same thing about the same mistake.
type mutationKind struct {
	// data is the request type; summary says what the kind does, for the OpenAPI description.
	data    reflect.Type
	summary string
	apply   vsync.Handler
}

// mutationKinds are every kind sync/push accepts. The API installs them into the sync service,
// with the views, because the wire is the API's: TestGoldenWire pins both.
func (s *Server) mutationKinds() map[string]mutationKind {
	return map[string]mutationKind{
		"document.revoke":   kind(s, "Revoke a paper (POST /v1/documents/{id}/revoke).", false, s.pushRevoke),
		"holding.create":    kind(s, "Register a holding (POST /v1/holdings).", true, s.pushHolding),
		"animal.identify":   kind(s, "Identify an animal; its passport is issued on arrival (POST /v1/animals).", true, s.pushIdentify),
		"animal.update":     kind(s, "Correct an animal's description (PATCH /v1/animals/{id}).", false, s.pushAnimalUpdate),
		"reference.issue":   kind(s, "A reference issued or refused in the field, re-checked at its time and on arrival (POST /v1/references).", true, s.pushReference),
		"movement.dispatch": kind(s, "Dispatch animals under their reference, checked at the tablet's time (POST /v1/movements).", true, s.pushDispatch),
		"movement.receive":  kind(s, "Confirm a movement's receipt; record_id is the movement (POST /v1/movements/{id}/receive).", false, s.pushReceive),
		"movement.cancel":   kind(s, "Call a movement off; record_id is the movement (POST /v1/movements/{id}/cancel).", false, s.pushCancel),
		"animal.dispose":    kind(s, "Record that an animal left the register; record_id is the animal (POST /v1/animals/{id}/disposal).", false, s.pushDispose),
		"animal.identify_group": kind(s, "Identify a group of up to 500 animals of one holding, a result per animal; record_id is the group (POST /v1/animal-groups).",
			true, s.pushIdentifyGroup),

		"certificate.issue": kind(s, "A veterinary certificate issued or refused offline by a state veterinary-sanitary inspector; record_id is the case, "+
			"re-checked at its time and on arrival (POST /v1/cases for service vetcert, then its steps).", true, s.pushCertificate),

		// Vaccinations and diagnostic tests (api/vaccination.go, api/diagnostic.go).
		"vaccination.record":     kind(s, "Record a vaccination of a group of animals (POST /v1/vaccinations).", true, s.pushVaccination),
		"diagnostic_test.sample": kind(s, "Record the samples taken for a diagnostic test (POST /v1/diagnostic-tests).", true, s.pushSample),
		"diagnostic_test.result": kind(s, "Record a laboratory's results for the test named by record_id (POST /v1/diagnostic-tests/{id}/results).", false, s.pushResult),
	}
}

// handlers are the kinds as the sync service applies them.
func (s *Server) handlers() map[string]vsync.Handler {
	out := map[string]vsync.Handler{}
	for name, k := range s.kinds {
		out[name] = k.apply
	}
	return out
}

// kind declares a mutation kind whose data is a D. When withID, D has the "id" of the record it
// creates: a tablet may leave it out of data, since the mutation carries it as record_id.
func kind[D any](s *Server, summary string, withID bool,
	apply func(ctx context.Context, p domain.Principal, m vsync.Mutation, d *D) (string, string, error)) mutationKind {
	t := reflect.TypeFor[D]()
	registry := s.api.OpenAPI().Components.Schemas
	registry.Schema(t, true, "") // named in the OpenAPI description
	schema := registry.Schema(t, false, "")
	return mutationKind{data: t, summary: summary, apply: func(ctx context.Context, p domain.Principal, m vsync.Mutation) (string, string, error) {
		data, err := mutationData(m, withID)
		if err != nil {
			return "", "", err
		}
		var res huma.ValidateResult
		huma.Validate(registry, schema, huma.NewPathBuffer([]byte("data"), 0), huma.ModeWriteToServer, data, &res)
		if len(res.Errors) > 0 {
			return "", "", validationProblem(res.Errors[0])
		}
		var d D
		if err := decodeStrict(m, &d); err != nil {
			return "", "", err
		}
		return apply(ctx, p, m, &d)
	}}
}

// mutationData decodes a mutation's data as generic JSON for schema validation, adding the
// record's id where the request type takes one and the tablet left it to record_id.
func mutationData(m vsync.Mutation, withID bool) (any, error) {
	var data any
	if len(m.Data) > 0 {
		if err := json.Unmarshal(m.Data, &data); err != nil {
			return nil, domain.Invalid("data", "the data of %s is not JSON", m.Kind)
		}
	}
	if data == nil {
		data = map[string]any{}
	}
	obj, ok := data.(map[string]any)
	if !ok {
		return nil, domain.Invalid("data", "the data of %s is a JSON object", m.Kind)
	}
	if withID {
		switch id, has := obj["id"]; {
		case !has:
			obj["id"] = m.RecordID
		case id != m.RecordID:
			return nil, domain.Invalid("data.id", "data.id, when given, is the mutation's record_id")
		}
	}
	return obj, nil
}

// validationProblem is a schema violation as the domain's error, keeping the location and the
// message but never the value (which may be anything the client sent).
func validationProblem(err error) error {
	var d *huma.ErrorDetail
	if errors.As(err, &d) {
		return &domain.Error{Code: domain.EINVALID, Field: d.Location, Message: d.Message}
	}
	return domain.Invalid("data", "the data is not valid")
}

// decodeStrict reads a mutation's data into v: an unknown field is a mistake of the tablet's, not
// something to ignore. The decoder's own text, which speaks of Go types, never reaches the tablet.
func decodeStrict(m vsync.Mutation, v any) error {
	if len(m.Data) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(m.Data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return domain.Invalid("data."+typeErr.Field, "data.%s of %s has the wrong type", typeErr.Field, m.Kind)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return domain.Invalid("data."+field, "%s takes no field %q", m.Kind, field)
	}
	return domain.Invalid("data", "the data of %s is not the JSON object it takes", m.Kind)
}

// pushRevoke applies document.revoke. Documents are immutable: the only change is a revocation,
// which the issuing unit may make.
func (s *Server) pushRevoke(ctx context.Context, p domain.Principal, m vsync.Mutation, in *RevokeRequest) (string, string, error) {
	d, err := s.Documents.Get(ctx, m.RecordID)
	if err == nil && !d.VisibleTo(p) {
		return "", "", domain.Errorf(domain.ENOTFOUND, "no such document")
	}
	// Permission before conflict: a stale base_version from someone who may not revoke at all
	// is refused, not kept in the supervisors' queue of conflicts.
	if err == nil && !d.RevocableBy(p) {
		return "", "", domain.Errorf(domain.EFORBIDDEN, "only admins and the issuing unit may revoke this document")
	}
	reason := strings.TrimSpace(in.Reason)
	if err == nil && d.Status == documents.DocRevoked && d.RevokedBy == p.UserID && d.RevokeReason == reason {
		return documents.DocumentsSpec.Name, d.ID, nil // this very revocation, applied before
	}
	if err == nil && m.BaseVersion > 0 && d.Version != m.BaseVersion {
		// The tablet revoked what it saw; the paper has changed since (superseded, or revoked by
		// someone else): the server's state wins, the tablet's is kept.
		return documents.DocumentsSpec.Name, d.ID, domain.Errorf(domain.ECONFLICT, "document %s changed since version %d", d.Number, m.BaseVersion)
	}
	if _, err := s.Documents.Revoke(ctx, m.RecordID, p, in.Reason); err != nil {
		return "", "", err
	}
	return documents.DocumentsSpec.Name, m.RecordID, nil
}

// pushHolding applies holding.create.
func (s *Server) pushHolding(ctx context.Context, p domain.Principal, m vsync.Mutation, in *HoldingRequest) (string, string, error) {
	nh := in.holding()
	nh.ID = m.RecordID
	h, err := s.Identification.Holdings.Create(ctx, p, nh)
	if err != nil {
		return "", "", err
	}
	return identification.HoldingsSpec.Name, h.ID, nil
}

// pushIdentify applies animal.identify; the passport is issued when the mutation reaches the
// server.
func (s *Server) pushIdentify(ctx context.Context, p domain.Principal, m vsync.Mutation, in *IdentifyRequest) (string, string, error) {
	na := in.animal()
	na.ID = m.RecordID
	a, _, err := s.Identification.Animals.Identify(ctx, p, na)
	if err != nil {
		return "", "", err
	}
	return identification.AnimalsSpec.Name, a.ID, nil
}

// pushAnimalUpdate applies animal.update: the change was made on base_version, and the
// mutation's id makes a re-push harmless.
func (s *Server) pushAnimalUpdate(ctx context.Context, p domain.Principal, m vsync.Mutation, in *AnimalChangeRequest) (string, string, error) {
	_, err := s.Identification.Animals.Update(ctx, p, m.RecordID, in.change(m.BaseVersion, m.ID))
	if err != nil && !domain.IsCode(err, domain.ECONFLICT) {
		return "", "", err
	}
	// A conflict names the record, so the push answers the server's current animal.
	return identification.AnimalsSpec.Name, m.RecordID, err
}

// ReferenceMutation is a reference decided on a tablet: the request, and what the tablet
// decided.
type ReferenceMutation struct {
	ReferenceRequest
	Outcome string `json:"outcome,omitempty" enum:"issued,refused" doc:"What the tablet decided; issued when absent."`
}

// pushReference applies reference.issue. The server re-checks the reference against the epizootic
// situation at the moment the tablet says it issued it (the mutation's at) and at the moment it
// arrives; one that a restriction already in force would have refused is kept, its paper revoked
// with the ground, and it waits in the district's review queue (GET /v1/references?review=true).
func (s *Server) pushReference(ctx context.Context, p domain.Principal, m vsync.Mutation, in *ReferenceMutation) (string, string, error) {
	nr := in.reference()
	nr.ID = m.RecordID
	r, _, err := s.Epizootic.References.IssueOffline(ctx, p, nr,
		epizootic.OfflineIssue{At: m.At, Refused: in.Outcome == epizootic.RefRefused})
	if err != nil {
		return "", "", err
	}
	return epizootic.ReferencesSpec.Name, r.ID, nil
}

// kindSchemas describes each mutation kind for the OpenAPI description of POST /v1/sync/push: what
// it does and the schema of its data, the same as the API request's. A batch is not validated
// against them as a whole — one bad mutation is rejected alone — so they sit in an extension.
func (s *Server) kindSchemas() map[string]any {
	out := map[string]any{}
	for name, k := range s.kinds {
		ref := s.api.OpenAPI().Components.Schemas.Schema(k.data, true, "")
		out[name] = map[string]any{"summary": k.summary, "data": map[string]string{"$ref": ref.Ref}}
	}
	return out
}
