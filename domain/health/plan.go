package health

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/identification"
)

// Measure is a kind of veterinary measure a plan makes due.
type Measure string

// The measures of a plan.
const (
	MeasureIdentification Measure = "identification"
	MeasureVaccination    Measure = "vaccination"
	MeasureTest           Measure = "diagnostic_test"
)

// Limits of a plan.
const (
	MaxPlanItems = 100
	MaxPlanTitle = 300
)

// Plan is the plan of veterinary measures of a territory (an oblast, usually) for a period, as
// the local executive body approves it (seed 000: identification is done within the timelines of
// the identification plan the oblast's local executive bodies approve): which identifications,
// vaccinations and diagnostic tests are due, for which species, in which territory.
type Plan struct {
	domain.Meta
	Territory domain.Kato `json:"territory"`
	Title     string      `json:"title"`
	// Decision names the act that approved the plan (the akimat's resolution, its number and
	// date), as written.
	Decision   string           `json:"decision"`
	From       domain.CivilDate `json:"from"`
	To         domain.CivilDate `json:"to"`
	Items      []PlanItem       `json:"items"`
	CreatedBy  string           `json:"created_by"`
	CreatedAt  time.Time        `json:"created_at"`
	CreateHash string           `json:"create_hash"`
}

// PlanItem is one measure due: for identification no disease; Territory narrows it to a unit
// inside the plan's (the whole plan's territory when empty); Planned is the number of animals
// the plan expects, needed for identification (the animals not yet identified are not in the
// register to count).
type PlanItem struct {
	Measure   Measure        `json:"measure"`
	Disease   string         `json:"disease,omitempty"`
	Species   domain.Species `json:"species"`
	Territory domain.Kato    `json:"territory,omitempty"`
	Planned   int            `json:"planned,omitempty"`
}

// PlansSpec declares the plans. They are read online (not synced): a district chief checks the
// progress at the office.
var PlansSpec = domain.CollectionSpec{
	Name:    "plans",
	Indexes: []domain.Index{{Name: "plans_territory", Fields: []string{"territory", "from"}}},
}

// VisibleTo reports whether p may read the plan: admins, and staff whose territory lies within
// the plan's or covers it.
func (pl *Plan) VisibleTo(p domain.Principal) bool {
	switch p.Role {
	case domain.RoleAdmin:
		return true
	case domain.RoleVet, domain.RoleInspector:
		return p.Territory != "" && (pl.Territory.Covers(p.Territory) || p.Territory.Covers(pl.Territory))
	}
	return false
}

// NewPlan is what an admin enters.
type NewPlan struct {
	ID        string
	Territory string
	Title     string
	Decision  string
	From, To  domain.CivilDate
	Items     []PlanItem
}

// Plans keeps the plans of veterinary measures and counts their progress.
type Plans struct{ s *Service }

// Create stores a plan (admins only). A retry with the same id answers the stored plan.
func (ps *Plans) Create(ctx context.Context, by domain.Principal, in NewPlan) (*Plan, error) {
	if by.Role != domain.RoleAdmin {
		return nil, domain.Errorf(domain.EFORBIDDEN, "only admins enter plans of veterinary measures")
	}
	id, err := domain.ParseClientID(in.ID, "id")
	if err != nil {
		return nil, err
	}
	t, err := domain.ParseKato(in.Territory)
	if err != nil {
		return nil, domain.AtField("territory", err)
	}
	if _, err := ps.s.Epizootic.Territories.Get(ctx, string(t)); err != nil {
		if domain.IsCode(err, domain.ENOTFOUND) {
			return nil, domain.Invalid("territory", "no territory %s in the register", t)
		}
		return nil, err
	}
	p := &Plan{Meta: domain.Meta{ID: id}, Territory: t, From: in.From, To: in.To, CreatedBy: by.UserID,
		CreatedAt: ps.s.Now().UTC()}
	if p.Title, err = domain.TrimmedText(in.Title, "title", MaxPlanTitle, false); err != nil {
		return nil, err
	}
	if p.Decision, err = domain.TrimmedText(in.Decision, "decision", MaxPlanTitle, false); err != nil {
		return nil, err
	}
	switch {
	case in.From.IsZero():
		return nil, domain.Invalid("from", "give the first day of the plan's period")
	case in.To.IsZero() || in.To.Compare(in.From) < 0:
		return nil, domain.Invalid("to", "the period ends on or after its first day")
	case in.To.Compare(in.From.AddDays(366*2)) > 0:
		return nil, domain.Invalid("to", "a plan covers at most two years")
	case len(in.Items) == 0 || len(in.Items) > MaxPlanItems:
		return nil, domain.Invalid("items", "a plan has 1 to %d measures", MaxPlanItems)
	}
	for i, it := range in.Items {
		field := fmt.Sprintf("items[%d]", i)
		if !it.Species.Valid() {
			return nil, domain.Invalid(field+".species", "unknown species %q", domain.Clip(string(it.Species)))
		}
		switch it.Measure {
		case MeasureIdentification:
			if it.Disease != "" {
				return nil, domain.Invalid(field+".disease", "an identification names no disease")
			}
		case MeasureVaccination, MeasureTest:
			d, err := epizootic.DiseaseByCode(it.Disease, field+".disease")
			if err != nil {
				return nil, err
			}
			if !d.Affects(it.Species) {
				return nil, domain.Invalid(field+".species", "%s does not affect %s", d.NameRU, it.Species.Name("ru"))
			}
		default:
			return nil, domain.Invalid(field+".measure", "the measure is identification, vaccination or diagnostic_test")
		}
		if it.Territory != "" {
			k, err := domain.ParseKato(string(it.Territory))
			if err != nil {
				return nil, domain.AtField(field+".territory", err)
			}
			if !t.Covers(k) {
				return nil, domain.Invalid(field+".territory", "the territory %s is not inside the plan's %s", k, t)
			}
		}
		if it.Planned < 0 {
			return nil, domain.Invalid(field+".planned", "the number planned is not negative")
		}
	}
	p.Items = in.Items
	sum := sha256.Sum256(domain.MustJSON([]any{p.Territory, p.Title, p.Decision, p.From, p.To, p.Items}))
	p.CreateHash = hex.EncodeToString(sum[:])
	inserted, err := domain.InsertOrGet(ctx, ps.s.Store, PlansSpec.Name, p, nil)
	if err != nil {
		return nil, err
	}
	if !inserted && p.CreateHash != hex.EncodeToString(sum[:]) {
		return nil, &domain.Error{Code: domain.ECONFLICT, Field: "id", Key: "_id", Message: "this id names another plan"}
	}
	return p, nil
}

// Get returns the plan with id if by may see it; otherwise ENOTFOUND.
func (ps *Plans) Get(ctx context.Context, by domain.Principal, id string) (*Plan, error) {
	p, err := domain.GetEntity[Plan](ctx, ps.s.Store, PlansSpec.Name, id)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !p.VisibleTo(by)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such plan")
	}
	return p, err
}

// Progress is how far a plan has come in a territory, per measure and per district.
type Progress struct {
	PlanID    string           `json:"plan_id"`
	Territory domain.Kato      `json:"territory"`
	From      domain.CivilDate `json:"from"`
	To        domain.CivilDate `json:"to"`
	// AsOf is when it was counted.
	AsOf  time.Time      `json:"as_of"`
	Items []ItemProgress `json:"items"`
}

// ItemProgress is one measure's progress.
type ItemProgress struct {
	PlanItem
	Districts []DistrictProgress `json:"districts"`
	Total     Count              `json:"total"`
}

// DistrictProgress is one district's count.
type DistrictProgress struct {
	Territory domain.Kato `json:"territory"`
	NameKK    string      `json:"name_kk"`
	NameRU    string      `json:"name_ru"`
	Count
}

// Count says, for a vaccination or a test, how many active animals of the species are on the
// register (Animals), how many of them had the measure within the period (Covered) and how many
// are left; for an identification, how many animals of the species were identified in the period
// and, when the plan says how many it expects, how many are left.
type Count struct {
	Animals int `json:"animals"`
	Covered int `json:"covered"`
	Left    int `json:"left"`
}

// Progress counts plan id within territory (the plan's whole territory when empty): for each
// measure, per district, the animals of the species covered within the plan's period and left.
// Staff see the districts of their own territory only; a territory outside theirs is ENOTFOUND.
func (ps *Plans) Progress(ctx context.Context, by domain.Principal, id, territory string) (*Progress, error) {
	if by.Role != domain.RoleAdmin && !by.Role.IsStaff() {
		return nil, domain.Errorf(domain.EFORBIDDEN, "only staff and admins read a plan's progress")
	}
	p, err := ps.Get(ctx, by, id)
	if err != nil {
		return nil, err
	}
	area := p.Territory
	if territory != "" {
		if area, err = domain.ParseKato(territory); err != nil {
			return nil, domain.AtField("territory", err)
		}
		if !p.Territory.Covers(area) {
			return nil, domain.Invalid("territory", "the territory %s is not inside the plan's %s", area, p.Territory)
		}
	}
	if !by.CanSeeTerritory(area) {
		if by.Role == domain.RoleAdmin || !area.Covers(by.Territory) {
			return nil, domain.Errorf(domain.ENOTFOUND, "no territory %s in your work", area)
		}
		area = by.Territory // a district vet asking for the oblast reads their own district
	}
	out := &Progress{PlanID: p.ID, Territory: area, From: p.From, To: p.To, AsOf: ps.s.Now().UTC(), Items: []ItemProgress{}}
	names := map[domain.Kato][2]string{}
	for _, it := range p.Items {
		where := area
		switch {
		case it.Territory == "" || area.Covers(it.Territory):
			if it.Territory != "" {
				where = it.Territory
			}
		case it.Territory.Covers(area):
		default:
			continue // the measure is due elsewhere
		}
		ip, err := ps.count(ctx, p, it, where)
		if err != nil {
			return nil, err
		}
		for i := range ip.Districts {
			d := &ip.Districts[i]
			n, ok := names[d.Territory]
			if !ok {
				kk, ru, err := ps.s.Epizootic.Territories.Names(ctx, d.Territory)
				if err != nil && !domain.IsCode(err, domain.ENOTFOUND) {
					return nil, err
				}
				n = [2]string{kk, ru}
				names[d.Territory] = n
			}
			d.NameKK, d.NameRU = n[0], n[1]
		}
		out.Items = append(out.Items, ip)
	}
	return out, nil
}

// district is the district (or city) a territory lies in: level 2, or the territory itself above.
func district(k domain.Kato) domain.Kato {
	if k.Level() <= 2 || len(k) != 9 {
		return k
	}
	return domain.Kato(string(k[:4]) + "00000")
}

// count counts one item within where.
func (ps *Plans) count(ctx context.Context, p *Plan, it PlanItem, where domain.Kato) (ItemProgress, error) {
	ip := ItemProgress{PlanItem: it, Districts: []DistrictProgress{}}
	counts := map[domain.Kato]*Count{}
	at := func(k domain.Kato) *Count {
		d := district(k)
		if counts[d] == nil {
			counts[d] = &Count{}
		}
		return counts[d]
	}
	from, to := p.From.Start(), p.To.AddDays(1).Start()
	covered := map[string]bool{}
	if it.Measure != MeasureIdentification {
		var err error
		// Over the plan's whole territory: an animal vaccinated in one district and moved to
		// another since counts as covered where it is now.
		if covered, err = ps.coveredAnimals(ctx, it, p.Territory, p.From, p.To); err != nil {
			return ip, err
		}
	}
	lo, hi := domain.TerritoryRange(where)
	after := ""
	for {
		page, next, err := domain.ListEntities[identification.Animal](ctx, ps.s.Store, identification.AnimalsSpec.Name,
			domain.Query{Index: "animals_species_territory", Eq: []any{string(it.Species)}, From: lo, To: hi, After: after, Limit: domain.MaxPageSize})
		if err != nil {
			return ip, err
		}
		for _, a := range page {
			if it.Measure == MeasureIdentification {
				if !a.IdentifiedAt.Before(from) && a.IdentifiedAt.Before(to) {
					at(a.Territory).Covered++
				}
				continue
			}
			if a.Status != identification.AnimalActive {
				continue
			}
			c := at(a.Territory)
			c.Animals++
			if covered[a.ID] {
				c.Covered++
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	keys := make([]domain.Kato, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		c := *counts[k]
		if it.Measure == MeasureIdentification {
			c.Animals = c.Covered
		} else {
			c.Left = c.Animals - c.Covered
		}
		ip.Districts = append(ip.Districts, DistrictProgress{Territory: k, Count: c})
		ip.Total.Animals += c.Animals
		ip.Total.Covered += c.Covered
		ip.Total.Left += c.Left
	}
	if it.Measure == MeasureIdentification && it.Planned > 0 {
		ip.Total.Left = max(it.Planned-ip.Total.Covered, 0)
	}
	return ip, nil
}

// coveredAnimals are the animals vaccinated against, or sampled for, the item's disease within
// where and the period.
func (ps *Plans) coveredAnimals(ctx context.Context, it PlanItem, where domain.Kato, from, to domain.CivilDate) (map[string]bool, error) {
	covered := map[string]bool{}
	lo, hi := domain.TerritoryRange(where)
	in := func(d domain.CivilDate) bool { return d.Compare(from) >= 0 && d.Compare(to) <= 0 }
	after := ""
	for {
		q := domain.Query{Eq: []any{it.Disease}, From: lo, To: hi, After: after, Limit: domain.MaxPageSize}
		var next string
		var entries [][]Entry
		if it.Measure == MeasureVaccination {
			q.Index = "vaccinations_disease_territory"
			vs, n, err := domain.ListEntities[Vaccination](ctx, ps.s.Store, VaccinationsSpec.Name, q)
			if err != nil {
				return nil, err
			}
			for _, v := range vs {
				if in(v.Date) {
					entries = append(entries, v.Animals)
				}
			}
			next = n
		} else {
			q.Index = "diagnostic_tests_disease_territory"
			ts, n, err := domain.ListEntities[DiagnosticTest](ctx, ps.s.Store, TestsSpec.Name, q)
			if err != nil {
				return nil, err
			}
			for _, t := range ts {
				if in(t.SampledOn) {
					entries = append(entries, t.Animals)
				}
			}
			next = n
		}
		for _, es := range entries {
			for _, e := range es {
				if e.Status == EntryApplied {
					covered[e.AnimalID] = true
				}
			}
		}
		if next == "" {
			return covered, nil
		}
		after = next
	}
}

// List returns the plans by may see, at most MaxPageSize: for an admin every plan, for staff the
// plans of their territory, of the units above it and of those beneath it.
func (ps *Plans) List(ctx context.Context, by domain.Principal) ([]*Plan, error) {
	var queries []domain.Query
	switch {
	case by.Role == domain.RoleAdmin:
		queries = []domain.Query{{Index: "plans_territory"}}
	case by.Role.IsStaff() && by.Territory != "":
		lo, hi := domain.TerritoryRange(by.Territory)
		queries = []domain.Query{{Index: "plans_territory", From: lo, To: hi}}
		for k := by.Territory.Parent(); k != ""; k = k.Parent() {
			queries = append(queries, domain.Query{Index: "plans_territory", Eq: []any{string(k)}})
		}
	default:
		return nil, domain.Errorf(domain.EFORBIDDEN, "only staff and admins read plans")
	}
	out := []*Plan{}
	for _, q := range queries {
		q.Limit = domain.MaxPageSize
		page, _, err := domain.ListEntities[Plan](ctx, ps.s.Store, PlansSpec.Name, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(out) >= domain.MaxPageSize {
			return out[:domain.MaxPageSize], nil
		}
	}
	return out, nil
}
