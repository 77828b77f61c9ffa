package epizootic

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// RestrictionKind is the measure a decision imposes.
type RestrictionKind string

// The measures: a quarantine, or restrictive measures (ограничительные мероприятия), the milder
// regime. Both stop references for what the disease concerns.
const (
	Quarantine          RestrictionKind = "quarantine"
	RestrictiveMeasures RestrictionKind = "restrictive_measures"
)

// Valid reports whether k is a known measure.
func (k RestrictionKind) Valid() bool { return k == Quarantine || k == RestrictiveMeasures }

// Name returns the measure's name in lang ("kk" or "ru").
func (k RestrictionKind) Name(lang string) string {
	switch {
	case k == Quarantine:
		return "карантин" // the same word in both languages
	case lang == "kk":
		return "шектеу іс-шаралары"
	}
	return "ограничительные мероприятия"
}

// EpizooticDecision is the act of the local executive body that declares or lifts a restriction.
type EpizooticDecision struct {
	Number string           `json:"number"`
	Date   domain.CivilDate `json:"date"`
}

// cite names the decision as papers do: "решение № 12 от 15.03.2026". A number typed with its
// sign ("№ 12-Қ") is cited once, not "№ № 12-Қ".
func (d EpizooticDecision) cite(lang string) string {
	date := fmt.Sprintf("%02d.%02d.%04d", d.Date.Day(), d.Date.Month(), d.Date.Year())
	n := BareNumber(d.Number)
	if lang == "kk" {
		return date + " № " + n + " шешім"
	}
	return "решение № " + n + " от " + date
}

// BareNumber is a decision number without a leading number sign ("№", "N°", "No.") and the
// spaces around it: papers print the sign themselves.
func BareNumber(n string) string {
	n = strings.TrimSpace(n)
	for _, sign := range []string{"№", "N°", "No."} {
		n = strings.TrimSpace(strings.TrimPrefix(n, sign))
	}
	return n
}

// RestrictionTerms are what a decision says; every change keeps the terms it left in History.
type RestrictionTerms struct {
	Kind      RestrictionKind   `json:"kind"`
	Disease   string            `json:"disease"`
	Territory domain.Kato       `json:"territory"`
	Decision  EpizooticDecision `json:"decision"`
	Start     time.Time         `json:"start"`
	// End is set when the restriction is lifted, with the lifting decision.
	End          *time.Time         `json:"end,omitempty"`
	LiftDecision *EpizooticDecision `json:"lift_decision,omitempty"`
	Note         string             `json:"note,omitempty"`
}

// RestrictionEvent is one entry of a restriction's history: who did what, and the terms after it.
type RestrictionEvent struct {
	At     time.Time        `json:"at"`
	By     string           `json:"by"`
	Action string           `json:"action"`
	Terms  RestrictionTerms `json:"terms"`
}

// Restriction is a quarantine or restrictive measures for one disease over one territory and
// every territory beneath it. It is never deleted: a lift sets End, a correction is recorded in
// History, and every write is a new version in the change log.
type Restriction struct {
	domain.Meta
	RestrictionTerms
	// The names of the disease and the territory, copied so a paper or a tablet offline can cite
	// the decision without the catalogues.
	DiseaseKK   string             `json:"disease_kk"`
	DiseaseRU   string             `json:"disease_ru"`
	TerritoryKK string             `json:"territory_kk"`
	TerritoryRU string             `json:"territory_ru"`
	DeclaredAt  time.Time          `json:"declared_at"`
	DeclaredBy  string             `json:"declared_by"`
	UpdatedAt   time.Time          `json:"updated_at"`
	History     []RestrictionEvent `json:"history"`
	CreateHash  string             `json:"create_hash"`
	// Indexed copies: StartMS orders a territory's restrictions; EndMS is math.MaxInt64 while in
	// force.
	StartMS int64 `json:"start_ms"`
	EndMS   int64 `json:"end_ms"`
}

// RestrictionsSpec declares the restrictions. Synced with the scope "all": an epizootic decision
// is public, and sync matches a user's territory against the record's, so a restriction scoped to
// an oblast would never reach the tablet of a district vet inside it, who must refuse under it.
var RestrictionsSpec = domain.CollectionSpec{
	Name:    "restrictions",
	Synced:  true,
	Indexes: []domain.Index{{Name: "restrictions_territory", Fields: []string{"territory", "start_ms"}}},
}

// Limits of a restriction's texts and history.
const (
	MaxDecisionNumber  = 50
	MaxRestrictionNote = 1000
	MaxRestrictionLog  = 200
)

// InForce reports whether the restriction applies at t: from its start, until it is lifted.
func (r *Restriction) InForce(t time.Time) bool {
	return !t.Before(r.Start) && (r.End == nil || t.Before(*r.End))
}

// disease returns the restriction's disease from the catalogue.
func (r *Restriction) disease() Disease { return Diseases[r.RestrictionTerms.Disease] }

// Concerns reports whether the restriction stops a reference for animals of species s.
func (r *Restriction) Concerns(s domain.Species) bool { return r.disease().Affects(s) }

// ConcernsProduct reports whether the restriction stops a reference for product kind k from s.
func (r *Restriction) ConcernsProduct(k ProductKind, s domain.Species) bool {
	return r.disease().Restricts(k, s)
}

// Cite states the restriction in words a farmer understands, in lang ("kk" or "ru"): the measure,
// the disease, the territory and the decision.
func (r *Restriction) Cite(lang string) string {
	if lang == "kk" {
		return fmt.Sprintf("%s аумағында %s бойынша %s енгізілген (%s)", r.TerritoryKK, r.DiseaseKK,
			r.Kind.Name("kk"), r.Decision.cite("kk"))
	}
	return fmt.Sprintf("на территории «%s» введён(ы) %s по заболеванию «%s» (%s)", r.TerritoryRU,
		r.Kind.Name("ru"), r.DiseaseRU, r.Decision.cite("ru"))
}

func (r *Restriction) index() {
	r.StartMS, r.EndMS = r.Start.UnixMilli(), int64(math.MaxInt64)
	if r.End != nil {
		r.EndMS = r.End.UnixMilli()
	}
}

func (r *Restriction) log(at time.Time, by, action string) {
	r.History = append(r.History, RestrictionEvent{At: at, By: by, Action: action, Terms: r.RestrictionTerms})
	if len(r.History) > MaxRestrictionLog { // keep the declaration and the latest changes
		r.History = append(r.History[:1], r.History[len(r.History)-MaxRestrictionLog+1:]...)
	}
}

// Restrictions declares, changes and lifts restrictions and answers the epizootic situation.
type Restrictions struct {
	Store       domain.Store
	Now         domain.Clock
	Territories *Territories
}

// NewRestriction is what an admin gives to declare a restriction.
type NewRestriction struct {
	// ID, when set (a UUID), makes declaring idempotent.
	ID        string
	Kind      RestrictionKind
	Disease   string
	Territory string
	Decision  EpizooticDecision
	// Start defaults to now.
	Start *time.Time
	Note  string
}

// RestrictionChange corrects a restriction in force; nil fields stay. Version is the version the
// change was made on.
type RestrictionChange struct {
	Version  int64
	Kind     *RestrictionKind
	Decision *EpizooticDecision
	Start    *time.Time
	Note     *string
}

// Lift ends a restriction by a decision. At defaults to now.
type Lift struct {
	Version  int64
	Decision EpizooticDecision
	At       *time.Time
}

func (rs *Restrictions) checkDecision(d EpizooticDecision, field string, now time.Time) (EpizooticDecision, error) {
	n, err := domain.TrimmedText(d.Number, field+".number", MaxDecisionNumber, false)
	if err != nil {
		return d, err
	}
	d.Number = n
	if d.Date.IsZero() {
		return d, domain.Invalid(field+".date", "give the decision's date (2006-01-02)")
	}
	if d.Date.Compare(domain.CivilDateOf(now)) > 0 {
		return d, domain.Invalid(field+".date", "the decision's date %s is in the future", d.Date)
	}
	return d, nil
}

// Declare records a restriction; admins only. The territory must be in the catalogue, so papers
// can name it.
func (rs *Restrictions) Declare(ctx context.Context, by domain.Principal, in NewRestriction) (*Restriction, error) {
	if err := mustBeAdmin(by, "declare restrictions"); err != nil {
		return nil, err
	}
	now := rs.Now().UTC()
	r := &Restriction{DeclaredAt: now, DeclaredBy: by.Username, UpdatedAt: now, History: []RestrictionEvent{}}
	var err error
	if in.ID == "" {
		r.ID = domain.NewID()
	} else if r.ID, err = domain.ParseClientID(in.ID, "id"); err != nil {
		return nil, err
	}
	if r.Kind = in.Kind; !r.Kind.Valid() {
		return nil, domain.Invalid("kind", "a restriction is a quarantine or restrictive_measures")
	}
	d, err := DiseaseByCode(in.Disease, "disease")
	if err != nil {
		return nil, err
	}
	r.RestrictionTerms.Disease, r.DiseaseKK, r.DiseaseRU = d.Code, d.NameKK, d.NameRU
	t, err := rs.Territories.Get(ctx, in.Territory)
	if domain.IsCode(err, domain.ENOTFOUND) || domain.IsCode(err, domain.EINVALID) {
		return nil, domain.Invalid("territory", "give the KATO code of a unit in the catalogue (GET /v1/territories)")
	} else if err != nil {
		return nil, err
	}
	r.Territory, r.TerritoryKK, r.TerritoryRU = t.Code, t.NameKK, t.NameRU
	if r.Decision, err = rs.checkDecision(in.Decision, "decision", now); err != nil {
		return nil, err
	}
	r.Start = now
	if in.Start != nil {
		r.Start = in.Start.UTC()
	}
	if r.Note, err = domain.TrimmedLines(in.Note, "note", MaxRestrictionNote, true); err != nil {
		return nil, err
	}
	// The request's own terms (not the defaulted start) tell a retry from another declaration.
	sum := sha256.Sum256(domain.MustJSON([]any{r.Kind, r.RestrictionTerms.Disease, r.Territory, r.Decision, in.Start, r.Note}))
	r.CreateHash = hex.EncodeToString(sum[:])
	r.log(now, by.Username, "declared")
	r.index()
	if err := domain.InsertEntity(ctx, rs.Store, RestrictionsSpec.Name, r, allScope); err != nil {
		if !domain.IsCode(err, domain.ECONFLICT) || in.ID == "" {
			return nil, err
		}
		old, gerr := rs.Get(ctx, r.ID)
		if gerr != nil {
			return nil, gerr
		}
		if old.CreateHash != r.CreateHash {
			return nil, &domain.Error{Code: domain.ECONFLICT, Field: "id", Message: "this id names another restriction; generate a new one"}
		}
		return old, nil // a retry
	}
	return r, nil
}

// Get returns the restriction with id; restrictions are public.
func (rs *Restrictions) Get(ctx context.Context, id string) (*Restriction, error) {
	r, err := domain.GetEntity[Restriction](ctx, rs.Store, RestrictionsSpec.Name, id)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such restriction")
	}
	return r, err
}

// change applies edit to the restriction with CAS retries, refusing a stale version.
func (rs *Restrictions) change(ctx context.Context, by domain.Principal, id string, version int64, action string, edit func(r *Restriction, now time.Time) error) (*Restriction, error) {
	var r *Restriction
	err := domain.RetryCAS(ctx, func() error {
		var err error
		if r, err = rs.Get(ctx, id); err != nil {
			return err
		}
		if version != 0 && version != r.Version {
			return domain.Errorf(domain.ECONFLICT, "the restriction changed since version %d; it is at version %d", version, r.Version)
		}
		now := rs.Now().UTC()
		if err := edit(r, now); err != nil {
			return domain.Final(err)
		}
		r.UpdatedAt = now
		r.log(now, by.Username, action)
		r.index()
		err = domain.UpdateEntity(ctx, rs.Store, RestrictionsSpec.Name, r, allScope)
		if version != 0 {
			return domain.Final(err) // the caller named the version it saw: a lost race is its answer
		}
		return err
	}, "the restriction is changing concurrently; try again")
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Change corrects a restriction that is still in force (a mistyped decision number, a start moved
// by a new decision); admins only. The previous terms stay in History.
func (rs *Restrictions) Change(ctx context.Context, by domain.Principal, id string, ch RestrictionChange) (*Restriction, error) {
	if err := mustBeAdmin(by, "change restrictions"); err != nil {
		return nil, err
	}
	return rs.change(ctx, by, id, ch.Version, "changed", func(r *Restriction, now time.Time) error {
		if r.End != nil {
			return domain.Errorf(domain.EPRECONDITION, "the restriction was lifted; declare a new one")
		}
		if ch.Kind != nil {
			if !ch.Kind.Valid() {
				return domain.Invalid("kind", "a restriction is a quarantine or restrictive_measures")
			}
			r.Kind = *ch.Kind
		}
		if ch.Decision != nil {
			d, err := rs.checkDecision(*ch.Decision, "decision", now)
			if err != nil {
				return err
			}
			r.Decision = d
		}
		if ch.Start != nil {
			r.Start = ch.Start.UTC()
		}
		if ch.Note != nil {
			n, err := domain.TrimmedLines(*ch.Note, "note", MaxRestrictionNote, true)
			if err != nil {
				return err
			}
			r.Note = n
		}
		return nil
	})
}

// Lift ends a restriction by a decision; admins only. A lifted restriction stays, with its end.
func (rs *Restrictions) Lift(ctx context.Context, by domain.Principal, id string, l Lift) (*Restriction, error) {
	if err := mustBeAdmin(by, "lift restrictions"); err != nil {
		return nil, err
	}
	return rs.change(ctx, by, id, l.Version, "lifted", func(r *Restriction, now time.Time) error {
		if r.End != nil {
			return domain.Errorf(domain.EPRECONDITION, "the restriction was already lifted on %s", domain.CivilDateOf(*r.End))
		}
		d, err := rs.checkDecision(l.Decision, "decision", now)
		if err != nil {
			return err
		}
		end := now
		if l.At != nil {
			end = l.At.UTC()
		}
		if !end.After(r.Start) {
			return domain.Invalid("at", "a restriction ends after it starts (%s)", r.Start.Format(time.RFC3339))
		}
		r.End, r.LiftDecision = &end, &d
		return nil
	})
}

// RestrictionFilter selects restrictions to list.
type RestrictionFilter struct {
	// Territory lists the restrictions declared on it and beneath it; "" all of them.
	Territory string
	// Active keeps only those in force now.
	Active bool
	After  string
	Limit  int
}

// List pages through restrictions by territory code, then start.
func (rs *Restrictions) List(ctx context.Context, f RestrictionFilter) ([]*Restriction, string, error) {
	q := domain.Query{Index: "restrictions_territory", After: f.After, Limit: f.Limit}
	if f.Territory != "" {
		k, err := domain.ParseKato(f.Territory)
		if err != nil {
			return nil, "", domain.AtField("territory", err)
		}
		q.From, q.To = domain.TerritoryRange(k)
	}
	all, next, err := domain.ListEntities[Restriction](ctx, rs.Store, RestrictionsSpec.Name, q)
	if err != nil || !f.Active {
		return all, next, err
	}
	now := rs.Now()
	return slices.DeleteFunc(all, func(r *Restriction) bool { return !r.InForce(now) }), next, nil
}

// InForce returns the restrictions in force at instant at over territory k: those declared on k
// itself and on every unit above it, since a restriction covers everything beneath its territory.
func (rs *Restrictions) InForce(ctx context.Context, k domain.Kato, at time.Time) ([]*Restriction, error) {
	out := []*Restriction{}
	for c := k; c != ""; c = c.Parent() {
		q := domain.Query{Index: "restrictions_territory", Eq: []any{string(c)}, To: at.UnixMilli() + 1, Limit: domain.MaxPageSize}
		for page := 0; ; page++ {
			rs2, next, err := domain.ListEntities[Restriction](ctx, rs.Store, RestrictionsSpec.Name, q)
			if err != nil {
				return nil, err
			}
			for _, r := range rs2 {
				if r.InForce(at) && r.Territory.Covers(k) {
					out = append(out, r)
				}
			}
			if next == "" || page >= 50 {
				break
			}
			q.After = next
		}
	}
	return out, nil
}
