// Package health records the veterinary measures done to animals — vaccinations, and diagnostic
// tests with the laboratory's results — and the oblast's plan of such measures with its
// progress. A positive result for a notifiable disease is written on the animal itself
// (Animal.Findings), where every reference and movement check reads it.
package health

import (
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/identification"
)

// Service bundles vaccinations, diagnostic tests and the plan of veterinary measures.
type Service struct {
	Store          domain.Store
	Now            domain.Clock
	Documents      *documents.Documents
	Identification *identification.Service
	Epizootic      *epizootic.Service
}

// New wires the service.
func New(store domain.Store, docs *documents.Documents, ident *identification.Service, epi *epizootic.Service, now domain.Clock) *Service {
	return &Service{Store: store, Now: now, Documents: docs, Identification: ident, Epizootic: epi}
}

// Specs are the collections of veterinary measures, for Declare.
var Specs = []domain.CollectionSpec{}
