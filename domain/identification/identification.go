// Package identification runs service 4 of REGULATIONS.md: the holdings where animals are kept,
// the stock of ear-tag numbers given to each unit and the ledger of every number fitted, the
// animals themselves with their veterinary passports (duplicates, extracts) and history — one by
// one, or a group of one holding at once (group.go) — and the reissue of lost or damaged tags on
// its working-day clock. An animal that left the register (package lifecycle) has its numbers
// retired here and gets no paper again (disposed.go).
package identification

import (
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
)

// Service bundles the services of service 4 of REGULATIONS.md — identification of farm
// animals with a veterinary passport, and the reissue of lost or damaged tags — so the server
// wires one value. Each noun keeps its own service and file: holdings, tag stock, animals (with
// their passports and events) and reissue cases.
type Service struct {
	Holdings *Holdings
	Stock    *TagStock
	Animals  *Animals
	Reissues *Reissues
}

// New wires the services over one store. Passports are issued through docs and
// deadlines counted with cal.
func New(store domain.Store, docs *documents.Documents, cal *domain.Calendar, now domain.Clock) *Service {
	h := &Holdings{Store: store, Now: now}
	st := &TagStock{Store: store, Now: now}
	a := &Animals{Store: store, Now: now, Documents: docs, Holdings: h, Stock: st}
	r := &Reissues{Store: store, Now: now, Calendar: cal, Animals: a, Stock: st, Documents: docs}
	return &Service{Holdings: h, Stock: st, Animals: a, Reissues: r}
}

// Specs are the collections of service 4, for Declare.
var Specs = []domain.CollectionSpec{HoldingsSpec, TagRangesSpec, TagLedgerSpec, TagsSpec, AnimalsSpec,
	AnimalEventsSpec, ReissuesSpec, AnimalGroupsSpec}
