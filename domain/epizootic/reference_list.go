package epizootic

import (
	"context"
	"strings"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// referenceContent is what a reference or a refusal prints and pins with its hash: the request,
// the outcome with its grounds in words, and what was checked.
type referenceContent struct {
	Service     string             `json:"service"`
	Reference   string             `json:"reference"`
	Result      string             `json:"result"`
	Ground      string             `json:"ground,omitempty"`
	GroundKK    string             `json:"ground_kk,omitempty"`
	Grounds     []Ground           `json:"grounds,omitempty"`
	Holding     string             `json:"holding"`
	Owner       string             `json:"owner"`
	Animals     []ReferenceAnimal  `json:"identification,omitempty"`
	Products    []ReferenceProduct `json:"products,omitempty"`
	Purpose     ReferencePurpose   `json:"purpose"`
	Destination string             `json:"destination"`
	Examination string             `json:"examination"`
	AppliedAt   time.Time          `json:"applied_at"`
	DecidedAt   time.Time          `json:"decided_at"`
	Checked     []SituationCheck   `json:"checked"`
	Offline     bool               `json:"offline,omitempty"`
	// ReviewRequired is printed on a paper a tablet issued offline that the server's checks would
	// have refused; the paper is also revoked, so a scan never shows it as simply genuine.
	ReviewRequired bool `json:"review_required,omitempty"`
}

func (r *Reference) content() referenceContent {
	c := referenceContent{Service: "veterinary reference (service 2)", Reference: r.ID, Result: r.Outcome,
		Holding: r.HoldingName + " (" + string(r.Territory) + ")", Owner: r.OwnerName, Animals: r.Animals,
		Products: r.Products, Purpose: r.Purpose, Destination: r.Destination, Examination: r.ExamResult,
		AppliedAt: r.AppliedAt, DecidedAt: r.IssuedAt, Checked: r.Checked, Offline: r.Offline,
		ReviewRequired: r.ReviewRequired}
	if r.ExamNote != "" {
		c.Examination += ": " + r.ExamNote
	}
	if len(r.Grounds) > 0 {
		c.Grounds, c.Ground, c.GroundKK = r.Grounds, groundsText(r.Grounds, "ru"), groundsText(r.Grounds, "kk")
	}
	return c
}

// ReferenceFilter selects references to list.
type ReferenceFilter struct {
	// Late keeps the references not decided on the day of application.
	Late bool
	// Review keeps the references issued offline that wait for review.
	Review bool
	After  string
	Limit  int
}

// List pages through the references by may see, newest first: a farmer's own, a territory's for
// staff, all for admins.
func (rf *References) List(ctx context.Context, by domain.Principal, f ReferenceFilter) ([]*Reference, string, error) {
	q := domain.Query{Index: "references_territory", Desc: true, After: f.After, Limit: f.Limit}
	switch {
	case by.Role == domain.RoleFarmer:
		q = domain.Query{Index: "references_owner", Eq: []any{string(by.IIN)}, Desc: true, After: f.After, Limit: f.Limit}
	case f.Review:
		q.Index, q.Eq = "references_review", []any{true}
	case f.Late:
		q.Index, q.Eq = "references_late", []any{true}
	}
	if by.Role.IsStaff() {
		q.From, q.To = domain.TerritoryRange(by.Territory)
	}
	all, next, err := domain.ListEntities[Reference](ctx, rf.Store, ReferencesSpec.Name, q)
	if err != nil {
		return nil, "", err
	}
	out := all[:0]
	for _, r := range all {
		if by.CanSeeOwned(r.Territory, r.OwnerIIN) && (!f.Late || r.Late) && (!f.Review || r.ReviewOpen) {
			out = append(out, r)
		}
	}
	return out, next, nil
}

// CloseReview records a supervisor's review of a reference issued offline: staff whose territory
// covers the holding's, or an admin. The flag and the revoked paper stay; only the queue entry
// closes. If the animals may move after all, the supervisor issues a new reference.
func (rf *References) CloseReview(ctx context.Context, by domain.Principal, id, note string) (*Reference, error) {
	if !by.Role.IsStaff() && by.Role != domain.RoleAdmin {
		return nil, domain.Errorf(domain.EFORBIDDEN, "references are reviewed by the district's staff")
	}
	note, err := domain.TrimmedLines(note, "note", MaxExamNote, false)
	if err != nil {
		return nil, err
	}
	r, err := rf.Get(ctx, by, id)
	if err != nil {
		return nil, err
	}
	if !r.ReviewRequired {
		return nil, domain.Errorf(domain.EPRECONDITION, "the reference does not wait for review")
	}
	if by.UserID == r.IssuedBy {
		return nil, domain.Errorf(domain.EFORBIDDEN, "a reference is reviewed by someone other than the vet who issued it")
	}
	now := rf.Now().UTC()
	return rf.change(ctx, id, func(x *Reference) bool {
		if !x.ReviewOpen {
			return false
		}
		x.ReviewOpen, x.ReviewedAt, x.ReviewedBy, x.ReviewNote = false, &now, by.UserID, strings.TrimSpace(note)
		return true
	})
}
