package vetcert

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/cases"
	"github.com/vetfield/vetfield/domain/documents"
)

// Certificate is the record of a certificate issued, which tablets receive: cases are office work
// and are not synced, and the certificate's paper (a document, synced by its subject's scope) says
// neither which movement closes it nor whether it waits for the district's review. Its id is the
// case's. It is written with the paper, in the inspection step's unit of work.
type Certificate struct {
	domain.Meta
	CaseNumber           string      `json:"case_number"`
	Territory            domain.Kato `json:"territory"`
	OwnerIIN             domain.IIN  `json:"owner_iin"`
	Consignment          string      `json:"consignment"`
	Export               bool        `json:"export,omitempty"`
	Country              string      `json:"country,omitempty"`
	DestinationTerritory string      `json:"destination_territory,omitempty"`
	ReferenceIDs         []string    `json:"reference_ids,omitempty"`
	ObjectID             string      `json:"object_id,omitempty"`
	// MovementID is the movement the certificate covers: once it is received (the movement is
	// synced to the same tablets) the certificate is closed.
	MovementID     string    `json:"movement_id,omitempty"`
	DocumentID     string    `json:"document_id"`
	DocumentNumber string    `json:"document_number"`
	IssuedAt       time.Time `json:"issued_at"`
	IssuedBy       string    `json:"issued_by"`
	IssuedByName   string    `json:"issued_by_name"`
	// Offline: issued on a tablet offline at IssuedAt (its clock), synced at SyncedAt.
	Offline  bool       `json:"offline,omitempty"`
	SyncedAt *time.Time `json:"synced_at,omitempty"`
	// ReviewRequired marks a certificate a tablet issued offline that the server's checks, at the
	// tablet's time or at sync, would have refused: its paper was issued already revoked with the
	// grounds, and it waits in the district's review queue until its staff close it.
	ReviewRequired bool       `json:"review_required,omitempty"`
	ReviewOpen     bool       `json:"review_open"`
	Grounds        []string   `json:"grounds"`
	ReviewedAt     *time.Time `json:"reviewed_at,omitempty"`
	ReviewedBy     string     `json:"reviewed_by,omitempty"`
	ReviewNote     string     `json:"review_note,omitempty"`
	IssuedAtMS     int64      `json:"issued_at_ms"`
}

// CertificatesSpec declares the certificates. Synced to the staff of the territory the
// consignment leaves from and to the applicant, as the paper is.
var CertificatesSpec = domain.CollectionSpec{
	Name:   "certificates",
	Synced: true,
	Indexes: []domain.Index{
		{Name: "certificates_territory", Fields: []string{"territory", "issued_at_ms"}},
		{Name: "certificates_owner", Fields: []string{"owner_iin", "issued_at_ms"}},
		{Name: "certificates_review", Fields: []string{"review_open", "territory", "issued_at_ms"}},
	},
}

// Specs are the collections of the package.
var Specs = []domain.CollectionSpec{CertificatesSpec}

func (c *Certificate) scope() []string { return domain.OwnedScope(c.Territory, c.OwnerIIN) }

// writeCertificate adds the record of the certificate doc issued in run r to its unit of work,
// unless an earlier attempt cut short stored it already.
func (s *Service) writeCertificate(ctx context.Context, r *cases.Run, app Application, in Inspection, doc *documents.Document, grounds []string) error {
	if _, err := s.loadCertificate(ctx, r.Case.ID); err == nil {
		return nil
	} else if !domain.IsCode(err, domain.ENOTFOUND) {
		return err
	}
	c := &Certificate{Meta: domain.Meta{ID: r.Case.ID}, CaseNumber: r.Case.Registration.Number, Territory: r.Case.Territory,
		OwnerIIN: r.Case.Applicant.IIN, Consignment: app.Consignment, Export: app.Export, Country: app.Country,
		DestinationTerritory: app.DestinationTerritory, ReferenceIDs: app.ReferenceIDs, ObjectID: app.ObjectID,
		MovementID: in.MovementID, DocumentID: doc.ID, DocumentNumber: doc.Number, IssuedAt: r.Now.UTC(),
		IssuedBy: r.Principal.UserID, IssuedByName: r.ActorName, Offline: !r.SyncedAt.IsZero(), Grounds: grounds,
		IssuedAtMS: r.Now.UnixMilli()}
	if c.Grounds == nil {
		c.Grounds = []string{}
	}
	if c.Offline {
		synced := r.SyncedAt.UTC()
		c.SyncedAt = &synced
		c.ReviewRequired, c.ReviewOpen = len(grounds) > 0, len(grounds) > 0
	}
	return domain.WriteInsert(r.Writes, CertificatesSpec.Name, c, c.scope())
}

// revokeReason is what one scanning a certificate issued offline against the situation reads:
// the grounds come last, so a long list is what gets cut to the paper's limit.
func revokeReason(at time.Time, grounds []string) string {
	t := at.In(domain.Almaty).Format("02.01.2006 15:04")
	gs := make([]string, 0, len(grounds))
	for _, g := range grounds {
		gs = append(gs, strings.TrimRight(strings.TrimSpace(g), "."))
	}
	s := fmt.Sprintf("Сертификат байланыссыз берілген (%s), тексеруден өтпеді, аудандық ветеринариялық қызмет қарайды. / "+
		"Сертификат выдан без связи (%s), не прошёл проверку и передан на рассмотрение районной ветслужбы: %s.", t, t, strings.Join(gs, "; "))
	if utf8.RuneCountInString(s) > documents.MaxRevokeReason {
		s = string([]rune(s)[:documents.MaxRevokeReason-1]) + "…"
	}
	return s
}

func (s *Service) loadCertificate(ctx context.Context, id string) (*Certificate, error) {
	return domain.GetEntity[Certificate](ctx, s.Store, CertificatesSpec.Name, id)
}

// GetCertificate returns the certificate with id (its case's) if p may see it: staff of the
// territory, the applicant, admins; otherwise ENOTFOUND.
func (s *Service) GetCertificate(ctx context.Context, p domain.Principal, id string) (*Certificate, error) {
	c, err := s.loadCertificate(ctx, id)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !p.CanSeeOwned(c.Territory, c.OwnerIIN)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such certificate")
	}
	return c, err
}

// Filter selects certificates to list.
type Filter struct {
	// Review lists only those issued offline that wait for the district's review.
	Review bool
	After  string
	Limit  int
}

// ListCertificates pages through the certificates p may see, newest first: an applicant their
// own, staff their territory's.
func (s *Service) ListCertificates(ctx context.Context, p domain.Principal, f Filter) ([]*Certificate, string, error) {
	q := domain.Query{Index: "certificates_territory", Desc: true, After: f.After, Limit: f.Limit}
	switch {
	case p.Role == domain.RoleFarmer:
		q = domain.Query{Index: "certificates_owner", Eq: []any{string(p.IIN)}, Desc: true, After: f.After, Limit: f.Limit}
	case f.Review:
		q.Index, q.Eq = "certificates_review", []any{true}
	}
	if p.Role.IsTerritorial() {
		q.From, q.To = domain.TerritoryRange(p.Territory)
	}
	all, next, err := domain.ListEntities[Certificate](ctx, s.Store, CertificatesSpec.Name, q)
	if err != nil {
		return nil, "", err
	}
	out := all[:0]
	for _, c := range all {
		if p.CanSeeOwned(c.Territory, c.OwnerIIN) && (!f.Review || c.ReviewOpen) {
			out = append(out, c)
		}
	}
	return out, next, nil
}

// MaxReviewNote bounds a review's note.
const MaxReviewNote = 2000

// CloseReview records the district's review of a certificate issued offline: staff whose
// territory covers the consignment's origin, or an admin, other than its issuer. The flag and the
// revoked paper stay; only the queue entry closes. If the consignment may move after all, the
// inspector issues a new certificate.
func (s *Service) CloseReview(ctx context.Context, p domain.Principal, id, note string) (*Certificate, error) {
	if !p.Role.IsTerritorial() && p.Role != domain.RoleAdmin {
		return nil, domain.Errorf(domain.EFORBIDDEN, "certificates are reviewed by the district's staff")
	}
	note, err := domain.TrimmedLines(note, "note", MaxReviewNote, false)
	if err != nil {
		return nil, err
	}
	c, err := s.GetCertificate(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !c.ReviewRequired {
		return nil, domain.Errorf(domain.EPRECONDITION, "the certificate does not wait for review")
	}
	if p.UserID == c.IssuedBy {
		return nil, domain.Errorf(domain.EFORBIDDEN, "a certificate is reviewed by someone other than the inspector who issued it")
	}
	now := s.Cases.Now().UTC()
	err = domain.RetryCAS(ctx, func() error {
		var err error
		if c, err = s.loadCertificate(ctx, id); err != nil || !c.ReviewOpen {
			return err
		}
		c.ReviewOpen, c.ReviewedAt, c.ReviewedBy, c.ReviewNote = false, &now, p.UserID, note
		return domain.UpdateEntity(ctx, s.Store, CertificatesSpec.Name, c, c.scope())
	}, "the certificate is changing concurrently; try again")
	if err != nil {
		return nil, err
	}
	return c, nil
}
