package domain

// Role is what a user does in the service; it decides which routes they may call.
type Role string

// The roles. Staff (vets and inspectors) work within a territory; farmers see only what is theirs,
// found by their IIN or BIN; admins manage accounts and reference data.
const (
	RoleAdmin     Role = "admin"
	RoleVet       Role = "vet"
	RoleInspector Role = "inspector"
	RoleFarmer    Role = "farmer"
)

// Roles lists every role, for validation and documentation.
var Roles = []Role{RoleAdmin, RoleVet, RoleInspector, RoleFarmer}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// IsStaff reports whether r works within a territory.
func (r Role) IsStaff() bool { return r == RoleVet || r == RoleInspector }

// Principal is the authenticated caller of a request, as the current account says, not as an
// old token claimed.
type Principal struct {
	UserID    string
	Username  string
	Role      Role
	Territory Kato
	IIN       IIN
}

// CanSeeTerritory reports whether p's work covers territory t. Admins see everything; staff
// see their territory and everything beneath it; farmers see no territory as such (their access
// goes by ownership).
func (p Principal) CanSeeTerritory(t Kato) bool {
	switch p.Role {
	case RoleAdmin:
		return true
	case RoleVet, RoleInspector:
		return p.Territory != "" && p.Territory.Covers(t)
	}
	return false
}

// CanSeeOwned reports whether p may see a thing in territory t owned by owner: farmers their own,
// staff their territory, admins everything.
func (p Principal) CanSeeOwned(t Kato, owner IIN) bool {
	if p.Role == RoleFarmer {
		return p.IIN != "" && p.IIN == owner
	}
	return p.CanSeeTerritory(t)
}
