package regnumber

import (
	"context"
	"strings"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/inspection"
)

// Entry is one event of an object's registration: the number issued, re-issued on a change of
// name or legal form, or confirmed for a slaughter site, with the case and the confirmation.
type Entry struct {
	At             time.Time  `json:"at"`
	Event          string     `json:"event"`
	CaseID         string     `json:"case_id"`
	CaseNumber     string     `json:"case_number"`
	Number         string     `json:"number"`
	Name           string     `json:"name"`
	OwnerIIN       domain.IIN `json:"owner_iin"`
	LegalForm      string     `json:"legal_form,omitempty"`
	PreviousName   string     `json:"previous_name,omitempty"`
	PreviousOwner  domain.IIN `json:"previous_owner,omitempty"`
	ConfirmationID string     `json:"confirmation_id"`
	ConfirmationNo string     `json:"confirmation_number"`
}

// RegisteredObject is an object's entry in the register of production objects: its number and the
// history of it. Its id is the object's.
type RegisteredObject struct {
	domain.Meta
	ObjectID       string                `json:"object_id"`
	Number         string                `json:"number"`
	Kind           inspection.ObjectKind `json:"kind"`
	Name           string                `json:"name"`
	OwnerIIN       domain.IIN            `json:"owner_iin"`
	Territory      domain.Kato           `json:"territory"`
	ConfirmationID string                `json:"confirmation_id"`
	ConfirmationNo string                `json:"confirmation_number"`
	History        []Entry               `json:"history"`
	UpdatedAt      time.Time             `json:"updated_at"`

	// Indexed copies.
	domain.AreaKeys
	NameKey string `json:"name_key"`
}

// RegistrationsSpec declares the register of production objects. The unique index on the number
// refuses one number for two objects, whatever the counter did.
var RegistrationsSpec = domain.CollectionSpec{
	Name: "object_registrations",
	Indexes: []domain.Index{
		{Name: "registrations_number", Fields: []string{"number"}, Unique: true},
		{Name: "registrations_all", Fields: []string{"number"}},
		{Name: "registrations_oblast", Fields: []string{"oblast", "number"}},
		{Name: "registrations_district", Fields: []string{"district", "number"}},
		{Name: "registrations_owner", Fields: []string{"owner_iin", "number"}},
	},
}

// Register keeps the register of production objects.
type Register struct {
	Store domain.Store
}

// Get returns the registration of object id, or ENOTFOUND.
func (r *Register) Get(ctx context.Context, objectID string) (*RegisteredObject, error) {
	return domain.GetEntity[RegisteredObject](ctx, r.Store, RegistrationsSpec.Name, objectID)
}

// write adds the insert or update of obj's registration with entry to w; nothing when the entry
// is recorded already (a retry).
func (r *Register) write(w *domain.Writes, cur *RegisteredObject, obj *inspection.ProductionObject, e Entry) error {
	if cur != nil && len(cur.History) > 0 && cur.History[len(cur.History)-1].CaseID == e.CaseID {
		return nil
	}
	reg := cur
	if reg == nil {
		reg = &RegisteredObject{Meta: domain.Meta{ID: obj.ID}, ObjectID: obj.ID, History: []Entry{}}
		if obj.RegNumber != "" && obj.RegNumber != e.Number {
			// A number recorded before the service existed: the history starts with it.
			reg.History = append(reg.History, Entry{Event: "recorded", Number: obj.RegNumber, Name: obj.Name, OwnerIIN: obj.OwnerIIN})
		}
	}
	reg.Number, reg.Kind, reg.Name, reg.OwnerIIN, reg.Territory = e.Number, obj.Kind, e.Name, e.OwnerIIN, obj.Territory
	reg.ConfirmationID, reg.ConfirmationNo, reg.UpdatedAt = e.ConfirmationID, e.ConfirmationNo, e.At
	reg.History = append(reg.History, e)
	reg.AreaKeys, reg.NameKey = domain.AreaOf(obj.Territory), strings.ToLower(e.Name)
	if cur == nil {
		return domain.WriteInsert(w, RegistrationsSpec.Name, reg, nil)
	}
	return domain.WriteUpdate(w, RegistrationsSpec.Name, reg, nil)
}

// Filter selects entries of the register.
type Filter struct {
	Territory domain.Kato
	Kind      inspection.ObjectKind
	Owner     domain.IIN
	// Number finds one number.
	Number string
	After  string
	Limit  int
}

// List pages through the register p may see, by number: staff their territory (scoped in the
// query), an owner their own objects. A page may hold fewer than Limit when filtered by kind.
func (r *Register) List(ctx context.Context, p domain.Principal, f Filter) ([]*RegisteredObject, string, error) {
	own := p.Territory
	if p.Role == domain.RoleAdmin || p.Role == domain.RoleFarmer {
		own = ""
	}
	territory, ok := domain.Narrowest(own, f.Territory)
	if !ok {
		return []*RegisteredObject{}, "", nil
	}
	var q domain.Query
	switch {
	case p.Role == domain.RoleFarmer:
		q = domain.Query{Index: "registrations_owner", Eq: []any{string(p.IIN)}}
	case f.Owner != "":
		q = domain.Query{Index: "registrations_owner", Eq: []any{string(f.Owner)}}
	default:
		suffix, eq := domain.AreaQuery(territory)
		q = domain.Query{Index: "registrations_" + suffix, Eq: eq}
	}
	if f.Number != "" {
		q.From, q.To = f.Number, f.Number+"\x00"
	}
	q.After, q.Limit = f.After, f.Limit
	list, next, err := domain.ListEntities[RegisteredObject](ctx, r.Store, RegistrationsSpec.Name, q)
	if err != nil {
		return nil, "", err
	}
	out := list[:0]
	for _, reg := range list {
		if p.CanSeeOwned(reg.Territory, reg.OwnerIIN) && territory.Covers(reg.Territory) && (f.Kind == "" || reg.Kind == f.Kind) {
			out = append(out, reg)
		}
	}
	return out, next, nil
}
