// Package inspection runs service 1 of REGULATIONS.md, the veterinary-sanitary conclusion: the
// register of production objects, the application with its completeness check, the notice, the
// inspection on site with its checklist, act and photos, and the head's decision with the
// conclusion document or a motivated refusal, each step on its working-day deadline.
package inspection

import (
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/documents"
)

// Service bundles the services of service 1 so the wiring holds one value: the register of
// production objects, the inspection workflow and the photos' records. The photos' bytes are kept
// by media.PhotoStore, which the wiring sets as Inspections.Evidence.
type Service struct {
	Register    *ObjectRegister
	Inspections *Inspections
	Photos      *Photos
}

// New wires service 1 over one store; maxPhoto is the largest photo accepted (the default when 0).
func New(store domain.Store, docs *documents.Documents, cal *domain.Calendar, users *accounts.Accounts,
	now domain.Clock, maxPhoto int64) *Service {
	register := &ObjectRegister{Store: store, Now: now}
	photos := &Photos{Store: store, Now: now, MaxSize: maxPhoto}
	inspections := &Inspections{Store: store, Now: now, Calendar: cal, Documents: docs,
		Objects: register, Users: users, Photos: photos}
	return &Service{Register: register, Inspections: inspections, Photos: photos}
}

// Specs are the collections of service 1, for Declare.
var Specs = []domain.CollectionSpec{ObjectsSpec, InspectionsSpec, PhotosSpec, UploadsSpec}
