// Package health records the veterinary measures done to animals — vaccinations, and diagnostic
// tests with the laboratory's results — and the oblast's plan of such measures with its
// progress. A positive result for a notifiable disease is written on the animal itself
// (Animal.Findings), where every reference and movement check reads it.
//
// A vaccination or a sampling is group work: one request names up to MaxGroup animals of one
// holding (by id or current number), or all active animals of a species there. Each animal is
// answered on its own: one the vet may not record (unknown, of another holding, left the
// register, of a species the disease does not affect, born after the date) is rejected with its
// reason and the rest are applied. The rejected animals are kept in the record with their
// reasons, so a retry with the same id answers the very same outcome and writes nothing new; a
// rejected animal is recorded later in a request of its own. A request in which no animal can be
// recorded is refused whole and writes nothing: with the animals' own code when they share one
// (ENOTFOUND for animals of another district), else EINVALID.
package health

import (
	"context"
	"errors"
	"fmt"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/identification"
)

// MaxGroup is the most animals one vaccination, sampling or result names.
const MaxGroup = 500

// Service bundles vaccinations, diagnostic tests and the plan of veterinary measures.
type Service struct {
	Store          domain.Store
	Now            domain.Clock
	Documents      *documents.Documents
	Identification *identification.Service
	Epizootic      *epizootic.Service
	Vaccinations   *Vaccinations
	Tests          *Tests
	Plans          *Plans
}

// New wires the service.
func New(store domain.Store, docs *documents.Documents, ident *identification.Service, epi *epizootic.Service, now domain.Clock) *Service {
	s := &Service{Store: store, Now: now, Documents: docs, Identification: ident, Epizootic: epi}
	s.Vaccinations = &Vaccinations{s: s}
	s.Tests = &Tests{s: s}
	s.Plans = &Plans{s: s}
	return s
}

// Specs are the collections of veterinary measures, for Declare.
var Specs = []domain.CollectionSpec{VaccinationsSpec, TestsSpec, PlansSpec}

// Event kinds written to an animal's history.
const (
	EventVaccinated       identification.EventKind = "vaccinated"
	EventSampled          identification.EventKind = "diagnostic_sampled"
	EventDiagnosticResult identification.EventKind = "diagnostic_result"
)

// Entry states of an animal in a group.
const (
	EntryApplied  = "applied"
	EntryRejected = "rejected"
)

// AnimalRef names an animal of a group: by its id or by its current individual number.
type AnimalRef struct {
	ID  string `json:"id,omitempty"`
	Tag string `json:"tag,omitempty"`
}

// Entry is one animal of a group as it was decided: applied, or rejected with the reason (the
// error code, the field of the request at fault and the message, as a 4xx problem would say).
type Entry struct {
	AnimalID string         `json:"animal_id,omitempty"`
	Tag      string         `json:"tag,omitempty"`
	Species  domain.Species `json:"species,omitempty"`
	Status   string         `json:"status"`
	Code     string         `json:"code,omitempty"`
	Field    string         `json:"field,omitempty"`
	Reason   string         `json:"reason,omitempty"`
	// Result is a sampled animal's latest laboratory result ("" while none came).
	Result string `json:"result,omitempty"`
}

// group is a request's animals as resolved: every entry in order, and the animals applied.
type group struct {
	entries []Entry
	animals map[string]*identification.Animal
}

func (g *group) reject(e Entry, err error) {
	e.Status = EntryRejected
	var de *domain.Error
	if errors.As(err, &de) {
		e.Code, e.Field, e.Reason = de.Code, de.Field, de.Message
	} else {
		e.Code, e.Reason = domain.EINVALID, "the animal cannot be recorded"
	}
	g.entries = append(g.entries, e)
}

// applied returns the ids of the animals applied, in order.
func (g *group) applied() []string {
	var ids []string
	for _, e := range g.entries {
		if e.Status == EntryApplied {
			ids = append(ids, e.AnimalID)
		}
	}
	return ids
}

// resolveGroup reads the animals of a group on holding h: the listed ones, or every active animal
// of species there. Each is checked for a measure against disease d on date (not before its
// birth); a failed check rejects that animal alone. It writes nothing.
func (s *Service) resolveGroup(ctx context.Context, by domain.Principal, h *identification.Holding, refs []AnimalRef,
	species domain.Species, d epizootic.Disease, date domain.CivilDate) (*group, error) {
	g := &group{animals: map[string]*identification.Animal{}}
	type named struct {
		ref   AnimalRef
		field string
		a     *identification.Animal
		err   error
	}
	var list []named
	switch {
	case len(refs) > 0 && species != "":
		return nil, domain.Invalid("species", "give either the animals or a species, not both")
	case len(refs) > MaxGroup:
		return nil, domain.Invalid("animals", "at most %d animals in one request; send the rest in another", MaxGroup)
	case len(refs) > 0:
		ids := make([]string, 0, len(refs))
		for _, r := range refs {
			if r.ID != "" {
				ids = append(ids, r.ID)
			}
		}
		recs, err := s.Store.GetMany(ctx, identification.AnimalsSpec.Name, ids)
		if err != nil {
			return nil, err
		}
		byID := map[string]*identification.Animal{}
		for _, rec := range recs {
			a, err := domain.DecodeEntity[identification.Animal](rec)
			if err != nil {
				return nil, err
			}
			byID[a.ID] = a
		}
		for i, r := range refs {
			n := named{ref: r, field: fmt.Sprintf("animals[%d]", i)}
			switch {
			case r.ID != "" && r.Tag != "":
				n.err = domain.Invalid(n.field, "name the animal by its id or its number, not both")
			case r.ID != "":
				if n.a = byID[r.ID]; n.a == nil || !n.a.VisibleTo(by) {
					n.a, n.err = nil, &domain.Error{Code: domain.ENOTFOUND, Field: n.field + ".id", Message: "no animal with this id in your territory"}
				}
			case r.Tag != "":
				n.a, n.err = s.animalByTag(ctx, by, r.Tag, n.field+".tag")
				var de *domain.Error
				if n.err != nil && (!errors.As(n.err, &de) || de.Code == domain.EINTERNAL || de.Code == domain.EUNAVAILABLE) {
					return nil, n.err // the store failed: that is no answer about the animal
				}
			default:
				n.err = domain.Invalid(n.field, "name each animal by its id or its individual number (tag)")
			}
			list = append(list, n)
		}
	case species != "":
		if !species.Valid() {
			return nil, domain.Invalid("species", "unknown species %q", domain.Clip(string(species)))
		}
		all, err := s.holdingAnimals(ctx, h.ID, species)
		if err != nil {
			return nil, err
		}
		if len(all) == 0 {
			return nil, domain.Invalid("species", "the holding has no active %s", species.Name("ru"))
		}
		if len(all) > MaxGroup {
			return nil, domain.Invalid("species", "the holding has %d active animals of the species, more than %d: list them in parts", len(all), MaxGroup)
		}
		for _, a := range all {
			list = append(list, named{a: a, field: "species"})
		}
	default:
		return nil, domain.Invalid("animals", "list the animals, or give a species for all its active animals on the holding")
	}
	seen := map[string]bool{}
	for _, n := range list {
		e := Entry{AnimalID: n.ref.ID, Tag: n.ref.Tag}
		if n.err != nil {
			g.reject(e, n.err)
			continue
		}
		a := n.a
		e.AnimalID, e.Tag, e.Species = a.ID, string(a.Tag), a.Species
		switch {
		case seen[a.ID]:
			g.reject(e, domain.Invalid(n.field, "the animal %s is listed twice", a.Tag))
		case a.HoldingID != h.ID:
			// The record is the holding's, read by its owner too: it keeps of another holding's
			// animal only what the vet typed.
			g.reject(Entry{AnimalID: n.ref.ID, Tag: n.ref.Tag}, domain.Invalid(n.field,
				"the animal is kept on another holding; one request covers animals of one holding"))
		case a.Status != identification.AnimalActive:
			g.reject(e, &domain.Error{Code: domain.EPRECONDITION, Field: n.field, Message: fmt.Sprintf("the animal %s left the register", a.Tag)})
		case a.InTransit != "":
			g.reject(e, &domain.Error{Code: domain.EPRECONDITION, Field: n.field, Message: fmt.Sprintf("the animal %s is in transit", a.Tag)})
		case !d.Affects(a.Species):
			g.reject(e, domain.Invalid(n.field, "%s does not affect %s (the animal %s)", d.NameRU, a.Species.Name("ru"), a.Tag))
		case date.Compare(a.BirthDate) < 0:
			g.reject(e, domain.Invalid(n.field, "the date %s is before the birth of the animal %s (%s)", date, a.Tag, a.BirthDate))
		default:
			seen[a.ID] = true
			e.Status = EntryApplied
			g.entries = append(g.entries, e)
			g.animals[a.ID] = a
		}
	}
	if len(g.animals) == 0 {
		// Nothing to record: the request is refused whole, with the animals' own code when they
		// share one (an animal of another district alone is ENOTFOUND, as everywhere).
		first := g.entries[0]
		code := first.Code
		for _, e := range g.entries {
			if e.Code != code {
				code = domain.EINVALID
			}
		}
		return nil, &domain.Error{Code: code, Field: first.Field,
			Message: "no animal of the request can be recorded: " + first.Reason}
	}
	return g, nil
}

// animalByTag finds the animal that carries number now; a number unknown, not fitted, of an
// animal the caller may not see, or no longer the animal's current number, is ENOTFOUND or
// EINVALID at field.
func (s *Service) animalByTag(ctx context.Context, by domain.Principal, number, field string) (*identification.Animal, error) {
	if err := domain.CheckISO11784(number); err != nil {
		return nil, domain.AtField(field, err)
	}
	notFound := &domain.Error{Code: domain.ENOTFOUND, Field: field, Message: fmt.Sprintf("no animal with the number %s in your territory", number)}
	rec, err := s.Identification.Stock.NumberRecord(ctx, domain.EarTag(number))
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && rec.AnimalID == "") {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	a, err := s.Identification.Animals.Load(ctx, rec.AnimalID)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !a.VisibleTo(by)) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	if string(a.Tag) != number {
		return nil, domain.Invalid(field, "%s is no longer the animal's number: it carries %s", number, a.Tag)
	}
	return a, nil
}

// holdingAnimals lists the active animals of species on a holding.
func (s *Service) holdingAnimals(ctx context.Context, holdingID string, species domain.Species) ([]*identification.Animal, error) {
	var out []*identification.Animal
	after := ""
	for {
		page, next, err := domain.ListEntities[identification.Animal](ctx, s.Store, identification.AnimalsSpec.Name,
			domain.Query{Index: "animals_holding", Eq: []any{holdingID}, After: after, Limit: domain.MaxPageSize})
		if err != nil {
			return nil, err
		}
		for _, a := range page {
			if a.Species == species && a.Status == identification.AnimalActive && a.InTransit == "" {
				out = append(out, a)
			}
		}
		if next == "" {
			return out, nil
		}
		after = next
	}
}

// holding reads the holding a vet works on: one outside their territory is ENOTFOUND.
func (s *Service) holding(ctx context.Context, by domain.Principal, id string) (*identification.Holding, error) {
	if id == "" {
		return nil, domain.Invalid("holding_id", "give the holding the animals are kept on")
	}
	h, err := s.Identification.Holdings.Get(ctx, by, id)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return nil, &domain.Error{Code: domain.ENOTFOUND, Field: "holding_id", Message: "no holding with this id in your territory"}
	}
	return h, err
}

// checkDate refuses a date in the future (Asia/Almaty) or missing.
func (s *Service) checkDate(d domain.CivilDate, field string) error {
	today := domain.CivilDateOf(s.Now())
	switch {
	case d.IsZero():
		return domain.Invalid(field, "give the date (2006-01-02)")
	case d.Compare(today) > 0:
		return domain.Invalid(field, "the date %s is in the future (today is %s in Almaty)", d, today)
	case d.Compare(today.AddDays(-366*identification.MaxAnimalAge)) < 0:
		return domain.Invalid(field, "the date %s is too long ago", d)
	}
	return nil
}

// missingEvents returns which of the event ids are not stored yet, so a retry that resumes a
// unit cut short writes only the entries missing (an entry's time is the first attempt's).
func (s *Service) missingEvents(ctx context.Context, ids []string) (map[string]bool, error) {
	missing := map[string]bool{}
	for _, id := range ids {
		missing[id] = true
	}
	for start := 0; start < len(ids); start += domain.MaxPageSize {
		end := min(start+domain.MaxPageSize, len(ids))
		recs, err := s.Store.GetMany(ctx, identification.AnimalEventsSpec.Name, ids[start:end])
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			delete(missing, r.ID)
		}
	}
	return missing, nil
}

func mustBeVet(by domain.Principal, what string) error {
	if by.Role != domain.RoleVet || by.Territory == "" {
		return domain.Errorf(domain.EFORBIDDEN, "only vets %s", what)
	}
	return nil
}
