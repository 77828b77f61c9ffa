package sync

import (
	"context"
	"encoding/json"

	"github.com/vetfield/vetfield/domain"
)

// DocumentHandlers are the mutations on issued documents a tablet may make offline. Documents are
// immutable: the only change is a revocation, which the issuing unit may make.
func DocumentHandlers(docs *domain.Documents) map[string]Handler {
	return map[string]Handler{
		"document.revoke": func(ctx context.Context, p domain.Principal, m Mutation) (string, string, error) {
			var body struct {
				Reason string `json:"reason"`
			}
			if err := json.Unmarshal(m.Data, &body); err != nil {
				return "", "", domain.Invalid("data", "document.revoke takes {\"reason\": \"…\"}")
			}
			d, err := docs.Get(ctx, m.RecordID)
			if err == nil && d.Status == domain.DocRevoked && d.RevokedBy == p.UserID && d.RevokeReason == body.Reason {
				return domain.DocumentsSpec.Name, d.ID, nil // this very revocation, applied before
			}
			if err == nil && m.BaseVersion > 0 && d.Version != m.BaseVersion {
				// The tablet revoked what it saw; the paper has changed since (superseded, or
				// revoked by someone else): the server's state wins, the tablet's is kept.
				return domain.DocumentsSpec.Name, d.ID, domain.Errorf(domain.ECONFLICT, "document %s changed since version %d", d.Number, m.BaseVersion)
			}
			if _, err := docs.Revoke(ctx, m.RecordID, p, body.Reason); err != nil {
				return "", "", err
			}
			return domain.DocumentsSpec.Name, m.RecordID, nil
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
