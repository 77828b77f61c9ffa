package identification

import (
	"context"
	"math"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// HoldingKind is what sort of place keeps the animals.
type HoldingKind string

// The kinds of holdings: a farm (a peasant or agricultural enterprise), a household yard (личное
// подсобное хозяйство, where most of Kazakhstan's livestock lives) and a feedlot.
const (
	HoldingFarm    HoldingKind = "farm"
	HoldingYard    HoldingKind = "yard"
	HoldingFeedlot HoldingKind = "feedlot"
)

// Valid reports whether k is a known kind.
func (k HoldingKind) Valid() bool { return k == HoldingFarm || k == HoldingYard || k == HoldingFeedlot }

// GPS is a point in decimal degrees (WGS 84), stored as plain numbers so that every store can
// keep it without geospatial indexes.
type GPS struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// The box GPS points must fall in: Kazakhstan with a margin. A world-wide check would let through
// the commonest tablet mistake, latitude and longitude swapped (43, 71 ↔ 71, 43).
const (
	minLat, maxLat = 40.0, 56.0
	minLon, maxLon = 46.0, 88.0
)

// Holding is a place where an owner keeps animals. Its territory decides which staff see it and
// its animals; its owner, identified by IIN or BIN, sees it as a farmer.
type Holding struct {
	domain.Meta
	Kind      HoldingKind `json:"kind"`
	Name      string      `json:"name"`
	OwnerIIN  domain.IIN  `json:"owner_iin"`
	OwnerName string      `json:"owner_name"`
	Address   string      `json:"address"`
	Territory domain.Kato `json:"territory"`
	GPS       *GPS        `json:"gps,omitempty"`
	CreatedAt time.Time   `json:"created_at"`
	CreatedBy string      `json:"created_by"`
}

// HoldingsSpec declares the holdings. Synced: tablets of the territory and the owner's phone need
// them offline.
var HoldingsSpec = domain.CollectionSpec{
	Name:   "holdings",
	Synced: true,
	Indexes: []domain.Index{
		{Name: "holdings_owner", Fields: []string{"owner_iin"}},
		// An owner's holdings within a territory: staff asking by owner read only their own
		// territory's, so not even a cursor tells them of holdings elsewhere.
		{Name: "holdings_owner_territory", Fields: []string{"owner_iin", "territory"}},
		{Name: "holdings_territory", Fields: []string{"territory"}},
	},
}

func (h *Holding) scope() []string { return domain.OwnedScope(h.Territory, h.OwnerIIN) }

// VisibleTo reports whether p may read h: staff of its territory, its owner, admins.
func (h *Holding) VisibleTo(p domain.Principal) bool { return p.CanSeeOwned(h.Territory, h.OwnerIIN) }

// Limits of a holding's texts.
const (
	MaxHoldingName = 200
	MaxOwnerName   = 200
	MaxAddress     = 300
)

// NewHolding is what staff give to register a holding.
type NewHolding struct {
	// ID is client-generated (a UUID), so a retry answers the holding the first attempt made.
	// Empty means a server id and no idempotency.
	ID        string
	Kind      HoldingKind
	Name      string
	OwnerIIN  string
	OwnerName string
	Address   string
	Territory string
	// Lat and Lon are both given or both nil.
	Lat, Lon *float64
}

// Holdings registers and finds holdings.
type Holdings struct {
	Store domain.Store
	Now   domain.Clock
}

// Create registers a holding within the caller's territory. Fields are checked in the order of the
// API's body; nothing is written when one is wrong.
func (hs *Holdings) Create(ctx context.Context, by domain.Principal, in NewHolding) (*Holding, error) {
	h := &Holding{Kind: in.Kind, CreatedAt: hs.Now().UTC(), CreatedBy: by.UserID}
	var err error
	if in.ID == "" {
		h.ID = domain.NewID()
	} else if h.ID, err = domain.ParseClientID(in.ID, "id"); err != nil {
		return nil, err
	}
	if !h.Kind.Valid() {
		return nil, domain.Invalid("kind", "a holding is a farm, a yard or a feedlot")
	}
	if h.Name, err = domain.TrimmedText(in.Name, "name", MaxHoldingName, false); err != nil {
		return nil, err
	}
	if h.OwnerIIN, err = domain.ParseIIN(in.OwnerIIN); err != nil {
		return nil, domain.AtField("owner_iin", err)
	}
	if h.OwnerName, err = domain.TrimmedText(in.OwnerName, "owner_name", MaxOwnerName, false); err != nil {
		return nil, err
	}
	if h.Address, err = domain.TrimmedText(in.Address, "address", MaxAddress, false); err != nil {
		return nil, err
	}
	if h.Territory, err = domain.ParseKato(in.Territory); err != nil {
		return nil, domain.AtField("territory", err)
	}
	if !by.CanSeeTerritory(h.Territory) {
		return nil, domain.Invalid("territory", "the holding is outside your territory %s", by.Territory)
	}
	if h.GPS, err = parseGPS(in.Lat, in.Lon); err != nil {
		return nil, err
	}
	if err := domain.InsertEntity(ctx, hs.Store, HoldingsSpec.Name, h, h.scope()); err != nil {
		if !domain.IsCode(err, domain.ECONFLICT) || in.ID == "" {
			return nil, err
		}
		// A retry: answer what the first attempt stored if it is the same holding.
		old, gerr := domain.GetEntity[Holding](ctx, hs.Store, HoldingsSpec.Name, h.ID)
		if gerr != nil {
			return nil, gerr
		}
		if old.OwnerIIN != h.OwnerIIN || old.Territory != h.Territory || old.Name != h.Name || !old.VisibleTo(by) {
			return nil, &domain.Error{Code: domain.ECONFLICT, Field: "id", Message: "this id names another holding; generate a new one"}
		}
		return old, nil
	}
	return h, nil
}

func parseGPS(lat, lon *float64) (*GPS, error) {
	switch {
	case lat == nil && lon == nil:
		return nil, nil
	case lat == nil || lon == nil:
		return nil, domain.Invalid("gps", "give both lat and lon, or neither")
	case math.IsNaN(*lat) || *lat < minLat || *lat > maxLat:
		return nil, domain.Invalid("gps.lat", "latitude %.5f is outside Kazakhstan (%.0f to %.0f): are lat and lon swapped?", *lat, minLat, maxLat)
	case math.IsNaN(*lon) || *lon < minLon || *lon > maxLon:
		return nil, domain.Invalid("gps.lon", "longitude %.5f is outside Kazakhstan (%.0f to %.0f): are lat and lon swapped?", *lon, minLon, maxLon)
	}
	return &GPS{Lat: *lat, Lon: *lon}, nil
}

// Get returns the holding with id if by may see it; otherwise ENOTFOUND, so its existence does not
// leak to another district.
func (hs *Holdings) Get(ctx context.Context, by domain.Principal, id string) (*Holding, error) {
	h, err := domain.GetEntity[Holding](ctx, hs.Store, HoldingsSpec.Name, id)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !h.VisibleTo(by)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such holding")
	}
	return h, err
}

// HoldingFilter selects holdings to list.
type HoldingFilter struct {
	// OwnerIIN, when set, lists one owner's holdings.
	OwnerIIN string
	After    string
	Limit    int
}

// List pages through the holdings by sees: a farmer's own, the holdings in a staff member's
// territory (ordered by territory code), everything for an admin; optionally of one owner.
func (hs *Holdings) List(ctx context.Context, by domain.Principal, f HoldingFilter) ([]*Holding, string, error) {
	q := domain.Query{Index: "holdings_territory", After: f.After, Limit: f.Limit}
	owner := domain.IIN("")
	if f.OwnerIIN != "" {
		n, err := domain.ParseIIN(f.OwnerIIN)
		if err != nil {
			return nil, "", domain.AtField("owner", err)
		}
		owner = n
	}
	switch {
	case by.Role == domain.RoleFarmer:
		if owner != "" && owner != by.IIN {
			return []*Holding{}, "", nil
		}
		q = domain.Query{Index: "holdings_owner", Eq: []any{string(by.IIN)}, After: f.After, Limit: f.Limit}
	case owner != "":
		q = domain.Query{Index: "holdings_owner_territory", Eq: []any{string(owner)}, After: f.After, Limit: f.Limit}
		q.From, q.To = domain.TerritoryRange(by.Territory)
	case by.Role.IsStaff():
		q.From, q.To = domain.TerritoryRange(by.Territory)
	}
	hs2, next, err := domain.ListEntities[Holding](ctx, hs.Store, HoldingsSpec.Name, q)
	if err != nil {
		return nil, "", err
	}
	out := hs2[:0]
	for _, h := range hs2 {
		// One owner's holdings may lie in several districts; staff see theirs only.
		if h.VisibleTo(by) {
			out = append(out, h)
		}
	}
	return out, next, nil
}
