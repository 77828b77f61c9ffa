package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/identification"
)

// DocumentHandlers are the mutations on issued documents a tablet may make offline. Documents are
// immutable: the only change is a revocation, which the issuing unit may make.
func DocumentHandlers(docs *documents.Documents) map[string]Handler {
	return map[string]Handler{
		"document.revoke": func(ctx context.Context, p domain.Principal, m Mutation) (string, string, error) {
			var body struct {
				Reason string `json:"reason"`
			}
			if err := json.Unmarshal(m.Data, &body); err != nil {
				return "", "", domain.Invalid("data", "document.revoke takes {\"reason\": \"…\"}")
			}
			d, err := docs.Get(ctx, m.RecordID)
			if err == nil && !d.VisibleTo(p) {
				return "", "", domain.Errorf(domain.ENOTFOUND, "no such document")
			}
			reason := strings.TrimSpace(body.Reason)
			if err == nil && d.Status == documents.DocRevoked && d.RevokedBy == p.UserID && d.RevokeReason == reason {
				return documents.DocumentsSpec.Name, d.ID, nil // this very revocation, applied before
			}
			if err == nil && m.BaseVersion > 0 && d.Version != m.BaseVersion {
				// The tablet revoked what it saw; the paper has changed since (superseded, or
				// revoked by someone else): the server's state wins, the tablet's is kept.
				return documents.DocumentsSpec.Name, d.ID, domain.Errorf(domain.ECONFLICT, "document %s changed since version %d", d.Number, m.BaseVersion)
			}
			if _, err := docs.Revoke(ctx, m.RecordID, p, body.Reason); err != nil {
				return "", "", err
			}
			return documents.DocumentsSpec.Name, m.RecordID, nil
		},
	}
}

// Merge combines handler sets; a later set's kind replaces an earlier one's.
func Merge(sets ...map[string]Handler) map[string]Handler {
	out := map[string]Handler{}
	for _, s := range sets {
		for k, h := range s {
			out[k] = h
		}
	}
	return out
}

// decodeData reads a mutation's data strictly: an unknown field is a mistake of the tablet's, not
// something to ignore.
func decodeData(m Mutation, v any) error {
	dec := json.NewDecoder(bytes.NewReader(m.Data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	// Name the field at fault without passing on the decoder's text, which speaks of Go types.
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

// IdentificationHandlers are the mutations of field identification a vet makes offline: new
// holdings, animals identified (their passports are issued when the mutation reaches the
// server), and corrections of an animal's description.
func IdentificationHandlers(id *identification.Service) map[string]Handler {
	return map[string]Handler{
		"holding.create": func(ctx context.Context, p domain.Principal, m Mutation) (string, string, error) {
			var in struct {
				Kind      identification.HoldingKind `json:"kind"`
				Name      string                     `json:"name"`
				OwnerIIN  string                     `json:"owner_iin"`
				OwnerName string                     `json:"owner_name"`
				Address   string                     `json:"address"`
				Territory string                     `json:"territory"`
				GPS       *struct{ Lat, Lon float64 }
			}
			if err := decodeData(m, &in); err != nil {
				return "", "", err
			}
			nh := identification.NewHolding{ID: m.RecordID, Kind: in.Kind, Name: in.Name, OwnerIIN: in.OwnerIIN,
				OwnerName: in.OwnerName, Address: in.Address, Territory: in.Territory}
			if in.GPS != nil {
				nh.Lat, nh.Lon = &in.GPS.Lat, &in.GPS.Lon
			}
			h, err := id.Holdings.Create(ctx, p, nh)
			if err != nil {
				return "", "", err
			}
			return identification.HoldingsSpec.Name, h.ID, nil
		},
		"animal.identify": func(ctx context.Context, p domain.Principal, m Mutation) (string, string, error) {
			var in struct {
				HoldingID   string             `json:"holding_id"`
				Species     domain.Species     `json:"species"`
				Sex         identification.Sex `json:"sex"`
				BirthDate   domain.CivilDate   `json:"birth_date"`
				Breed       string             `json:"breed"`
				Colour      string             `json:"colour"`
				Nickname    string             `json:"nickname"`
				Identifiers []struct {
					Means  domain.IDMeans `json:"means"`
					Number string         `json:"number"`
				} `json:"identifiers"`
			}
			if err := decodeData(m, &in); err != nil {
				return "", "", err
			}
			na := identification.NewAnimal{ID: m.RecordID, HoldingID: in.HoldingID, Species: in.Species, Sex: in.Sex,
				BirthDate: in.BirthDate, Breed: in.Breed, Colour: in.Colour, Nickname: in.Nickname}
			for _, x := range in.Identifiers {
				na.Identifiers = append(na.Identifiers, domain.IdentifierInput{Means: x.Means, Number: x.Number})
			}
			a, _, err := id.Animals.Identify(ctx, p, na)
			if err != nil {
				return "", "", err
			}
			return identification.AnimalsSpec.Name, a.ID, nil
		},
		"animal.update": func(ctx context.Context, p domain.Principal, m Mutation) (string, string, error) {
			var in struct {
				Sex       *identification.Sex `json:"sex"`
				BirthDate *domain.CivilDate   `json:"birth_date"`
				Breed     *string             `json:"breed"`
				Colour    *string             `json:"colour"`
				Nickname  *string             `json:"nickname"`
			}
			if err := decodeData(m, &in); err != nil {
				return "", "", err
			}
			_, err := id.Animals.Update(ctx, p, m.RecordID, identification.AnimalChange{BaseVersion: m.BaseVersion, MutationID: m.ID,
				Sex: in.Sex, BirthDate: in.BirthDate, Breed: in.Breed, Colour: in.Colour, Nickname: in.Nickname})
			if err != nil && !domain.IsCode(err, domain.ECONFLICT) {
				return "", "", err
			}
			// A conflict names the record, so the push answers the server's current animal.
			return identification.AnimalsSpec.Name, m.RecordID, err
		},
	}
}
