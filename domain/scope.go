package domain

// ScopeTerritory and ScopeOwner name the sync scope keys of a territory and of an owner.
func ScopeTerritory(k Kato) string { return "t:" + string(k) }

// ScopeOwner is the sync scope key of an owner's IIN or BIN.
func ScopeOwner(n IIN) string { return "o:" + string(n) }

// OwnedScope is the sync scope of a thing in territory t owned by owner.
func OwnedScope(t Kato, owner IIN) []string {
	s := []string{ScopeTerritory(t)}
	if owner != "" {
		s = append(s, ScopeOwner(owner))
	}
	return s
}
