package registration

import (
	"context"
	"strings"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/cases"
	"github.com/vetfield/vetfield/domain/registers"
)

// Entry is one event of a product's registration: registered, re-registered on a change or on
// expiry, with the case and the certificate.
type Entry struct {
	At                  time.Time        `json:"at"`
	Event               string           `json:"event"`
	CaseID              string           `json:"case_id"`
	CaseNumber          string           `json:"case_number"`
	Name                string           `json:"name"`
	Manufacturer        string           `json:"manufacturer"`
	Standard            string           `json:"standard,omitempty"`
	PreviousName        string           `json:"previous_name,omitempty"`
	PreviousCertificate string           `json:"previous_certificate,omitempty"`
	Reorganisation      string           `json:"reorganisation,omitempty"`
	CertificateID       string           `json:"certificate_id"`
	CertificateNo       string           `json:"certificate_number"`
	ValidUntil          domain.CivilDate `json:"valid_until"`
}

// Product is an entry of a state register (of feed, of veterinary drugs): the product's
// registration number, its current certificate and the history. What a public page shows of it is
// what the certificate prints: the holder's name, not their IIN.
type Product struct {
	domain.Meta
	Register      string           `json:"register"`
	RegNumber     string           `json:"reg_number"`
	Name          string           `json:"name"`
	Manufacturer  string           `json:"manufacturer"`
	Standard      string           `json:"standard,omitempty"`
	HolderIIN     domain.IIN       `json:"holder_iin"`
	HolderName    string           `json:"holder_name"`
	Territory     domain.Kato      `json:"territory"`
	CertificateID string           `json:"certificate_id"`
	CertificateNo string           `json:"certificate_number"`
	ValidUntil    domain.CivilDate `json:"valid_until"`
	History       []Entry          `json:"history"`
	UpdatedAt     time.Time        `json:"updated_at"`

	// Indexed copies.
	NameKey string `json:"name_key"`
}

// ProductsSpec declares the state registers of feed and of veterinary drugs; the unique index
// refuses one number twice in a register.
var ProductsSpec = domain.CollectionSpec{
	Name: "product_register",
	Indexes: []domain.Index{
		{Name: "products_number", Fields: []string{"register", "reg_number"}, Unique: true},
		{Name: "products_name", Fields: []string{"register", "name_key"}},
	},
}

// Register keeps the state registers of products.
type Register struct {
	Store domain.Store
}

// ProductID is the id of the register's entry for number.
func ProductID(register, number string) string { return domain.DerivedID("product", register, number) }

// ByCertificate returns the entry of number in register, or ENOTFOUND.
func (r *Register) ByCertificate(ctx context.Context, register, number string) (*Product, error) {
	p, err := domain.GetEntity[Product](ctx, r.Store, ProductsSpec.Name, ProductID(register, number))
	if domain.IsCode(err, domain.ENOTFOUND) {
		return nil, domain.Errorf(domain.EPRECONDITION, "the state register has no product %s", number)
	}
	return p, err
}

// write adds the insert or update of number's entry with e to w; nothing when e is recorded
// already (a retry).
func (r *Register) write(ctx context.Context, w *domain.Writes, register, number string, c *cases.Case, e Entry) error {
	cur, err := domain.GetEntity[Product](ctx, r.Store, ProductsSpec.Name, ProductID(register, number))
	if err != nil && !domain.IsCode(err, domain.ENOTFOUND) {
		return err
	}
	if cur != nil && len(cur.History) > 0 && cur.History[len(cur.History)-1].CaseID == e.CaseID {
		return nil
	}
	p := cur
	if p == nil {
		p = &Product{Meta: domain.Meta{ID: ProductID(register, number)}, Register: register, RegNumber: number, History: []Entry{}}
	}
	p.Name, p.Manufacturer, p.Standard = e.Name, e.Manufacturer, e.Standard
	p.HolderIIN, p.HolderName, p.Territory = c.Applicant.IIN, c.Applicant.Name, c.Territory
	p.CertificateID, p.CertificateNo, p.ValidUntil, p.UpdatedAt = e.CertificateID, e.CertificateNo, e.ValidUntil, e.At
	p.History = append(p.History, e)
	p.NameKey = strings.ToLower(e.Name)
	if cur == nil {
		return domain.WriteInsert(w, ProductsSpec.Name, p, nil)
	}
	return domain.WriteUpdate(w, ProductsSpec.Name, p, nil)
}

// List pages through a register by number; q, when given, keeps the entries whose number or name
// contains it (case-insensitive). The register is public.
func (r *Register) List(ctx context.Context, register, q, after string, limit int) ([]*Product, string, error) {
	q = strings.ToLower(strings.TrimSpace(q))
	return registers.Search(ctx, r.Store, ProductsSpec.Name, domain.Query{Index: "products_number", Eq: []any{register}, After: after},
		limit, func(p *Product) bool {
			return q == "" || strings.Contains(p.NameKey, q) || strings.Contains(strings.ToLower(p.RegNumber), q)
		})
}
