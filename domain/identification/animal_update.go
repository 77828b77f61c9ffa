package identification

import (
	"context"
	"fmt"
	"slices"

	"github.com/vetfield/vetfield/domain"
)

// MaxMutations is how many client mutation ids an animal remembers: more than a tablet pushes
// between two syncs.
const MaxMutations = 32

// AnimalChange is a partial update of an animal's description, as a tablet pushes it after working
// offline. Nil fields stay as they are. The species, holding and numbers are not changed here:
// those are services of their own (a correction, a movement, a reissue).
type AnimalChange struct {
	// BaseVersion is the version the change was made on; a record that moved on since is a
	// conflict.
	BaseVersion int64
	// MutationID is the client's id of this change (a UUID), so a change pushed twice is applied
	// once. Optional.
	MutationID string
	Sex        *Sex
	BirthDate  *domain.CivilDate
	Breed      *string
	Colour     *string
	Nickname   *string
}

// Update applies ch to the animal if it is still at ch.BaseVersion (compare and swap). A change
// whose MutationID the animal already records was applied before: Update answers the animal as it
// is. A stale BaseVersion is ECONFLICT and Update returns the current animal along with the
// error, for the caller to merge. The passport keeps the description it was issued with; a
// duplicate prints the new one.
func (as *Animals) Update(ctx context.Context, by domain.Principal, id string, ch AnimalChange) (*Animal, error) {
	if by.Role != domain.RoleVet && by.Role != domain.RoleAdmin {
		return nil, domain.Errorf(domain.EFORBIDDEN, "only vets change an animal's description")
	}
	mutation := ""
	if ch.MutationID != "" {
		var err error
		if mutation, err = domain.ParseClientID(ch.MutationID, "mutation_id"); err != nil {
			return nil, err
		}
	}
	a, err := as.Get(ctx, by, id)
	if err != nil {
		return nil, err
	}
	for range domain.CASRetries {
		if mutation != "" && slices.Contains(a.Mutations, mutation) {
			return a, as.recordChange(ctx, by, a, mutation, ch)
		}
		if a.Version != ch.BaseVersion {
			return a, &domain.Error{Code: domain.ECONFLICT, Key: "_version", Message: fmt.Sprintf(
				"the animal changed since version %d (it is at version %d): merge with the current record and retry",
				ch.BaseVersion, a.Version)}
		}
		next := *a
		if ch.Sex != nil {
			next.Sex = *ch.Sex
		}
		if ch.BirthDate != nil {
			next.BirthDate = *ch.BirthDate
		}
		breed, colour, nickname := deref(ch.Breed, a.Breed), deref(ch.Colour, a.Colour), deref(ch.Nickname, a.Nickname)
		if err := next.checkDescription(as.Now(), &breed, &colour, &nickname); err != nil {
			return nil, err
		}
		next.Breed, next.Colour, next.Nickname = breed, colour, nickname
		if next.Sex == a.Sex && next.BirthDate == a.BirthDate && next.Breed == a.Breed && next.Colour == a.Colour &&
			next.Nickname == a.Nickname {
			return a, nil
		}
		if mutation != "" {
			next.Mutations = append(slices.Clone(a.Mutations), mutation)
			if n := len(next.Mutations); n > MaxMutations {
				next.Mutations = next.Mutations[n-MaxMutations:]
			}
		}
		next.UpdatedAt = as.Now().UTC()
		err := domain.UpdateEntity(ctx, as.Store, AnimalsSpec.Name, &next, next.scope())
		if err == nil {
			return &next, as.recordChange(ctx, by, &next, mutation, ch)
		}
		if !domain.IsCode(err, domain.ECONFLICT) {
			return nil, err
		}
		if a, err = as.Load(ctx, id); err != nil { // someone wrote in between: look again
			return nil, err
		}
	}
	return nil, domain.Busy("the animal is changing concurrently; try again")
}

// recordChange adds the change to the history, once per mutation id.
func (as *Animals) recordChange(ctx context.Context, by domain.Principal, a *Animal, mutation string, ch AnimalChange) error {
	id := ""
	if mutation != "" {
		id = domain.DerivedID("event", a.ID, "mutation", mutation)
	}
	_, err := as.RecordEvent(ctx, a, AnimalEvent{Meta: domain.Meta{ID: id}, Kind: EventDescriptionChanged, By: by.UserID,
		Unit: by.Territory, Tag: string(a.Tag), Details: domain.MustJSON(map[string]any{"sex": ch.Sex,
			"birth_date": ch.BirthDate, "breed": ch.Breed, "colour": ch.Colour, "nickname": ch.Nickname,
			"base_version": ch.BaseVersion})})
	return err
}

func deref(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}
