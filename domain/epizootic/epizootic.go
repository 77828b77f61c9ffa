// Package epizootic runs service 2 of REGULATIONS.md, the veterinary reference, and owns what the
// epizootic situation is made of: the catalogue of territories (KATO, in Kazakh and Russian), the
// notifiable diseases, and the quarantines and restrictive measures declared over territories. A
// reference is checked against the animal's identification and every restriction in force over
// its holding's territory and above, at application and at issue, online and offline.
package epizootic

import (
	"context"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/identification"
)

// Service bundles service 2 of REGULATIONS.md — the veterinary reference, issued "taking into
// account the epizootic situation in the administrative-territorial unit at the moment of
// application" — with what that situation is made of: the catalogue of territories and the
// restrictions declared over them. Each noun keeps its own service and file.
type Service struct {
	Territories  *Territories
	Restrictions *Restrictions
	References   *References
	Applications *ReferenceApplications
}

// New wires the services over one store. References are issued through docs and check
// animals against the identification database of ident.
func New(store domain.Store, docs *documents.Documents, ident *identification.Service, now domain.Clock) *Service {
	t := &Territories{Store: store, Now: now}
	r := &Restrictions{Store: store, Now: now, Territories: t}
	refs := &References{Store: store, Now: now, Documents: docs, Identification: ident, Restrictions: r, Territories: t}
	apps := &ReferenceApplications{Store: store, Now: now, Identification: ident, References: refs}
	return &Service{Territories: t, Restrictions: r, References: refs, Applications: apps}
}

// Specs are the collections of service 2 and the epizootic situation, for Declare.
var Specs = []domain.CollectionSpec{TerritoriesSpec, RestrictionsSpec, ReferencesSpec, ReferenceApplicationsSpec}

// Seed adds the territorial units vetfield starts with, if missing; run it at start-up.
func (e *Service) Seed(ctx context.Context) error { return e.Territories.Seed(ctx) }

// Situation is the epizootic situation of a territory at an instant: every restriction in force
// over it, whether declared on the territory itself or on a unit above it.
type Situation struct {
	Territory    domain.Kato
	NameKK       string
	NameRU       string
	At           time.Time
	Restrictions []*Restriction
}

// Situation answers the epizootic situation of territory at instant at (now when zero). The
// territory need not be catalogued: it is named after the nearest unit above it that is.
func (e *Service) Situation(ctx context.Context, territory string, at time.Time) (*Situation, error) {
	k, err := domain.ParseKato(territory)
	if err != nil {
		return nil, domain.AtField("territory", err)
	}
	if at.IsZero() {
		at = e.Restrictions.Now()
	}
	s := &Situation{Territory: k, At: at.UTC()}
	if s.NameKK, s.NameRU, err = e.Territories.Names(ctx, k); err != nil {
		return nil, err
	}
	if s.Restrictions, err = e.Restrictions.InForce(ctx, k, at); err != nil {
		return nil, err
	}
	return s, nil
}
