package sync

import (
	"context"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/epizootic"
)

// ReferenceHandlers are the mutations of service 2 a vet makes offline: a reference issued (or
// refused) in the field. The server re-checks it against the epizootic situation at the moment the
// tablet says it issued it (Mutation.At) and at the moment it arrives; a reference that a
// restriction already in force would have refused is kept, its paper revoked with the ground, and
// it waits in the district's review queue (GET /v1/references?review=true).
func ReferenceHandlers(e *epizootic.Service) map[string]Handler {
	return map[string]Handler{
		"reference.issue": func(ctx context.Context, p domain.Principal, m Mutation) (string, string, error) {
			var in struct {
				HoldingID string `json:"holding_id"`
				Animals   []struct {
					ID  string `json:"id"`
					Tag string `json:"tag"`
				} `json:"animals"`
				Products     []epizootic.ReferenceProduct `json:"products"`
				Purpose      epizootic.ReferencePurpose   `json:"purpose"`
				Destination  string                       `json:"destination"`
				ExamResult   string                       `json:"exam_result"`
				ExamNote     string                       `json:"exam_note"`
				AppliedAt    *time.Time                   `json:"applied_at"`
				Outcome      string                       `json:"outcome"`
				RefuseReason string                       `json:"refuse_reason"`
			}
			if err := decodeData(m, &in); err != nil {
				return "", "", err
			}
			if in.Outcome != "" && in.Outcome != epizootic.RefIssued && in.Outcome != epizootic.RefRefused {
				return "", "", domain.Invalid("data.outcome", "the outcome the tablet reached is issued or refused")
			}
			nr := epizootic.NewReference{ID: m.RecordID, HoldingID: in.HoldingID, Products: in.Products, Purpose: in.Purpose,
				Destination: in.Destination, ExamResult: in.ExamResult, ExamNote: in.ExamNote, AppliedAt: in.AppliedAt,
				RefuseReason: in.RefuseReason}
			for _, a := range in.Animals {
				nr.Animals = append(nr.Animals, epizootic.ReferenceAnimalInput{ID: a.ID, Tag: a.Tag})
			}
			r, _, err := e.References.IssueOffline(ctx, p, nr, epizootic.OfflineIssue{At: m.At, Refused: in.Outcome == epizootic.RefRefused})
			if err != nil {
				return "", "", err
			}
			return epizootic.ReferencesSpec.Name, r.ID, nil
		},
	}
}
