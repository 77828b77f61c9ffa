package identification

import (
	"context"
	"encoding/json"
	"regexp"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// EventKind names what happened to an animal. The list is open: other services (references,
// movements, disposal) record their own kinds through Animals.RecordEvent without a change here.
type EventKind string

// The kinds of service 4.
const (
	EventIdentified         EventKind = "identified"
	EventTagLost            EventKind = "tag_lost"
	EventTagsArrived        EventKind = "tags_arrived"
	EventReissued           EventKind = "reissued"
	EventPassportDuplicate  EventKind = "passport_duplicate"
	EventPassportExtract    EventKind = "passport_extract"
	EventDescriptionChanged EventKind = "description_changed"
)

var eventKindPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{1,39}$`)

// AnimalEvent is one entry of an animal's history. Entries are written once and never changed;
// each has an id derived from what caused it, so a retried operation does not record it twice.
type AnimalEvent struct {
	domain.Meta
	AnimalID string    `json:"animal_id"`
	Kind     EventKind `json:"kind"`
	At       time.Time `json:"at"`
	AtMS     int64     `json:"at_ms"`
	// By is the user who acted; Unit their territory, for staff.
	By         string      `json:"by,omitempty"`
	Unit       domain.Kato `json:"unit,omitempty"`
	Tag        string      `json:"tag,omitempty"`
	DocumentID string      `json:"document_id,omitempty"`
	ReissueID  string      `json:"reissue_id,omitempty"`
	// Details carry what is particular to the kind.
	Details json.RawMessage `json:"details,omitempty"`
	// Territory and OwnerIIN are where the animal is kept now — they decide who sees the entry —
	// and follow it when it moves (WriteFollowHistory); Unit says where the staff who acted was.
	Territory domain.Kato `json:"territory"`
	OwnerIIN  domain.IIN  `json:"owner_iin,omitempty"`
}

// AnimalEventsSpec declares the histories, in time order per animal. Synced like the animals.
var AnimalEventsSpec = domain.CollectionSpec{
	Name:    "animal_events",
	Synced:  true,
	Indexes: []domain.Index{{Name: "animal_events_animal", Fields: []string{"animal_id", "at_ms"}}},
}

// RecordEvent adds ev to a's history. Give ev an id derived from its cause (derivedUUID) and the call
// is idempotent: a second call answers the first entry. Kind is any lower-case identifier.
func (as *Animals) RecordEvent(ctx context.Context, a *Animal, ev AnimalEvent) (*AnimalEvent, error) {
	if err := as.completeEvent(a, &ev); err != nil {
		return nil, err
	}
	if _, err := domain.InsertOrGet(ctx, as.Store, AnimalEventsSpec.Name, &ev, ev.scope()); err != nil {
		return nil, err
	}
	return &ev, nil
}

// completeEvent checks ev and fills in what RecordEvent derives: a fresh id if none, the time,
// and the animal's id, territory and owner, which decide who sees the entry.
func (as *Animals) completeEvent(a *Animal, ev *AnimalEvent) error {
	if !eventKindPattern.MatchString(string(ev.Kind)) {
		return domain.Errorf(domain.EINVALID, "event kind %q is not a lower-case identifier", domain.Clip(string(ev.Kind)))
	}
	if ev.ID == "" {
		ev.ID = domain.NewID()
	}
	if ev.At.IsZero() {
		ev.At = as.Now()
	}
	ev.At = ev.At.UTC()
	ev.AtMS, ev.AnimalID, ev.Territory, ev.OwnerIIN, ev.Version = ev.At.UnixMilli(), a.ID, a.Territory, a.OwnerIIN, 0
	return nil
}

func (ev *AnimalEvent) scope() []string { return domain.OwnedScope(ev.Territory, ev.OwnerIIN) }

// Events pages through the history of an animal by may see, oldest first.
func (as *Animals) Events(ctx context.Context, by domain.Principal, animalID, after string, limit int) ([]*AnimalEvent, string, error) {
	if _, err := as.Get(ctx, by, animalID); err != nil {
		return nil, "", err
	}
	return domain.ListEntities[AnimalEvent](ctx, as.Store, AnimalEventsSpec.Name,
		domain.Query{Index: "animal_events_animal", Eq: []any{animalID}, After: after, Limit: limit})
}
