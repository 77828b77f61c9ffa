// Package sync is delta sync for tablets that work offline for days: pull sends the changes in a
// user's scope since a checkpoint, push applies batches of offline mutations exactly once.
//
// Pull reads the store's change log (domain.Store.Changes), which every write of a synced
// collection feeds in the same step as the write itself, so no handler can change data without
// tablets hearing of it. The log never hands out an entry while an earlier one may still commit,
// so a client resuming from its checkpoint never misses a change, whatever order concurrent writes
// committed in. A first pull in format 2 reads the snapshot index instead (snapshot.go), and then
// the log from where the index was complete.
package sync

import (
	"strings"

	"github.com/vetfield/vetfield/domain"
)

// ScopeAll is the scope key of reference data every user receives (the calendar, territories,
// diseases).
const ScopeAll = "all"

// inScope reports whether a record with scope keys is visible to p: admins see everything; staff
// (vets, inspectors and the state veterinary-sanitary inspectors, who issue certificates in the
// field) see records of territories their own covers; farmers see records keyed to their IIN or BIN.
func inScope(p domain.Principal, keys []string) bool {
	for _, k := range keys {
		if k == ScopeAll || p.Role == domain.RoleAdmin {
			return true
		}
		switch {
		case strings.HasPrefix(k, "t:"):
			if pullsTerritory(p) && p.Territory.Covers(domain.Kato(k[2:])) {
				return true
			}
		case strings.HasPrefix(k, "o:"):
			if p.Role == domain.RoleFarmer && p.IIN != "" && k[2:] == string(p.IIN) {
				return true
			}
		}
	}
	return false
}

// pullsTerritory reports whether p's tablet pulls the records of p's territory: the staff who
// work in the field — vets, inspectors and the state veterinary-sanitary inspectors, who issue
// certificates there. Heads and the oblast department work at the office, online.
func pullsTerritory(p domain.Principal) bool {
	return (p.Role.IsStaff() || p.Role == domain.RoleSanitaryInspector) && p.Territory != ""
}

// bucketsOf is the part of the change log that may hold entries in p's scope: every bucket for
// admins; the buckets of their territory for staff; their own for farmers; and reference data's
// for everyone. It is coarser than inScope (a rural district's vet reads the whole district's
// bucket) and never finer: every key inScope accepts for p has its bucket here.
func bucketsOf(p domain.Principal) domain.BucketFilter {
	f := domain.BucketFilter{Buckets: []string{ScopeAll}}
	switch {
	case p.Role == domain.RoleAdmin:
		f.All = true
	case pullsTerritory(p):
		f = f.With(domain.TerritoryBuckets(p.Territory))
	case p.Role == domain.RoleFarmer && p.IIN != "":
		f.Buckets = append(f.Buckets, domain.Bucket(domain.ScopeOwner(p.IIN)))
	}
	return f
}
