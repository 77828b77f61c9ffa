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
	// RoleHead is the head of a veterinary department ("басшы"), of a district or of an oblast as
	// the territory says: assigns executors and signs results of the state services.
	RoleHead Role = "head"
	// RoleOblastDept is a specialist of the oblast inspection department, which registers requests
	// for registration numbers and assigns them; the territory is an oblast.
	RoleOblastDept Role = "oblast_inspection"
	// RoleSanitaryInspector is a state veterinary-sanitary inspector, who issues veterinary
	// certificates for moved objects.
	RoleSanitaryInspector Role = "sanitary_inspector"
	// RoleLaboratory is a testing laboratory or research institution that a state service sends
	// cases to (the registration tests of feed and veterinary drugs, their expertise): it has no
	// territory and sees only the cases sent to it (cases.Case.Laboratories).
	RoleLaboratory Role = "laboratory"
)

// Roles lists every role, for validation and documentation.
var Roles = []Role{RoleAdmin, RoleVet, RoleInspector, RoleFarmer, RoleHead, RoleOblastDept, RoleSanitaryInspector, RoleLaboratory}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// IsStaff reports whether r is a vet or inspector of the field: the executors of the services.
func (r Role) IsStaff() bool { return r == RoleVet || r == RoleInspector }

// IsTerritorial reports whether r works within a territory: the field staff and the roles the
// state services name (heads, the oblast inspection department, veterinary-sanitary inspectors).
func (r Role) IsTerritorial() bool {
	return r.IsStaff() || r == RoleHead || r == RoleOblastDept || r == RoleSanitaryInspector
}

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
	case RoleVet, RoleInspector, RoleHead, RoleOblastDept, RoleSanitaryInspector:
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
