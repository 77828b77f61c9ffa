package inspection

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vetfield/vetfield/domain"
)

// ObjectKind is what a production object does, as the regulations list the objects of state
// veterinary-sanitary control.
type ObjectKind string

// The kinds of production objects.
const (
	KindFarm         ObjectKind = "farm"
	KindFeedlot      ObjectKind = "feedlot"
	KindSlaughter    ObjectKind = "slaughter_site"
	KindProcessing   ObjectKind = "processing_plant"
	KindStorage      ObjectKind = "storage"
	KindMarket       ObjectKind = "market"
	KindPharmacy     ObjectKind = "vet_pharmacy"
	KindFeedProducer ObjectKind = "feed_producer"
)

// ObjectKinds lists every kind, for validation and documentation.
var ObjectKinds = []ObjectKind{KindFarm, KindFeedlot, KindSlaughter, KindProcessing, KindStorage, KindMarket,
	KindPharmacy, KindFeedProducer}

// Valid reports whether k is one of ObjectKinds.
func (k ObjectKind) Valid() bool {
	for _, x := range ObjectKinds {
		if k == x {
			return true
		}
	}
	return false
}

// ProductionObject is a place under state veterinary-sanitary control: a farm, a slaughter site, a
// market. Inspections and conclusions are about it; its registration (account) number is given by
// the oblast department (service 3) and recorded here once assigned.
type ProductionObject struct {
	domain.Meta
	Kind      ObjectKind       `json:"kind"`
	Name      string           `json:"name"`
	OwnerIIN  domain.IIN       `json:"owner_iin"`
	OwnerName string           `json:"owner_name,omitempty"`
	Address   string           `json:"address"`
	Territory domain.Kato      `json:"territory"`
	Location  *domain.GeoPoint `json:"location,omitempty"`
	RegNumber string           `json:"reg_number,omitempty"`
	CreatedBy string           `json:"created_by"`
	CreatedAt time.Time        `json:"created_at"`
	UpdatedAt time.Time        `json:"updated_at"`

	// Indexed copies: index fields must be top-level scalars present in every record.
	domain.AreaKeys
	NameKey string `json:"name_key"`
	// RegKey is the registration number, or "-" and the id while none is assigned, so the unique
	// index holds a value for every object and still refuses a number given twice.
	RegKey string `json:"reg_key"`
}

// ObjectsSpec declares the register of production objects. Objects reach tablets through sync.
var ObjectsSpec = domain.CollectionSpec{
	Name:   "production_objects",
	Synced: true,
	Indexes: []domain.Index{
		{Name: "objects_reg", Fields: []string{"reg_key"}, Unique: true},
		{Name: "objects_all", Fields: []string{"name_key"}},
		{Name: "objects_oblast", Fields: []string{"oblast", "name_key"}},
		{Name: "objects_district", Fields: []string{"district", "name_key"}},
		{Name: "objects_owner", Fields: []string{"owner_iin", "name_key"}},
		// One owner's objects within an oblast or a district, so a staff member's list by owner
		// reads only their own territory: not another district's objects, nor a cursor past them.
		{Name: "objects_owner_oblast", Fields: []string{"owner_iin", "oblast", "name_key"}},
		{Name: "objects_owner_district", Fields: []string{"owner_iin", "district", "name_key"}},
	},
}

// scope is who sees an object through sync: staff of its territory and its owner.
func (o *ProductionObject) scope() []string {
	return []string{domain.ScopeTerritory(o.Territory), domain.ScopeOwner(o.OwnerIIN)}
}

// VisibleTo reports whether p may read o: staff whose territory covers it, admins, its owner.
func (o *ProductionObject) VisibleTo(p domain.Principal) bool {
	return p.CanSeeOwned(o.Territory, o.OwnerIIN)
}

// Limits of an object's text fields.
const (
	MaxObjectName    = 300
	MaxObjectAddress = 500
)

// regNumberPattern is deliberately loose: numbers have been issued in several formats over the
// years ("31-01-0023-Ж", "KZ.31.01.023"); what matters is that one number names one object.
var regNumberPattern = regexp.MustCompile(`^[\p{L}0-9][\p{L}0-9./ -]{0,38}[\p{L}0-9]$`)

// NewObject is what staff give to register an object.
type NewObject struct {
	// ID, when set (a UUID made by the tablet), makes the call idempotent: a retry answers the
	// object the first attempt registered.
	ID        string
	Kind      ObjectKind
	Name      string
	OwnerIIN  string
	OwnerName string
	Address   string
	Territory string
	Location  *domain.GeoPoint
	RegNumber string
}

// ObjectRegister keeps the register of production objects.
type ObjectRegister struct {
	Store domain.Store
	Now   domain.Clock
}

// Create registers an object. Staff register objects within their own territory; admins anywhere.
// It answers created = false when ID names an object that already exists (a retried request).
func (r *ObjectRegister) Create(ctx context.Context, p domain.Principal, in NewObject) (o *ProductionObject, created bool, err error) {
	if in.ID != "" {
		if !isCanonicalUUID(in.ID) {
			return nil, false, domain.Invalid("id", "an id made by the client is a UUID")
		}
		if old, err := r.Get(ctx, p, in.ID); err == nil {
			return old, false, nil
		} else if !domain.IsCode(err, domain.ENOTFOUND) {
			return nil, false, err
		}
	}
	o, err = r.build(p, in)
	if err != nil {
		return nil, false, err
	}
	if err := domain.InsertEntity(ctx, r.Store, ObjectsSpec.Name, o, o.scope()); err != nil {
		var de *domain.Error
		if errors.As(err, &de) && de.Code == domain.ECONFLICT {
			if de.Key == "objects_reg" {
				return nil, false, &domain.Error{Code: domain.ECONFLICT, Field: "reg_number",
					Message: "registration number " + o.RegNumber + " is already recorded for another object"}
			}
			if in.ID != "" { // a concurrent retry won the race
				old, gerr := r.Get(ctx, p, in.ID)
				return old, false, gerr
			}
		}
		return nil, false, err
	}
	return o, true, nil
}

// build parses and validates what the caller gave.
func (r *ObjectRegister) build(p domain.Principal, in NewObject) (*ProductionObject, error) {
	now := r.Now().UTC()
	o := &ProductionObject{Meta: domain.Meta{ID: in.ID}, Kind: in.Kind, CreatedBy: p.UserID, CreatedAt: now, UpdatedAt: now,
		Name: strings.TrimSpace(in.Name), OwnerName: strings.TrimSpace(in.OwnerName), Address: strings.TrimSpace(in.Address),
		Location: in.Location, RegNumber: strings.TrimSpace(in.RegNumber)}
	if o.ID == "" {
		o.ID = domain.NewID()
	}
	if !o.Kind.Valid() {
		return nil, domain.Invalid("kind", "kind is one of farm, feedlot, slaughter_site, processing_plant, storage, market, vet_pharmacy, feed_producer")
	}
	if n := utf8.RuneCountInString(o.Name); n == 0 || n > MaxObjectName {
		return nil, domain.Invalid("name", "a name has 1 to %d characters", MaxObjectName)
	}
	if n := utf8.RuneCountInString(o.Address); n == 0 || n > MaxObjectAddress {
		return nil, domain.Invalid("address", "an address has 1 to %d characters", MaxObjectAddress)
	}
	if utf8.RuneCountInString(o.OwnerName) > MaxObjectName {
		return nil, domain.Invalid("owner_name", "an owner's name has at most %d characters", MaxObjectName)
	}
	owner, err := domain.ParseIIN(in.OwnerIIN)
	if err != nil {
		return nil, domain.Invalid("owner_iin", "%s", err.(*domain.Error).Message)
	}
	o.OwnerIIN = owner
	t, err := domain.ParseKato(in.Territory)
	if err != nil {
		return nil, domain.Invalid("territory", "%s", err.(*domain.Error).Message)
	}
	o.Territory = t
	if o.Location != nil {
		if err := o.Location.Validate("location"); err != nil {
			return nil, err
		}
	}
	if o.RegNumber != "" && !regNumberPattern.MatchString(o.RegNumber) {
		return nil, domain.Invalid("reg_number", "a registration number has 2 to 40 letters, digits, '.', '/', '-' or spaces")
	}
	switch {
	case p.Role == domain.RoleAdmin:
	case p.Role.IsStaff() && p.CanSeeTerritory(t):
	case p.Role.IsStaff():
		return nil, &domain.Error{Code: domain.EFORBIDDEN, Field: "territory", Message: "you register objects within your own territory (" + string(p.Territory) + ")"}
	default:
		return nil, domain.Errorf(domain.EFORBIDDEN, "only staff register production objects")
	}
	o.AreaKeys = domain.AreaOf(t)
	o.NameKey = strings.ToLower(o.Name)
	o.RegKey = o.RegNumber
	if o.RegKey == "" {
		o.RegKey = "-" + o.ID
	}
	return o, nil
}

// Get returns the object with id if p may see it; otherwise ENOTFOUND, so its existence does not leak.
func (r *ObjectRegister) Get(ctx context.Context, p domain.Principal, id string) (*ProductionObject, error) {
	o, err := domain.GetEntity[ProductionObject](ctx, r.Store, ObjectsSpec.Name, id)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !o.VisibleTo(p)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such production object")
	}
	return o, err
}

// ObjectFilter selects objects to list. The empty filter lists everything the caller may see.
type ObjectFilter struct {
	// Territory narrows the list to a territory (within the caller's own).
	Territory domain.Kato
	// Owner lists one owner's objects.
	Owner domain.IIN
	Kind  ObjectKind
	After string
	Limit int
}

// List pages through the objects p may see, by name. The query itself is scoped to what p may
// see (a farmer's own objects, a staff member's oblast or district), so neither a page nor its
// cursor counts anyone else's. A page may hold fewer than Limit objects when some were filtered
// out (by kind, or below a district: the sibling units of the caller's own district); Next says
// whether more follow.
func (r *ObjectRegister) List(ctx context.Context, p domain.Principal, f ObjectFilter) ([]*ProductionObject, string, error) {
	var q domain.Query
	territory := domain.Kato("")
	switch {
	case p.Role == domain.RoleFarmer:
		if f.Owner != "" && f.Owner != p.IIN {
			return []*ProductionObject{}, "", nil
		}
		q = domain.Query{Index: "objects_owner", Eq: []any{string(p.IIN)}}
	case f.Owner != "":
		territory = p.Territory
		if p.Role == domain.RoleAdmin {
			territory = ""
		}
		if t, ok := domain.Narrowest(territory, f.Territory); ok {
			territory = t
		} else {
			return []*ProductionObject{}, "", nil
		}
		suffix, eq := domain.AreaQuery(territory)
		q = domain.Query{Index: "objects_owner", Eq: []any{string(f.Owner)}}
		if suffix != "all" {
			q = domain.Query{Index: "objects_owner_" + suffix, Eq: append([]any{string(f.Owner)}, eq...)}
		}
	default:
		if p.Role != domain.RoleAdmin {
			territory = p.Territory
		}
		t, ok := domain.Narrowest(territory, f.Territory)
		if !ok {
			return []*ProductionObject{}, "", nil
		}
		territory = t
		suffix, eq := domain.AreaQuery(territory)
		q = domain.Query{Index: "objects_" + suffix, Eq: eq}
	}
	q.After, q.Limit = f.After, f.Limit
	objs, next, err := domain.ListEntities[ProductionObject](ctx, r.Store, ObjectsSpec.Name, q)
	if err != nil {
		return nil, "", err
	}
	out := objs[:0]
	for _, o := range objs {
		if o.VisibleTo(p) && territory.Covers(o.Territory) && (f.Kind == "" || o.Kind == f.Kind) {
			out = append(out, o)
		}
	}
	return out, next, nil
}

// isCanonicalUUID reports whether s is a UUID in its canonical lower-case form, as clients make ids.
func isCanonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// Registration is what the registration-number service (domain/regnumber) records on an object:
// the number the oblast assigned and, on a re-issue, the object's new name or owner.
type Registration struct {
	RegNumber string
	Name      string
	OwnerIIN  domain.IIN
	OwnerName string
	At        time.Time
}

// WriteRegistration adds to w the update of o that records reg, for a service that stores it in
// its own unit of work. Nothing is written when o already holds exactly that.
func (r *ObjectRegister) WriteRegistration(w *domain.Writes, o *ProductionObject, reg Registration) error {
	if reg.Name == "" {
		reg.Name = o.Name
	}
	if reg.OwnerIIN == "" {
		reg.OwnerIIN, reg.OwnerName = o.OwnerIIN, o.OwnerName
	}
	if o.RegNumber == reg.RegNumber && o.Name == reg.Name && o.OwnerIIN == reg.OwnerIIN && o.OwnerName == reg.OwnerName {
		return nil
	}
	o.RegNumber, o.Name, o.OwnerIIN, o.OwnerName, o.UpdatedAt = reg.RegNumber, reg.Name, reg.OwnerIIN, reg.OwnerName, reg.At.UTC()
	o.NameKey, o.RegKey = strings.ToLower(o.Name), o.RegNumber
	if o.RegKey == "" {
		o.RegKey = "-" + o.ID
	}
	return domain.WriteUpdate(w, ObjectsSpec.Name, o, o.scope())
}
