package identification

import (
	"context"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// What other services record on the animal itself, so that every check that reads an animal —
// a reference, a movement, a reissue, a disposal — sees its whole state in one read: whether it
// is in transit, whether it left the register, and the positive test results in force.

// Disposal is how and when an animal left the register (package lifecycle writes it). Its ID is
// the client id of the disposal request; corrections by an admin replace the entry and keep the
// one they replaced, so nothing of what was recorded is lost.
type Disposal struct {
	ID string `json:"id"`
	DisposalEntry
	By string    `json:"by"`
	At time.Time `json:"at"`
	// RequestHash fingerprints the request, to tell a retry from another request reusing the id.
	RequestHash string `json:"request_hash"`
	// Corrections are the admins' corrections, oldest first.
	Corrections []DisposalCorrection `json:"corrections,omitempty"`
}

// DisposalEntry is what a disposal says: how (Kind), on which day, why, where.
type DisposalEntry struct {
	Kind string           `json:"kind"`
	Date domain.CivilDate `json:"date"`
	// Cause is the cause or circumstance in words, as the vet records it.
	Cause string `json:"cause"`
	// ObjectID is the slaughter site of the object register, for a slaughter.
	ObjectID string `json:"object_id,omitempty"`
	// Expertise is the veterinary-sanitary expertise of the carcass, for a slaughter.
	Expertise *Expertise `json:"expertise,omitempty"`
}

// Expertise is the finding of the veterinary-sanitary expertise of a slaughtered animal.
type Expertise struct {
	// Result is fit (released for food without restriction), conditionally_fit (after
	// processing) or unfit (destroyed).
	Result string `json:"result"`
	// Act is the number of the expertise's act.
	Act string `json:"act"`
}

// DisposalCorrection is an admin's correction of a disposal: why, by whom, when, and the entry
// it replaced.
type DisposalCorrection struct {
	ID          string        `json:"id"`
	Reason      string        `json:"reason"`
	By          string        `json:"by"`
	At          time.Time     `json:"at"`
	Earlier     DisposalEntry `json:"earlier"`
	RequestHash string        `json:"request_hash"`
}

// Finding is a positive diagnostic result in force for an animal (package health writes it): the
// test, the disease, when the sample was taken, and the laboratory's act that found it.
type Finding struct {
	TestID     string           `json:"test_id"`
	Disease    string           `json:"disease"`
	Result     string           `json:"result"`
	SampledOn  domain.CivilDate `json:"sampled_on"`
	Laboratory string           `json:"laboratory"`
	Act        string           `json:"act"`
	ActDate    domain.CivilDate `json:"act_date,omitempty"`
}

// WriteUpdate adds to w the compare-and-swap update of a, as read at a.Version, with its scope
// recomputed from its territory and owner: the one way another service changes an animal inside
// its own unit of work.
func (as *Animals) WriteUpdate(w *domain.Writes, a *Animal) error {
	return domain.WriteUpdate(w, AnimalsSpec.Name, a, a.scope())
}

// WriteEvent adds ev to a's history inside w. Give ev an id derived from its cause
// (domain.DerivedID) so that a retried unit writes the very same entry.
func (as *Animals) WriteEvent(w *domain.Writes, a *Animal, ev AnimalEvent) error {
	if err := as.completeEvent(a, &ev); err != nil {
		return err
	}
	return domain.WriteInsert(w, AnimalEventsSpec.Name, &ev, ev.scope())
}

// WriteFollowHistory adds to w the updates that make a's history follow it to its current
// territory and owner (set on a before the call): after a movement the staff and the owner where
// the animal is now see its whole history, and tablets of the former ones get its removal. It
// reads the history and adds an update for each entry not kept there yet, so running it again
// after a unit cut short adds only what is left.
func (as *Animals) WriteFollowHistory(ctx context.Context, w *domain.Writes, a *Animal) error {
	after := ""
	for {
		evs, next, err := domain.ListEntities[AnimalEvent](ctx, as.Store, AnimalEventsSpec.Name,
			domain.Query{Index: "animal_events_animal", Eq: []any{a.ID}, After: after, Limit: domain.MaxPageSize})
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if ev.Territory == a.Territory && ev.OwnerIIN == a.OwnerIIN {
				continue
			}
			ev.Territory, ev.OwnerIIN = a.Territory, a.OwnerIIN
			if err := domain.WriteUpdate(w, AnimalEventsSpec.Name, ev, ev.scope()); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}
