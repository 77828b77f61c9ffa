// Package lifecycle records what happens to an identified animal after service 4 has registered
// it: it is moved from one holding to another — changing district, oblast or owner on the way —
// or to a slaughter site, a market or abroad, under the veterinary reference that covers the
// move; and it leaves the register when it dies, is slaughtered, killed by order, lost or
// exported. The state it leaves on the animal (Animal.InTransit, Animal.Disposal) is what every
// other service checks before it issues a paper for the animal.
package lifecycle

import (
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/identification"
	"github.com/vetfield/vetfield/domain/inspection"
)

// Service bundles the movements and the disposals, so the server wires one value.
type Service struct {
	Movements *Movements
	Disposals *Disposals
}

// Deps are the services lifecycle reads and writes through.
type Deps struct {
	Store          domain.Store
	Now            domain.Clock
	Documents      *documents.Documents
	Identification *identification.Service
	Epizootic      *epizootic.Service
	Inspection     *inspection.Service
}

// New wires the services.
func New(d Deps) *Service {
	return &Service{Movements: &Movements{Deps: d}, Disposals: &Disposals{Deps: d}}
}

// Specs are the collections of the animal's lifecycle, for Declare.
var Specs = []domain.CollectionSpec{MovementsSpec}
